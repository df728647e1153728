"""Pooling cases: max (with tie-heavy inputs on purpose), average, adaptive/global average."""
from __future__ import annotations

from functools import partial

from ..cases import Case, case_label, fitted, per_dim, pooled_length, sweep, unique
from ..diagnosis import max_pool_routing
from ..spec import OpSpec
from .. import torch_ops
from ..benches import Bench

KERNELS = {1: [2, 3, 4], 2: [(2, 2), (3, 3), (2, 3), (3, 1)]}
STRIDES = {1: [None, 1, 2, 3], 2: [None, 1, 2, (2, 1), 3]}  # None = kernel size; 1 = overlapping windows
PADDINGS = {1: [0, 1, 2], 2: [0, 1, (1, 0)]}
SIZES = {1: [5, 8, 9, 12], 2: [(5, 5), (7, 8), (6, 9), (9, 7)]}
# generic values and the ties a real network produces: post-ReLU zeros, integers, constant maps
INPUTS = ["normal", "ties", "relu", "integers", "constant"]


def _padding_allowed(kernel, padding) -> bool:
    return all(p <= k // 2 for k, p in zip(kernel, padding))  # torch's rule: padding at most half the kernel


def every_window_sees_input(size, kernel, stride, padding, dilation, ceil_mode) -> bool:
    """Whether each pooling window holds at least one input element (not only padding).

    With dilation a window can fall entirely on padding; torch then returns -inf
    and routes the gradient out of bounds, so such configurations are not verifiable.
    """
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        out = pooled_length(n, k, s, p, d, ceil_mode)
        if any(all(not 0 <= t * s - p + i * d < n for i in range(k)) for t in range(out)):
            return False
    return True


def pool_case(op: str, nd: int, p: dict, extra: dict) -> Case | None:
    kernel = per_dim(p["kernel"], nd)
    dilation = per_dim(extra.get("dilation", 1), nd)
    if not _padding_allowed(kernel, per_dim(p["padding"], nd)):
        return None
    size = fitted(p["size"], kernel, dilation, p["padding"])
    stride = per_dim(p["stride"], nd) if p["stride"] else kernel
    if not every_window_sees_input(size, kernel, stride, per_dim(p["padding"], nd), dilation, p["ceil_mode"]):
        return None
    n, c = p["batch"], p["channels"]
    config = {"kernel_size": p["kernel"], "stride": p["stride"], "padding": p["padding"], "ceil_mode": p["ceil_mode"], **extra}
    drawn = {"inputs": p["inputs"]} if "inputs" in p else {}  # the id names the inputs where a grid varies them
    label = case_label(config, batch=n, channels=c, x=size, **drawn)
    return Case(op, {"x": (n, c) + size}, config, p["dtype"], label, inputs=p.get("inputs", "normal"))


def max_pool_grid(nd: int, full: bool = False) -> list[Case]:
    structural = {"kernel": KERNELS[nd], "stride": STRIDES[nd], "padding": PADDINGS[nd], "dilation": [1, 2],
                  "ceil_mode": [False, True]}
    cycled = {"inputs": INPUTS, "batch": [1, 2], "channels": [1, 3], "size": SIZES[nd]}
    points = sweep(structural, cycled, expand=("inputs",) if full else ())
    return unique(pool_case(f"max_pool{nd}d", nd, p, {"dilation": p["dilation"]}) for p in points)


def avg_pool_grid(nd: int, full: bool = False) -> list[Case]:
    structural = {"kernel": KERNELS[nd], "stride": STRIDES[nd], "padding": PADDINGS[nd], "ceil_mode": [False, True],
                  "count_include_pad": [True, False]}
    cycled = {"batch": [1, 2], "channels": [1, 3], "size": SIZES[nd], "divisor_override": [None, None, 3] if nd == 2 else [None]}
    points = sweep(structural, cycled, expand=("divisor_override",) if full else ())

    def extra(p):
        e = {"count_include_pad": p["count_include_pad"]}
        return {**e, "divisor_override": p["divisor_override"]} if p["divisor_override"] else e

    return unique(pool_case(f"avg_pool{nd}d", nd, p, extra(p)) for p in points)


ADAPTIVE_OUT = {1: [1, 2, 3, 4, 7], 2: [1, 2, (2, 3), (3, 1), (4, 4), (None, 2)]}
ADAPTIVE_IN = {1: [5, 7, 10], 2: [(5, 5), (6, 9), (7, 4)]}


def adaptive_grid(nd: int, full: bool = False) -> list[Case]:
    def case(p):
        n, c = p["batch"], p["channels"]
        size, config = per_dim(p["size"], nd), {"output_size": p["out"]}
        return Case(f"adaptive_avg_pool{nd}d", {"x": (n, c) + size}, config, p["dtype"],
                    case_label(config, batch=n, channels=c, x=size))

    return unique(case(p) for p in sweep({"out": ADAPTIVE_OUT[nd], "size": ADAPTIVE_IN[nd]}, {"batch": [1, 2], "channels": [1, 3]}))


SPECS = [
    OpSpec("max_pool1d", "pool", partial(max_pool_grid, 1), torch_ops.max_pool1d, shrink="pool", diagnose=max_pool_routing),
    OpSpec("max_pool2d", "pool", partial(max_pool_grid, 2), torch_ops.max_pool2d, shrink="pool", diagnose=max_pool_routing, benches=(
        Bench("max_pool2d", "resnet18-stem-b8", {"x": (8, 64, 112, 112)}, {"kernel_size": 3, "stride": 2, "padding": 1}),
        Bench("max_pool2d", "small-b2", {"x": (2, 3, 8, 8)}, {"kernel_size": 2}))),
    OpSpec("avg_pool1d", "pool", partial(avg_pool_grid, 1), torch_ops.avg_pool1d, shrink="pool", linear_in=("x",)),
    OpSpec("avg_pool2d", "pool", partial(avg_pool_grid, 2), torch_ops.avg_pool2d, shrink="pool", linear_in=("x",), benches=(
        Bench("avg_pool2d", "2x2-b8", {"x": (8, 64, 56, 56)}, {"kernel_size": 2}),)),
    OpSpec("adaptive_avg_pool1d", "pool", partial(adaptive_grid, 1), torch_ops.adaptive_avg_pool1d, linear_in=("x",)),
    OpSpec("adaptive_avg_pool2d", "pool", partial(adaptive_grid, 2), torch_ops.adaptive_avg_pool2d, linear_in=("x",), benches=(
        Bench("adaptive_avg_pool2d", "resnet18-global-b8", {"x": (8, 512, 7, 7)}, {"output_size": 1}),)),
]
