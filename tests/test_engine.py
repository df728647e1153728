"""The comparison engine and the harness: what they accept, what they reject, what they say."""
from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import manual_grads
import numpy as np
import pytest

from reference.compare import compare_array, unchanged
from reference.harness import oracle, run_case
from reference.registry import SPECS

CASE = next(c for c in SPECS["conv2d"].grid(False) if c.shapes["b"] is not None and c.shapes["x"][0] > 1)


def test_identical_arrays_match():
    a = np.random.default_rng(0).standard_normal((3, 4))
    assert compare_array("x", a.copy(), a).ok


def test_one_wrong_element_is_located_and_measured():
    e = np.random.default_rng(0).standard_normal((3, 4))
    a = e.copy()
    a[1, 2] += 1e-7
    c = compare_array("x", a, e)
    assert not c.ok and c.mismatched == 1
    assert "1 of 12 elements mismatch" in c.problem and "(1, 2)" in c.details[0]
    assert c.max_abs == pytest.approx(1e-7, rel=1e-6)


def test_float64_is_tight_float32_is_dtype_aware():
    e = np.linspace(-2, 2, 50)
    assert not compare_array("x", e * (1 + 1e-9), e).ok
    assert compare_array("x", e * (1 + 1e-12), e).ok
    e32 = e.astype(np.float32)
    assert compare_array("x", (e32 * np.float32(1 + 1e-6)).astype(np.float32), e32).ok
    assert not compare_array("x", (e32 * np.float32(1.001)).astype(np.float32), e32).ok


@pytest.mark.parametrize(
    "actual, problem",
    [
        (None, "missing"),
        (np.zeros((3, 5)), "wrong shape"),
        (np.zeros((3, 4), dtype=np.float32), "wrong dtype"),
        (np.full((3, 4), np.nan), "NaN/inf"),
        (object(), "not a numeric array"),
    ],
    ids=["missing", "shape", "dtype", "nan", "object"],
)
def test_bad_arrays_are_named(actual, problem):
    c = compare_array("w", actual, np.zeros((3, 4)))
    assert not c.ok and problem in c.problem and c.report().startswith("dW")


def test_in_place_modification_is_detected():
    a = np.arange(5.0)
    b = a.copy()
    b[0] = -1
    assert unchanged("input x", a, a.copy()).ok
    assert "1 elements changed" in unchanged("input x", a, b).problem


def _impl(**overrides):
    funcs = {f"conv2d_{p}": getattr(manual_grads, f"conv2d_{p}") for p in ("forward", "backward")}
    return SimpleNamespace(__name__="fake", **{**funcs, **overrides})


def _raises(*a, **k):
    raise RuntimeError("boom")


def _mutating_backward(dz, cache):
    grads = manual_grads.conv2d_backward(dz, cache)
    dz *= 2
    return grads


@pytest.mark.parametrize(
    "impl, expected",
    [
        (SimpleNamespace(__name__="empty"), "not implemented: conv2d_forward, conv2d_backward"),
        (_impl(conv2d_forward=_raises), "conv2d_forward raised RuntimeError: boom"),
        (_impl(conv2d_backward=_raises), "conv2d_backward raised RuntimeError: boom"),
        (_impl(conv2d_forward=lambda *a, **k: 1.0), "must return (output, cache)"),
        (_impl(conv2d_backward=lambda dz, c: (1, 2, 3)), "must return a dict"),
        (_impl(conv2d_backward=_mutating_backward), "upstream gradient dY: modified in place"),
        (_impl(conv2d_backward=lambda dz, c: {**manual_grads.conv2d_backward(dz, c), "q": np.ones(1)}),
         "gradients for inputs that do not exist here: ['q']"),
        (_impl(conv2d_backward=lambda dz, c: {k: v for k, v in manual_grads.conv2d_backward(dz, c).items() if k != "b"}),
         "db: missing"),
    ],
    ids=["missing", "forward-raises", "backward-raises", "bad-forward-return", "bad-backward-return",
         "mutates-upstream", "extra-gradient", "missing-gradient"],
)
def test_faulty_implementations_fail_with_a_reason(impl, expected):
    result = run_case(CASE, impl)
    assert not result.ok
    report = result.report()
    assert expected in report and CASE.id in report


def test_forward_result_survives_a_failing_backward():
    result = run_case(CASE, _impl(conv2d_backward=_raises))
    assert result.check("out") is not None and result.check("out").ok


def test_seeds_are_deterministic_and_overridable():
    a, b, c = oracle(CASE, CASE.seed(0)), oracle(CASE, CASE.seed(0)), oracle(CASE, CASE.seed(1))
    assert np.array_equal(a.inputs["x"], b.inputs["x"]) and np.array_equal(a.upstream, b.upstream)
    assert not np.array_equal(a.inputs["x"], c.inputs["x"])


def test_upstream_gradient_is_random_not_ones():
    up = oracle(CASE, CASE.seed(0)).upstream
    assert np.unique(up).size == up.size


def test_manual_grads_never_imports_torch():
    code = "import sys, manual_grads; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_op_in_the_registry_is_implemented():
    missing = [f"{op}_{p}" for op in SPECS for p in ("forward", "backward") if not hasattr(manual_grads, f"{op}_{p}")]
    assert not missing
