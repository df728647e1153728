"""Case grids built from what each course's layer computes, not by filtering torch's grid.

Every graded item of every format gets at least :data:`MIN_CASES` cases per
graded dtype it can express: batch > 1, bias, non-square inputs, C_in != C_out,
every stride or factor 1-3 on sizes it does not divide (where the handout
allows it), kernel sizes 1-5, and for pooling tie-free and tie-heavy inputs.
Cases outside a handout's stated contract (cs231n: ``(H + 2 pad - HH) % stride
== 0`` and ``(H - pool_height) % stride == 0``) are not generated for that format.

The 11-785 transposed convolution is upsampling by the factor followed by a
stride-1 valid convolution; its cases are drawn in those terms (factor,
kernel, input width) and expressed as torch's ``conv_transpose`` with
padding K - 1, which computes the same thing.
"""
from __future__ import annotations

from ..cases import Case, case_label, ceil_div, fitted, per_dim, sweep, unique
from ..families.activations import activation_grid
from ..families.conv import conv_case
from ..families.pooling import pool_case
from ..families.upsampling import resample_case, transpose_case
from ..registry import SPECS
from .formats import Binding, Item

MIN_CASES = 30
CHANNELS = [(1, 1, 1), (3, 2, 1), (2, 5, 1), (4, 4, 1), (1, 3, 1), (2, 2, 1)]
BATCH = [2, 1, 3]
SIZES_1D = [5, 8, 11, 13, 16, 7]
SIZES_2D = [(5, 5), (7, 9), (8, 6), (11, 10), (6, 13), (9, 7)]


def _grid(make, structural: dict, cycled: dict, dtypes) -> list[Case]:
    return unique(make(p) for p in sweep(structural, cycled) if p["dtype"] in dtypes)


def _conv(nd: int, strides, paddings, square: bool, dtypes) -> list[Case]:
    kernels = [1, 2, 3, 4, 5] if square or nd == 1 else [1, 2, 3, (3, 2), (2, 5), 4, 5]
    sizes = SIZES_1D if nd == 1 else SIZES_2D
    structural = {"kernel": kernels, "stride": strides, "padding": paddings,
                  "size": sizes[: max(2, ceil_div(MIN_CASES, len(kernels) * len(strides) * len(paddings)))]}
    cycled = {"channels": CHANNELS, "batch": BATCH, "bias": [True, True, False], "dilation": [1]}
    return _grid(lambda p: conv_case(nd, p), structural, cycled, dtypes)


def _cs231n_conv(dtypes) -> list[Case]:
    """cs231n convolutions: non-square kernels allowed; only sizes with (H + 2 pad - HH) % stride == 0."""
    def make(p):
        k = per_dim(p["kernel"], 2)
        size = fitted(p["size"], k)
        size = tuple(n + (-(n + 2 * p["padding"] - ki)) % p["stride"] for n, ki in zip(size, k))
        return conv_case(2, {**p, "size": size})

    structural = {"kernel": [1, 2, 3, (3, 2), (2, 5), 5], "stride": [1, 2, 3], "padding": [0, 1, 2]}
    cycled = {"channels": CHANNELS, "batch": BATCH, "bias": [True], "dilation": [1], "size": SIZES_2D}
    return _grid(make, structural, cycled, dtypes)


def _transpose(nd: int, dtypes) -> list[Case]:
    """Upsample by the factor, then a stride-1 valid convolution: torch's conv_transpose with padding K - 1."""
    def make(p):
        k = p["kernel"]
        width = max(p["size"], ceil_div(k - 1, p["stride"]) + 1)  # (W - 1) s + 1 >= K: the valid conv has an output
        size = width if nd == 1 else (width, width + p["extra"])
        return transpose_case(nd, {**p, "size": size, "kernel": k if nd == 1 else (k, k), "padding": k - 1,
                                   "output_padding": 0, "dilation": 1, "channels": p["channels"]})

    structural = {"kernel": [1, 2, 3, 4, 5], "stride": [1, 2, 3], "size": [3, 4, 6]}
    cycled = {"channels": CHANNELS, "batch": BATCH, "bias": [True, True, False], "extra": [0, 1, 2]}
    return _grid(make, structural, cycled, dtypes)


