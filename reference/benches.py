"""Benchmark shapes, declared by each op's family file (``OpSpec(benches=...)``): layers users recognise
(ResNet-18 and MobileNet-V2 at batch 8) and tiny shapes where Python overhead dominates. FLOPs (forward +
backward, multiply-add = 2) where well defined. ``benchmarks/`` times them against torch."""
from __future__ import annotations

from dataclasses import dataclass, field
from math import prod


@dataclass(frozen=True)
class Bench:
    op: str
    name: str
    shapes: dict
    config: dict = field(default_factory=dict)
    gflop: float | None = None  # forward + backward
    products: tuple = ()  # the im2col GEMMs of forward, dX and dW, (groups, m, k, n) each: groups (m×k)·(k×n) products

    @property
    def group(self) -> str:
        return f"{self.op} {self.name}"


def conv_gflop(n, c_in, c_out, out_spatial, kernel, groups=1) -> float:
    forward = 2 * n * c_out * prod(out_spatial) * (c_in // groups) * prod(kernel)
    return 3 * forward / 1e9  # forward, dX and dW each cost one forward


def conv_products(n, c_in, c_out, out_spatial, kernel, groups=1) -> tuple:
    """The lecture's three products over the whole batch's im2col columns, per group: Z = W·cols,
    dcols = Wᵀ·dZ (dX in scatter form) and dW = dZ·colsᵀ — (groups, m, k, n) each."""
    rows, windows, og = c_in // groups * prod(kernel), n * prod(out_spatial), c_out // groups
    return ((groups, og, rows, windows), (groups, rows, og, windows), (groups, og, windows, rows))


def conv_bench(op, name, n, c_in, c_out, size, k, stride=1, padding=0, groups=1, bias=True):
    nd = len(size)
    out = tuple((s + 2 * padding - k) // stride + 1 for s in size)
    return Bench(op, name, {"x": (n, c_in) + size, "w": (c_out, c_in // groups) + (k,) * nd, "b": (c_out,) if bias else None},
                 {"stride": stride, "padding": padding, "groups": groups}, conv_gflop(n, c_in, c_out, out, (k,) * nd, groups),
                 conv_products(n, c_in, c_out, out, (k,) * nd, groups))
