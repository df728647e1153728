"""The max-pool diagnosis on any number of spatial axes.

``tied_maxima`` must mark exactly the input positions that are one of two or more equal maxima of some
window (checked against that definition, window by window), and ``max_pool_routing`` must name the three
routing faults — ties to the last maximum, to every tied maximum, '=' over overlapping windows — of a max pool
written below as loops, in 1-, 2- and 3-d, against torch's gradients.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference.cases import Case, per_dim
from reference.compare import mismatch_mask
from reference.diagnosis import findings, max_pool_routing, tied_maxima
from reference.harness import Oracle

POOLS = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
CONFIGS = {  # (input shape, options): overlapping and tiling windows, padding, dilation, ceil mode, per axis
    1: [((2, 2, 9), dict(kernel_size=3, stride=1, padding=1, dilation=1, ceil_mode=False)),
        ((1, 3, 10), dict(kernel_size=2, stride=3, padding=1, dilation=2, ceil_mode=True))],
    2: [((2, 2, 6, 7), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=1, ceil_mode=True)),
        ((1, 2, 7, 8), dict(kernel_size=2, stride=None, padding=0, dilation=(2, 1), ceil_mode=False))],
    3: [((2, 2, 5, 6, 7), dict(kernel_size=(2, 2, 3), stride=(1, 2, 1), padding=(1, 0, 1), dilation=(1, 1, 2),
                               ceil_mode=True)),
        ((1, 2, 4, 6, 5), dict(kernel_size=2, stride=(1, 1, 2), padding=1, dilation=1, ceil_mode=False))],
}
PARAMS = [pytest.param(nd, shape, options, id=f"{nd}d-{i}") for nd, configs in CONFIGS.items()
          for i, (shape, options) in enumerate(configs)]


def _torch_max_pool(x: np.ndarray, dy: np.ndarray | None, options: dict):
    """torch's max pool of ``x``, and its gradient for the upstream ``dy`` (None: the output only)."""
    t = torch.from_numpy(x).requires_grad_(dy is not None)
    y = POOLS[x.ndim - 2](t, **options)
    if dy is None:
        return y.detach().numpy(), None
    y.backward(torch.from_numpy(dy))
    return y.detach().numpy(), t.grad.numpy()


def _windows(x: np.ndarray, options: dict):
    """Every window ``t`` (in row-major order) with the input positions it reads, ``t·s - p + i·d`` for every
    kernel offset ``i`` in row-major order, the padding left out — the definition, one window at a time."""
    nd = x.ndim - 2
    k, p, d = (per_dim(options[name], nd) for name in ("kernel_size", "padding", "dilation"))
    s = k if options["stride"] is None else per_dim(options["stride"], nd)
    out = _torch_max_pool(x, None, options)[0].shape[2:]
    for t in np.ndindex(*out):
        positions = [tuple(ti * si - pi + ii * di for ti, si, pi, ii, di in zip(t, s, p, i, d)) for i in np.ndindex(*k)]
        yield t, [q for q in positions if all(0 <= qi < n for qi, n in zip(q, x.shape[2:]))]


def _maxima(values: np.ndarray, window: list) -> list:
    """The positions of a window holding its maximum, in window order."""
    best = max(values[q] for q in window)
    return [q for q in window if values[q] == best]


def _routed(x: np.ndarray, dy: np.ndarray, options: dict, ties: str, accumulate: bool = True) -> np.ndarray:
    """A max pool's dX written as loops: each dY[t] goes to the ``ties`` = 'first' or 'last' maximum of window t,
    or to 'every' one of its maxima; added there (``accumulate``) or assigned ('=')."""
    dx = np.zeros_like(x)
    for n, c in np.ndindex(*x.shape[:2]):
        for t, window in _windows(x[n:n + 1, c:c + 1], options):
            maxima = _maxima(x[n, c], window)
            for q in {"first": maxima[:1], "last": maxima[-1:], "every": maxima}[ties]:
                dx[(n, c) + q] = dx[(n, c) + q] + dy[(n, c) + t] if accumulate else dy[(n, c) + t]
    return dx


def _ties(shape, seed: int) -> np.ndarray:
    """Integers in {-1, 0, 1}: most windows hold equal maxima."""
    return np.random.default_rng(seed).integers(-1, 2, shape).astype(np.float64)


def _oracle(x: np.ndarray, options: dict, seed: int) -> Oracle:
    y, _ = _torch_max_pool(x, None, options)
    dy = np.random.default_rng(seed + 1).standard_normal(y.shape)
    y, dx = _torch_max_pool(x, dy, options)
    return Oracle({"x": x}, dy, y, {"x": dx})


