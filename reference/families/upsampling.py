"""Upsampling cases: transposed convolution, zero-insertion up/down-sampling, interpolation."""
from __future__ import annotations

from functools import partial

from ..cases import Case, case_label, per_dim, sweep, unique, window_span
from ..spec import OpSpec
from .. import torch_ops
from ..benches import Bench, conv_gflop, conv_products

T_KERNELS = {1: [1, 2, 3, 4], 2: [(1, 1), (2, 2), (3, 3), (3, 2)]}
T_STRIDES = {1: [1, 2, 3], 2: [1, 2, 3, (2, 1)]}
T_PADDINGS = {1: [0, 1, 2], 2: [0, 1, (1, 2)]}
T_SIZES = {1: [3, 4, 6], 2: [(3, 3), (4, 5), (5, 3)]}
CHANNELS = [(1, 1, 1), (2, 3, 1), (3, 2, 1), (4, 2, 2), (2, 4, 2), (3, 3, 3)]  # (C_in, C_out, groups)


def transpose_case(nd: int, p: dict) -> Case | None:
    k, s, pad = (per_dim(p[a], nd) for a in ("kernel", "stride", "padding"))
    d, op = per_dim(p["dilation"], nd), per_dim(p["output_padding"], nd)
    size = per_dim(p["size"], nd)
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        return None  # torch: output_padding must be smaller than stride or dilation
    # output length: the span of one window per input element, less the padding, plus the output padding
    if any(window_span(ki, di, n, si) - 2 * q + oi < 1 for n, si, q, di, ki, oi in zip(size, s, pad, d, k, op)):
        return None
    c_in, c_out, g = p["channels"]
    n, bias = p["batch"], p["bias"]
    config = {"stride": p["stride"], "padding": p["padding"], "output_padding": p["output_padding"], "groups": g,
              "dilation": p["dilation"]}
    return Case(f"conv_transpose{nd}d",
                {"x": (n, c_in) + size, "w": (c_in, c_out // g) + k, "b": (c_out,) if bias else None}, config,
                p["dtype"], case_label(config, batch=n, channels=(c_in, c_out), x=size, kernel=p["kernel"], bias=bias))


def transpose_grid(nd: int, full: bool = False) -> list[Case]:
    structural = {"kernel": T_KERNELS[nd], "stride": T_STRIDES[nd], "padding": T_PADDINGS[nd],
                  "output_padding": [0, 1], "dilation": [1, 2]}
    cycled = {"channels": CHANNELS, "batch": [1, 2], "bias": [True, False], "size": T_SIZES[nd]}
    return unique(transpose_case(nd, p) for p in sweep(structural, cycled, expand=("channels", "bias") if full else ()))


def resample_case(kind: str, nd: int, p: dict) -> Case:
    """Zero-insertion up- or down-sampling (``kind``) by ``p['factor']``."""
    size, config = per_dim(p["size"], nd), {"factor": p["factor"]}
    return Case(f"{kind}{nd}d", {"x": (p["batch"], p["channels"]) + size}, config, p["dtype"],
                case_label(config, batch=p["batch"], channels=p["channels"], x=size))


def resample_grid(kind: str, nd: int, full: bool = False) -> list[Case]:
    factors = {1: [1, 2, 3, 4], 2: [1, 2, 3, (2, 3), (3, 1)]}[nd]
    sizes = {1: [1, 4, 7, 10], 2: [(1, 1), (4, 4), (5, 7), (6, 3)]}[nd]
    points = sweep({"factor": factors, "size": sizes}, {"batch": [1, 2], "channels": [1, 3]})
    return unique(resample_case(kind, nd, p) for p in points)


# (mode, align_corners) per input rank; nearest has no align_corners
MODES = {1: [("nearest", None), ("nearest-exact", None), ("linear", False), ("linear", True)],
         2: [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True)]}
# integer and fractional factors, up and down, given as a size or as a scale factor (recomputed or not)
SIZING = [{"size": 9}, {"size": 4}, {"size": 13}, {"scale_factor": 2.0}, {"scale_factor": 3.0},
          {"scale_factor": 1.5}, {"scale_factor": 0.5}, {"scale_factor": 2.5},
          {"scale_factor": 1.7, "recompute_scale_factor": True}, {"scale_factor": 0.6, "recompute_scale_factor": True}]
I_SIZES = {1: [5, 7], 2: [(5, 6), (7, 4)]}


def interpolate_grid(full: bool = False) -> list[Case]:
    def case(nd, p):
        mode, align = p["mode"]
        sizing = {k: (per_dim(v, nd) if k == "size" and nd == 2 and v != 4 else v) for k, v in p["sizing"].items()}
        if "size" in sizing and nd == 2 and sizing["size"] == 4:
            sizing["size"] = (4, 9)  # non-square output: down one axis, up the other
        config = {**sizing, "mode": mode} | ({"align_corners": align} if align is not None else {})
        size = per_dim(p["size"], nd)
        label = case_label(config, batch=p["batch"], channels=p["channels"], x=size)
        return Case("interpolate", {"x": (p["batch"], p["channels"]) + size}, config, p["dtype"], label)

    return unique(
        case(nd, p)
        for nd in (1, 2)
        for p in sweep({"mode": MODES[nd], "sizing": SIZING, "size": I_SIZES[nd]}, {"batch": [1, 2], "channels": [1, 3]})
    )


SPECS = [
    OpSpec("conv_transpose1d", "upsampling", partial(transpose_grid, 1), torch_ops.conv_transpose1d, shrink="transpose", linear_in=("x", "w")),
    OpSpec("conv_transpose2d", "upsampling", partial(transpose_grid, 2), torch_ops.conv_transpose2d, shrink="transpose", linear_in=("x", "w"),
           benches=(  # the adjoint of a 128 -> 256 channel convolution
        Bench("conv_transpose2d", "dcgan-up-b8", {"x": (8, 256, 14, 14), "w": (256, 128, 4, 4), "b": (128,)},
              {"stride": 2, "padding": 1}, conv_gflop(8, 128, 256, (14, 14), (4, 4)),
              conv_products(8, 128, 256, (14, 14), (4, 4))),)),
    OpSpec("upsample1d", "upsampling", partial(resample_grid, "upsample", 1), torch_ops.upsample1d, shrink="resample", linear_in=("x",)),
    OpSpec("upsample2d", "upsampling", partial(resample_grid, "upsample", 2), torch_ops.upsample2d, shrink="resample", linear_in=("x",)),
    OpSpec("downsample1d", "upsampling", partial(resample_grid, "downsample", 1), torch_ops.downsample1d, shrink="resample", linear_in=("x",)),
    OpSpec("downsample2d", "upsampling", partial(resample_grid, "downsample", 2), torch_ops.downsample2d, shrink="resample", linear_in=("x",)),
    OpSpec("interpolate", "upsampling", interpolate_grid, torch_ops.interpolate, linear_in=("x",), benches=(
        Bench("interpolate", "bilinear-x2-b8", {"x": (8, 64, 56, 56)}, {"scale_factor": 2.0, "mode": "bilinear",
                                                                         "align_corners": False}),
        Bench("interpolate", "nearest-x2-b8", {"x": (8, 64, 56, 56)}, {"scale_factor": 2.0, "mode": "nearest"}))),
]
