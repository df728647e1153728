"""Oracles that do not involve torch: finite differences and the adjoint identity, on small shapes of every op."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from reference import sampling
from reference.finite_differences import adjoint_gap, directional_derivative, numeric_gradients
from reference.registry import SPECS

FULL_FD_LIMIT = 250  # input elements up to which every element's central difference is taken


def _small_cases(op: str):
    """Float64 cases from the smaller half of the op's grid, spread over it (the very smallest are
    degenerate, e.g. 1x1 kernels where a flip changes nothing), with generic (tie-free, kink-free) inputs."""
    cases = [c for c in SPECS[op].grid(False) if c.dtype == "float64"]
    size = lambda c: sum(int(np.prod(s)) for s in c.shapes.values() if s is not None)  # noqa: E731
    ranked = sorted(cases, key=size)
    picks = sorted({0, len(ranked) // 8, len(ranked) // 4, len(ranked) // 3, len(ranked) // 2})
    return [replace(ranked[i], inputs="normal") for i in picks]


def _function(impl, op: str, names):
    forward = getattr(impl, f"{op}_forward")
    return lambda **kw: forward(*(kw[n] for n in names), **{k: v for k, v in kw.items() if k not in names})[0]


def _setup(impl, case, seed):
    rng = np.random.default_rng(seed)
    arrays = sampling.draw_inputs(case, rng)
    out, cache = getattr(impl, f"{case.op}_forward")(*arrays.values(), **case.config)
    dy = rng.standard_normal(out.shape)
    grads = getattr(impl, f"{case.op}_backward")(dy, cache)
    return rng, arrays, dy, grads


@pytest.mark.parametrize("op", sorted(SPECS))
def test_gradients_match_finite_differences(op, impl, base_seed):
    for case in _small_cases(op):
        rng, arrays, dy, grads = _setup(impl, case, case.seed(base_seed))
        names = [n for n, a in arrays.items() if a is not None]
        f = _function(impl, op, list(arrays))
        if sum(arrays[n].size for n in names) <= FULL_FD_LIMIT:
            numeric = numeric_gradients(f, arrays, case.config, dy, names)
            for n in names:
                np.testing.assert_allclose(grads[n], numeric[n], rtol=1e-6, atol=1e-7 * max(1, np.abs(numeric[n]).max()),
                                           err_msg=f"{case.id}: d{n} vs central differences")
        for _ in range(3):  # randomized directional derivative uᵀ(Jᵀ dY), any size
            u = {n: rng.standard_normal(arrays[n].shape) for n in names}
            analytic = sum(float(np.vdot(grads[n], u[n])) for n in names)
            numeric_dd = directional_derivative(f, arrays, case.config, dy, u)
            assert analytic == pytest.approx(numeric_dd, rel=1e-6, abs=1e-6), f"{case.id}: directional derivative"


LINEAR = [(op, name) for op, spec in sorted(SPECS.items()) for name in spec.linear_in]


@pytest.mark.parametrize("op, name", LINEAR, ids=[f"{op}-d{name}" for op, name in LINEAR])
def test_adjoint_identity(op, name, impl, base_seed):
    """<A x, y> = <x, Aᵀ y> with A the op's linear map in ``name`` and Aᵀ its backward (over the small cases
    that pass ``name``: batch norm's w and b are optional)."""
    cases = [c for c in _small_cases(op) if c.shapes.get(name) is not None]
    assert cases, f"no small case of {op} passes {name}"
    for case in cases:
        rng, arrays, _, _ = _setup(impl, case, case.seed(base_seed))
        _, cache = getattr(impl, f"{op}_forward")(*arrays.values(), **case.config)
        backward = getattr(impl, f"{op}_backward")
        lhs, rhs = adjoint_gap(_function(impl, op, list(arrays)), arrays, case.config, name,
                               lambda y, backward=backward, cache=cache: backward(y, cache)[name], rng)
        assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12), f"{case.id}: <Ax, y> != <x, A^T y> for {name}"
