"""manual_grads against torch (CPU, autograd), forward + backward, side by side in one group per shape.

    python -m pytest --benchmark-only                       # every family
    python -m pytest --benchmark-only -k conv2d --benchmark-json bench.json
    python scripts/bench_table.py bench.json                # the table: manual ms, torch ms, ratio, GFLOP/s

Yardsticks in the same run, NumPy's own float32 GEMM on every core: 2048³ (its best case), and, in each
convolution's group, the convolution's own products (W·cols, Wᵀ·dZ, dZ·colsᵀ over the whole batch's columns,
built in advance), so the table can give each convolution's GFLOP/s as a share of both.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import manual_grads
from benchmarks.shapes import BENCHES


def _arrays(bench, rng):
    return {k: None if s is None else rng.standard_normal(s).astype(np.float32) for k, s in bench.shapes.items()}


def _manual(bench, arrays, dy):
    forward = getattr(manual_grads, f"{bench.op}_forward")
    backward = getattr(manual_grads, f"{bench.op}_backward")

    def step():
        out, cache = forward(*arrays.values(), **bench.config)
        return backward(dy, cache)
    return step


def _torch(bench, arrays, dy):
    import torch

    from reference.registry import SPECS

    forward = SPECS[bench.op].torch_mirror  # the op's mirror, where its family file holds it
    tensors = {k: None if a is None else torch.from_numpy(a).requires_grad_() for k, a in arrays.items()}
    leaves = [t for t in tensors.values() if t is not None]
    upstream = torch.from_numpy(dy)

    def step():
        return torch.autograd.grad(forward(**tensors, **bench.config), leaves, upstream)
    return step


@pytest.mark.parametrize("side", ["manual", "torch"])
@pytest.mark.parametrize("bench", BENCHES, ids=[b.group.replace(" ", "-") for b in BENCHES])
def test_speed(benchmark, bench, side):
    rng = np.random.default_rng(0)
    arrays = _arrays(bench, rng)
    out, _ = getattr(manual_grads, f"{bench.op}_forward")(*arrays.values(), **bench.config)
    dy = rng.standard_normal(out.shape).astype(np.float32)
    step = (_manual if side == "manual" else _torch)(bench, arrays, dy)
    benchmark.group = bench.group
    benchmark.extra_info.update(op=bench.op, shape=bench.name, side=side, gflop=bench.gflop)
    benchmark.pedantic(step, rounds=11, warmup_rounds=2, iterations=1)


GEMM_SIZE = 2048
PRODUCT_BENCHES = [b for b in BENCHES if b.products]


def _gemm_benchmark(benchmark, products, group: str, op: str, shape: str, gflop: float):
    """Time NumPy's ``np.matmul`` over ``products`` ((groups, m, k, n) each), BLAS on every core."""
    rng = np.random.default_rng(0)
    operands = [(rng.standard_normal((g, m, k), dtype=np.float32), rng.standard_normal((g, k, n), dtype=np.float32),
                 np.empty((g, m, n), np.float32)) for g, m, k, n in products]

    def step():
        for a, b, out in operands:
            np.matmul(a, b, out=out)
    benchmark.group = group
    benchmark.extra_info.update(op=op, shape=shape, side="numpy", gflop=gflop)
    benchmark.pedantic(step, rounds=11, warmup_rounds=2, iterations=1)
    time.sleep(0.3)  # BLAS's threads spin for ~0.1 s after a call: let them stop before the next benchmark


def test_numpy_gemm(benchmark):
    """NumPy's float32 GEMM, 2048³ on every core: the throughput a convolution's GFLOP/s is compared with."""
    _gemm_benchmark(benchmark, [(1, GEMM_SIZE, GEMM_SIZE, GEMM_SIZE)], "numpy gemm", "numpy_gemm",
                    f"{GEMM_SIZE}x{GEMM_SIZE}x{GEMM_SIZE}", 2 * GEMM_SIZE ** 3 / 1e9)


@pytest.mark.parametrize("bench", PRODUCT_BENCHES, ids=[b.group.replace(" ", "-") for b in PRODUCT_BENCHES])
def test_numpy_gemm_of_the_same_products(benchmark, bench):
    """NumPy's GEMM on the convolution's own three products, the columns already built: the best its
    GEMMs could do, without im2col, col2im or padding."""
    _gemm_benchmark(benchmark, bench.products, bench.group, bench.op, bench.name, bench.gflop)