@pytest.mark.parametrize("nd, shape, options", PARAMS)
def test_tied_maxima_are_the_positions_sharing_some_windows_maximum(nd, shape, options):
    x = _ties(shape, nd)
    expected = np.zeros(shape, dtype=bool)
    for n, c in np.ndindex(*shape[:2]):
        for _, window in _windows(x[n:n + 1, c:c + 1], options):
            maxima = _maxima(x[n, c], window)
            for q in maxima if len(maxima) > 1 else ():
                expected[(n, c) + q] = True
    assert expected.any() and not expected.all()
    np.testing.assert_array_equal(tied_maxima(x, **options), expected)


@pytest.mark.parametrize("nd, shape, options", PARAMS)
def test_the_loops_with_the_first_maximum_are_torchs_max_pool(nd, shape, options):
    x = _ties(shape, nd)
    oracle = _oracle(x, options, nd)
    np.testing.assert_array_equal(_routed(x, oracle.upstream, options, "first"), oracle.grads["x"])
    assert max_pool_routing(Case(f"max_pool{nd}d", {"x": shape}, options), oracle, {"x": oracle.grads["x"]}) is None


@pytest.mark.parametrize("nd, shape, options", PARAMS)
def test_ties_routed_to_the_last_maximum_are_a_tie_convention_mismatch(nd, shape, options):
    x = _ties(shape, nd)
    oracle = _oracle(x, options, nd)
    got = _routed(x, oracle.upstream, options, "last")
    bad = mismatch_mask(got, oracle.grads["x"])
    assert bad.any() and not (bad & ~tied_maxima(x, **options)).any()  # every mismatch is on a tied maximum
    case = Case(f"max_pool{nd}d", {"x": shape}, options)
    assert max_pool_routing(case, oracle, {"x": got}).message.startswith(
        f"tie-convention mismatch: all {int(bad.sum())} mismatching elements of dX are tied maxima of their window")
    assert findings(case, oracle, {"x": got}, max_pool_routing)[0].kind == "convention"


@pytest.mark.parametrize("nd, shape, options", PARAMS)
def test_gradient_routed_to_every_tied_maximum_is_named(nd, shape, options):
    x = _ties(shape, nd)
    oracle = _oracle(x, options, nd)
    case = Case(f"max_pool{nd}d", {"x": shape}, options)
    found = findings(case, oracle, {"x": _routed(x, oracle.upstream, options, "every")}, max_pool_routing)
    assert found[0].kind == "mistake" and found[0].message.startswith("gradient routed to every tied maximum")


@pytest.mark.parametrize("nd", sorted(CONFIGS))
def test_overlapping_windows_not_accumulated_are_named(nd):
    shape, options = CONFIGS[nd][0]  # stride 1 along some axis: windows overlap
    x = np.random.default_rng(nd).standard_normal(shape)  # no ties
    oracle = _oracle(x, options, nd)
    case = Case(f"max_pool{nd}d", {"x": shape}, options)
    found = findings(case, oracle, {"x": _routed(x, oracle.upstream, options, "first", accumulate=False)},
                     max_pool_routing)
    assert found[0].kind == "mistake" and found[0].message.startswith("overlapping windows not accumulated")



def test_a_diagnosis_judges_by_the_op_s_own_tolerance(monkeypatch):
    """With a looser OpSpec tolerance for relu, a dX off by 1e-7 everywhere and wrong at x = 0 is a convention at
    x = 0 (as run_case judges it); under the default tolerance every element is wrong and it is not."""
    from dataclasses import replace

    from reference.compare import Tolerance
    from reference.diagnosis import derivative_at_zero
    from reference.harness import run_case
    from reference.registry import SPECS

    class Drifting:
        @staticmethod
        def relu_forward(x):
            return np.maximum(x, 0), x

        @staticmethod
        def relu_backward(dout, x):
            return {"x": dout * (x >= 0) * (1 + 1e-7)}

    case = next(c for c in SPECS["relu"].grid(False)  # a case whose input has exact zeros
                if c.dtype == "float64" and (_oracle_and_grads(c, Drifting)[0].inputs["x"] == 0).any())
    default = run_case(case, Drifting)
    assert not default.ok and not any(f.head == "convention at x = 0" for f in default.findings)
    monkeypatch.setitem(SPECS, "relu", replace(SPECS["relu"], tolerances={"float64": Tolerance(rtol=1e-5, atol=1e-8)}))
    loose = run_case(case, Drifting)
    assert not loose.ok and loose.findings[0].head == "convention at x = 0", loose.report()
    assert derivative_at_zero(case, *_oracle_and_grads(case, Drifting)) is not None


def _oracle_and_grads(case, impl):
    from reference.harness import oracle

    ref = oracle(case, case.seed(0))
    _, cache = impl.relu_forward(ref.inputs["x"].copy())
    return ref, impl.relu_backward(ref.upstream.copy(), cache)