def _resample(kind: str, nd: int, dtypes) -> list[Case]:
    sizes = [1, 4, 5, 7, 9, 10, 12, 13] if nd == 1 else [(1, 1), (4, 4), (5, 7), (6, 3), (9, 8), (7, 12), (10, 5), (3, 11)]
    structural, cycled = {"factor": [1, 2, 3, 4], "size": sizes}, {"batch": BATCH, "channels": [1, 3, 2]}
    return _grid(lambda p: resample_case(kind, nd, p), structural, cycled, dtypes)


def _pool(op: str, strides, dtypes, precondition: bool) -> list[Case]:
    """Square kernels (the handouts' pools take one int), no padding; tie-free and tie-heavy inputs."""
    def make(p):
        k, s = p["kernel"], p["stride"]
        size = fitted(p["size"], (k, k))
        if precondition:  # cs231n: (H - pool_height) % stride == 0
            size = tuple(n + (-(n - k)) % s for n in size)
        return pool_case(op, 2, {**p, "kernel": (k, k), "stride": s, "size": size, "padding": 0, "ceil_mode": False},
                         {"dilation": 1} if op.startswith("max") else {})

    kernels = [1, 2, 3, 4, 5] if strides == [1] else [2, 3, 4]
    inputs = ["normal", "integers", "normal", "ties"] if op.startswith("max") else ["normal"]
    structural = {"kernel": kernels, "stride": strides,
                  "size": SIZES_2D[: max(2, ceil_div(MIN_CASES, len(kernels) * len(strides)))]}
    cycled = {"batch": BATCH, "channels": [1, 3, 2], "inputs": inputs}
    return _grid(make, structural, cycled, dtypes)


def _activation(op: str, dtypes) -> list[Case]:
    shapes = [(7,), (3, 16), (2, 3, 4, 5), (2, 6), (4, 3, 5), (1, 9), (2, 2, 3, 3), (5, 4), (3, 2, 7), (6,)]
    cases = []
    for shape in shapes:
        for inputs in ("normal", "ties", "relu"):
            for dtype in dtypes:
                cases.append(Case(op, {"x": shape}, {}, dtype, case_label({}, x=shape, inputs=inputs), inputs=inputs))
    return unique(cases) or activation_grid(op)


def item_grid(fmt_name: str, item: Item, binding: Binding | None = None, dtypes=("float64",)) -> list[Case]:
    """The cases of ``item`` in format ``fmt_name`` (``binding``: the class chosen, for its constructor)."""
    dtypes = tuple(dtypes)
    if fmt_name == "native":
        return [c for c in SPECS[item.op].grid(False) if c.dtype in dtypes]
    if fmt_name == "cs231n":
        return {"conv_naive": lambda: _cs231n_conv(dtypes),
                "max_pool_naive": lambda: _pool("max_pool2d", [1, 2, 3], dtypes, precondition=True),
                "relu": lambda: _activation("relu", dtypes)}[item.name]()
    name, params = item.name, (binding.params if binding else ())
    nd = 2 if "2d" in item.op else 1
    if item.call == "conv":
        if name.endswith("_stride1"):
            return _conv(nd, [1], [0], True, dtypes)
        padding = [0, 1, 2] if any(p in params for p in ("padding", "pad")) or not binding else [0]
        return _conv(nd, [1, 2, 3], padding, True, dtypes)
    if item.call == "conv_transpose":
        return _transpose(nd, dtypes)
    if item.call == "resample":
        return _resample(item.op[:-2], nd, dtypes)
    if item.call == "pool":
        return _pool(item.op, [1] if name.endswith("_stride1") else [1, 2, 3], dtypes, precondition=False)
    return _activation(item.op, dtypes)
