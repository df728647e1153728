"""manual_grads against torch (CPU, autograd), forward + backward, side by side in one group per shape.

    python -m pytest --benchmark-only                       # every family
    python -m pytest --benchmark-only -k conv2d --benchmark-json bench.json
    python scripts/bench_table.py bench.json                # the table: manual ms, torch ms, ratio, GFLOP/s

One more benchmark, the yardstick: NumPy's own float32 GEMM (2048³, BLAS on every core) in the same run,
so the table can give each convolution's GFLOP/s as a share of it.
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

    from reference import torch_ops

    forward = getattr(torch_ops, bench.op)
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


def test_numpy_gemm(benchmark):
    """NumPy's float32 GEMM, 2048³ on every core: the throughput a convolution's GFLOP/s is compared with."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((GEMM_SIZE, GEMM_SIZE)).astype(np.float32) for _ in range(2))
    out = np.empty_like(a)
    benchmark.group = "numpy gemm"
    benchmark.extra_info.update(op="numpy_gemm", shape=f"{GEMM_SIZE}x{GEMM_SIZE}x{GEMM_SIZE}", side="numpy",
                                gflop=2 * GEMM_SIZE ** 3 / 1e9)
    benchmark.pedantic(np.matmul, args=(a, b), kwargs={"out": out}, rounds=11, warmup_rounds=2, iterations=1)
    time.sleep(0.3)  # BLAS's threads spin for ~0.1 s after a call: let them stop before the next benchmark
