"""Element-wise comparison of an implementation's arrays with the oracle's.

An element of ``actual`` matches ``expected`` when

    |actual - expected| <= atol * max(1, max|expected|) + rtol * |expected|

(or both are the same infinity). The absolute floor scales with the tensor's
largest magnitude because cancellation errors in a sum scale with its terms,
not with its result. Tolerances by dtype:

* float64: rtol 1e-10, atol 1e-12 — tight: any formula error shows, rounding does not;
* float32: rtol 1.3e-6, atol 1e-5 — ``torch.testing.assert_close``'s float32 defaults.

Besides values, every check verifies presence, shape, dtype and finiteness. The dtype
policy says what a result of another floating dtype is: ``strict`` (wrong: right for
``manual_grads`` and the native format) or ``values`` (judged on its values with the
case's tolerance, the dtype difference a note: course handouts allocate with ``np.zeros``,
float64, whatever the input's dtype).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


TOLERANCES = {
    np.dtype(np.float64): Tolerance(rtol=1e-10, atol=1e-12),
    np.dtype(np.float32): Tolerance(rtol=1.3e-6, atol=1e-5),
    np.dtype(np.float16): Tolerance(rtol=1e-3, atol=1e-5),
}

MAX_LISTED = 5  # mismatching elements listed by index in a report


def gradient_label(name: str) -> str:
    """'x' -> 'dX', 'w' -> 'dW', 'b' -> 'db', 'out' -> 'Y (forward output)'."""
    if name == "out":
        return "Y (forward output)"
    if " " in name:  # already a description, e.g. "input x"
        return name
    return "d" + (name.upper() if len(name) == 1 and name != "b" else name)


@dataclass
class Comparison:
    """Outcome of comparing one array (the forward output or one gradient)."""

    name: str
    problem: str = ""  # empty when the array matches
    mismatched: int = 0
    total: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0  # relative error, |expected| floored at the absolute tolerance
    tolerance_used: float = 0.0  # worst |got - expected| / allowed; <= 1 passes
    details: list[str] = field(default_factory=list)
    note: str = ""  # a remark that is not a failure (another dtype under the 'values' policy)

    @property
    def ok(self) -> bool:
        return not self.problem

    def report(self) -> str:
        lines = [f"{gradient_label(self.name)}: {self.problem}"]
        lines += [f"    {d}" for d in self.details]
        return "\n".join(lines)


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def tolerance_for(dtype: np.dtype) -> Tolerance:
    return TOLERANCES.get(np.dtype(dtype), TOLERANCES[np.dtype(np.float32)])


def _allowed(e: np.ndarray, tol: Tolerance) -> tuple[np.ndarray, float]:
    finite_e = np.isfinite(e)
    scale = max(1.0, float(np.max(np.abs(e[finite_e]))) if finite_e.any() else 1.0)
    return tol.atol * scale + tol.rtol * np.abs(e), scale


def mismatch_mask(actual: np.ndarray, expected: np.ndarray, tolerance: Tolerance | None = None) -> np.ndarray:
    """True where ``actual`` (same shape as ``expected``) is outside the tolerance."""
    tol = tolerance or tolerance_for(expected.dtype)
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    allowed, _ = _allowed(e, tol)
    with np.errstate(invalid="ignore", over="ignore"):
        return ~((np.abs(a - e) <= allowed) | (a == e))


DTYPE_POLICIES = ("strict", "values")


def compare_array(name: str, actual, expected: np.ndarray, tolerance: Tolerance | None = None,
                  dtype_policy: str = "strict") -> Comparison:
    """Compare ``actual`` with ``expected`` element-wise; never raises on bad ``actual``."""
    expected = np.asarray(expected)
    result = Comparison(name, total=expected.size)
    if actual is None:
        result.problem = "missing (the implementation returned no such gradient)"
        return result
    if not isinstance(actual, np.ndarray):
        try:
            actual = np.asarray(actual)
        except Exception as exc:  # an object numpy cannot convert
            result.problem = f"not an array ({type(actual).__name__}: {exc})"
            return result
        if actual.dtype == object:
            result.problem = f"not a numeric array (got {type(actual).__name__})"
            return result
    if actual.shape != expected.shape:
        result.problem = f"wrong shape {actual.shape}, expected {expected.shape}"
        return result
    if actual.dtype != expected.dtype:
        if dtype_policy != "values" or actual.dtype.kind != "f":
            result.problem = f"wrong dtype {actual.dtype}, expected {expected.dtype}"
            return result
        result.note = f"returned {actual.dtype} for a {expected.dtype} case (judged on its values; not a deduction)"
    if expected.size == 0:
        return result
    tol = tolerance or tolerance_for(expected.dtype)
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    finite_e = np.isfinite(e)
    allowed, scale = _allowed(e, tol)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - e)
        good = (diff <= allowed) | (a == e)
        rel = np.where(np.isfinite(diff), diff / np.maximum(np.abs(e), tol.atol * scale), np.inf)
        used = np.where(np.isfinite(diff), diff / allowed, np.inf)
    bad = np.flatnonzero(~good)
    comparable = np.isfinite(diff)
    result.max_abs = float(diff[comparable].max()) if comparable.any() else float("inf")
    result.max_rel = float(rel[comparable].max()) if comparable.any() else float("inf")
    result.tolerance_used = float(used.max())
    if bad.size == 0:
        return result
    result.mismatched = int(bad.size)
    nonfinite = int(np.count_nonzero(~np.isfinite(a) & finite_e))
    result.problem = (
        f"{bad.size} of {expected.size} elements mismatch ({100 * bad.size / expected.size:.1f}%)"
        + (f", {nonfinite} of them NaN/inf" if nonfinite else "")
    )
    shape = expected.shape
    listed = ", ".join(f"{_index(i, shape)} got {a.flat[i]:.6g} expected {e.flat[i]:.6g}" for i in bad[:MAX_LISTED])
    result.details.append(f"first at {listed}" + (" ..." if bad.size > MAX_LISTED else ""))
    worst_abs = int(np.argmax(np.where(comparable, diff, -1.0)))
    masked_rel = np.where(comparable & ~good, rel, -1.0)
    worst_rel = int(np.argmax(masked_rel))
    result.details.append(
        f"worst abs error {result.max_abs:.3g} at {_index(worst_abs, shape)}; "
        f"worst rel error {float(rel.flat[worst_rel]):.3g} at {_index(worst_rel, shape)}"
    )
    result.details.append(
        f"tolerance ({expected.dtype}): |got - expected| <= {tol.atol:g} * {scale:.3g} + {tol.rtol:g} * |expected|"
    )
    return result


def unchanged(name: str, before: np.ndarray | None, after: np.ndarray | None) -> Comparison:
    """Check that an input array was not modified in place by the implementation."""
    result = Comparison(f"input {name}")
    if before is None:
        return result
    if after is None or after.shape != before.shape or not np.array_equal(after, before, equal_nan=True):
        changed = "replaced" if after is None or after.shape != before.shape else (
            f"{int(np.count_nonzero(~((after == before) | (np.isnan(after) & np.isnan(before)))))} elements changed"
        )
        result.problem = f"modified in place by the implementation ({changed})"
    return result
