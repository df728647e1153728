"""Transform-invariant convolution cases: lifting and group convolutions over p4, p4m and reflections, pooling over transforms."""
from __future__ import annotations

from functools import partial

from ..cases import Case, case_label, fitted, per_dim, sweep, unique
from ..spec import OpSpec
from .. import torch_ops
from ..benches import Bench, conv_gflop

ORDER = {"p4": 4, "p4m": 8, "reflect": 2}  # group orders
KERNELS = [1, 2, 3, (3, 2)]  # non-square kernels only for the reflection group (rotations need square)
SIZES = [(5, 5), (6, 7), (8, 6)]
CHANNELS = [(1, 1), (2, 3), (3, 2), (1, 4)]  # (C, O)


def _conv_case(kind: str, p: dict) -> Case | None:
    group, k = p["group"], per_dim(p["kernel"], 2)
    if k[0] != k[1] and group != "reflect":
        return None
    if p["padding"] == "same" and p["stride"] > 1:
        return None
    d = p["dilation"]
    size = fitted(p["size"], k, d, p["padding"])
    c, o = p["channels"]
    n, bias, order = p["batch"], p["bias"], ORDER[group]
    lifting = kind == "lifting"
    shapes = {
        "x": (n, c) + size if lifting else (n, c, order) + size,
        "w": (o, c) + k if lifting else (o, c, order) + k,
        "b": (o,) if bias else None,
    }
    config = {"stride": p["stride"], "padding": p["padding"], "dilation": d, "group": group}
    label = case_label(config, batch=n, channels=(c, o), x=size, kernel=p["kernel"], bias=bias)
    return Case(f"transform_{kind}_conv2d", shapes, config, p["dtype"], label)


def conv_grid(kind: str, full: bool = False) -> list[Case]:
    structural = {"group": list(ORDER), "kernel": KERNELS, "stride": [1, 2], "padding": [0, 1, "same"], "dilation": [1, 2]}
    cycled = {"channels": CHANNELS, "batch": [1, 2], "bias": [True, False], "size": SIZES}
    return unique(_conv_case(kind, p) for p in sweep(structural, cycled, expand=("channels", "bias") if full else ()))


def pool_grid(mode: str, full: bool = False) -> list[Case]:
    def case(p):
        shape = (p["batch"], p["channels"], ORDER[p["group"]]) + p["size"]
        label = case_label({}, group=p["group"], batch=p["batch"], channels=p["channels"], x=p["size"], inputs=p["inputs"])
        return Case(f"transform_{mode}_pool", {"x": shape}, {}, p["dtype"], label, inputs=p["inputs"])

    inputs = ["normal", "integers", "constant"] if mode == "max" else ["normal"]
    return unique(case(p) for p in sweep({"group": list(ORDER), "size": SIZES, "inputs": inputs},
                                         {"batch": [1, 2], "channels": [1, 3]}))


SPECS = [
    OpSpec("transform_lifting_conv2d", "transform", partial(conv_grid, "lifting"), torch_ops.transform_lifting_conv2d,
           linear_in=("x", "w"), benches=(
        Bench("transform_lifting_conv2d", "p4-cifar-b8", {"x": (8, 3, 32, 32), "w": (16, 3, 3, 3), "b": None},
              {"padding": 1, "group": "p4"}, conv_gflop(8, 3, 64, (32, 32), (3, 3))),)),
    OpSpec("transform_group_conv2d", "transform", partial(conv_grid, "group"), torch_ops.transform_group_conv2d,
           linear_in=("x", "w"), benches=(
        Bench("transform_group_conv2d", "p4-cifar-b8", {"x": (8, 16, 4, 32, 32), "w": (16, 16, 4, 3, 3), "b": None},
              {"padding": 1, "group": "p4"}, conv_gflop(8, 64, 64, (32, 32), (3, 3))),)),
    OpSpec("transform_max_pool", "transform", partial(pool_grid, "max"), torch_ops.transform_max_pool),
    OpSpec("transform_avg_pool", "transform", partial(pool_grid, "avg"), torch_ops.transform_avg_pool, linear_in=("x",)),
]
