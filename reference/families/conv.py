"""Convolution cases: every stride, padding form, dilation, group and channel count."""
from __future__ import annotations

from functools import partial

from ..cases import Case, case_label, fitted, per_dim, sweep, unique
from ..spec import OpSpec
from .. import torch_ops
from ..benches import conv_bench

KERNELS = {1: [1, 2, 3, 4, 5], 2: [(1, 1), (2, 2), (3, 3), (3, 2), (1, 4), (5, 3)], 3: [(1, 1, 1), (2, 3, 2)]}
STRIDES = {1: [1, 2, 3], 2: [1, 2, 3, (2, 1), (1, 3)], 3: [1, (1, 2, 3)]}
PADDINGS = {1: [0, 1, 2, "same", "valid"], 2: [0, 1, (2, 1), "same", "valid"], 3: [0, (1, 0, 2), "same"]}
DILATIONS = {1: [1, 2, 3], 2: [1, 2, 3, (1, 2)], 3: [1, 2]}
SIZES = {1: [5, 8, 11, 13], 2: [(5, 5), (7, 9), (8, 6), (11, 10)], 3: [(4, 5, 6), (6, 5, 4)]}
# (C_in, C_out, groups): single channel, C_in != C_out both ways, C_in = C_out, grouped, depthwise (x1, x2)
CHANNELS = [(1, 1, 1), (1, 3, 1), (3, 2, 1), (2, 2, 1), (4, 6, 2), (3, 3, 3), (2, 4, 2), (4, 4, 1)]


def conv_case(nd: int, p: dict) -> Case | None:
    kernel = per_dim(p["kernel"], nd)
    padding = p["padding"]
    if padding == "same" and max(per_dim(p["stride"], nd)) > 1:
        return None  # undefined (torch refuses it too)
    size = fitted(p["size"], kernel, p["dilation"], padding)
    c_in, c_out, groups = p["channels"]
    n, bias = p["batch"], p["bias"]
    config = {"stride": p["stride"], "padding": padding, "dilation": p["dilation"], "groups": groups}
    return Case(
        op=f"conv{nd}d",
        shapes={"x": (n, c_in) + size, "w": (c_out, c_in // groups) + kernel, "b": (c_out,) if bias else None},
        config=config,
        dtype=p["dtype"],
        label=case_label(config, batch=n, channels=(c_in, c_out), x=size, kernel=p["kernel"], bias=bias),
    )


def conv_grid(nd: int, full: bool = False) -> list[Case]:
    structural = {"kernel": KERNELS[nd], "stride": STRIDES[nd], "padding": PADDINGS[nd], "dilation": DILATIONS[nd]}
    cycled = {"channels": CHANNELS, "batch": [1, 2, 3], "bias": [True, False], "size": SIZES[nd]}
    return unique(conv_case(nd, p) for p in sweep(structural, cycled, expand=("channels", "bias") if full else ()))


SPECS = [
    OpSpec("conv1d", "conv", partial(conv_grid, 1), torch_ops.conv1d, shrink="conv", linear_in=("x", "w"), benches=(
        conv_bench("conv1d", "audio-b8", 8, 64, 64, (1024,), 3, 1, 1),
        conv_bench("conv1d", "small-b2", 2, 3, 4, (16,), 3, 1, 1))),
    OpSpec("conv2d", "conv", partial(conv_grid, 2), torch_ops.conv2d, shrink="conv", linear_in=("x", "w"), benches=(
        conv_bench("conv2d", "resnet18-conv1-b8", 8, 3, 64, (224, 224), 7, 2, 3, bias=False),
        conv_bench("conv2d", "resnet18-layer1-b8", 8, 64, 64, (56, 56), 3, 1, 1, bias=False),
        conv_bench("conv2d", "resnet18-layer3-b8", 8, 256, 256, (14, 14), 3, 1, 1, bias=False),
        conv_bench("conv2d", "resnet18-layer4-down-b8", 8, 256, 512, (14, 14), 3, 2, 1, bias=False),
        conv_bench("conv2d", "small-b2", 2, 3, 4, (8, 8), 3, 1, 1),
        conv_bench("conv2d", "mobilenetv2-pointwise-b8", 8, 144, 24, (56, 56), 1))),
    OpSpec("conv3d", "conv", partial(conv_grid, 3), torch_ops.conv3d, shrink="conv", linear_in=("x", "w")),
]
