"""manual_grads against torch (CPU, autograd), forward + backward, side by side in one group per shape.

    python -m pytest --benchmark-only                       # every family
    python -m pytest --benchmark-only -k conv2d --benchmark-json bench.json
    python scripts/bench_table.py bench.json                # the table: manual ms, torch ms, ratio, GFLOP/s
"""
from __future__ import annotations

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
