"""Depthwise convolution (with channel multipliers) and the depthwise-separable block."""
from __future__ import annotations

from functools import partial

from ..cases import Case, case_label, fitted, per_dim, sweep, unique
from ..spec import OpSpec
from .. import torch_ops
from ..benches import Bench, conv_gflop

KERNELS = {1: [1, 3, 4, 5], 2: [(1, 1), (3, 3), (3, 2), (5, 5)]}
STRIDES = {1: [1, 2, 3], 2: [1, 2, (1, 2), 3]}
PADDINGS = {1: [0, 1, "same"], 2: [0, 1, (2, 1), "same"]}
SIZES = {1: [6, 9, 12], 2: [(6, 6), (7, 9), (9, 8)]}
CHANNELS = [(1, 1), (3, 1), (4, 2), (2, 3)]  # (C_in, channel multiplier m): C_out = m * C_in


def _case(op: str, nd: int, p: dict) -> Case | None:
    if p["padding"] == "same" and max(per_dim(p["stride"], nd)) > 1:
        return None
    k = per_dim(p["kernel"], nd)
    size = fitted(p["size"], k, p["dilation"], p["padding"])
    c, m = p["channels"]
    n, bias = p["batch"], p["bias"]
    config = {"stride": p["stride"], "padding": p["padding"], "dilation": p["dilation"]}
    if op.startswith("depthwise"):
        multiplier = m
        shapes = {"x": (n, c) + size, "w": (m * c, 1) + k, "b": (m * c,) if bias else None}
    else:
        o = p["c_out"]
        multiplier = (m, o)
        shapes = {"x": (n, c) + size, "w_dw": (m * c, 1) + k, "w_pw": (o, m * c) + (1,) * nd,
                  "b_dw": (m * c,) if bias else None, "b_pw": (o,) if bias else None}
    label = case_label(config, batch=n, channels=c, multiplier=multiplier, x=size, kernel=p["kernel"], bias=bias)
    return Case(f"{op}{nd}d", shapes, config, p["dtype"], label)


def grid(op: str, nd: int, full: bool = False) -> list[Case]:
    structural = {"kernel": KERNELS[nd], "stride": STRIDES[nd], "padding": PADDINGS[nd], "dilation": [1, 2]}
    cycled = {"channels": CHANNELS, "batch": [1, 2], "bias": [True, False], "size": SIZES[nd], "c_out": [1, 2, 5]}
    return unique(_case(op, nd, p) for p in sweep(structural, cycled, expand=("channels", "bias") if full else ()))


SPECS = [
    OpSpec("depthwise_conv1d", "depthwise", partial(grid, "depthwise_conv", 1), torch_ops.depthwise_conv1d, linear_in=("x", "w")),
    OpSpec("depthwise_conv2d", "depthwise", partial(grid, "depthwise_conv", 2), torch_ops.depthwise_conv2d, linear_in=("x", "w"),
           benches=(
        Bench("depthwise_conv2d", "mobilenetv2-dw-144-b8", {"x": (8, 144, 56, 56), "w": (144, 1, 3, 3), "b": None},
              {"stride": 1, "padding": 1}, conv_gflop(8, 144, 144, (56, 56), (3, 3), 144)),
        Bench("depthwise_conv2d", "mobilenetv2-dw-s2-96-b8", {"x": (8, 96, 112, 112), "w": (96, 1, 3, 3), "b": None},
              {"stride": 2, "padding": 1}, conv_gflop(8, 96, 96, (56, 56), (3, 3), 96)))),
    OpSpec("separable_conv1d", "depthwise", partial(grid, "separable_conv", 1), torch_ops.separable_conv1d,
           linear_in=("x", "w_dw", "w_pw")),
    OpSpec("separable_conv2d", "depthwise", partial(grid, "separable_conv", 2), torch_ops.separable_conv2d,
           linear_in=("x", "w_dw", "w_pw"), benches=(
        Bench("separable_conv2d", "mobilenetv2-block-b8", {"x": (8, 144, 28, 28), "w_dw": (144, 1, 3, 3),
                                                            "w_pw": (32, 144, 1, 1), "b_dw": None, "b_pw": None},
              {"stride": 1, "padding": 1},
              conv_gflop(8, 144, 144, (28, 28), (3, 3), 144) + conv_gflop(8, 144, 32, (28, 28), (1, 1))),)),
]
