"""Diagnoses: when an implementation fails, say *what* is probably wrong.

A diagnosis takes the case, the oracle (inputs, upstream gradient, torch's
results) and the implementation's gradients, and returns a typed :class:`Finding`
(kind, head, message, gradient, catalogue names, location) or ``None``. Ops name
theirs in their :class:`~reference.spec.OpSpec`. :func:`findings` gathers every
finding of a failure, most specific first (reference.harness joins their messages
into one line for people: code reads the findings, never the text).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cases import Case, per_dim, pooled_length, window_span
from .compare import mismatch_mask


def tied_maxima(x: np.ndarray, kernel_size, stride, padding, dilation, ceil_mode) -> np.ndarray:
    """Mask of input positions that are one of two or more equal maxima of some pooling window.

    Any number of spatial axes (``x`` is ``(N, C, *S)``), with kernel, stride, padding and dilation an int or
    one per axis. The input is padded with -inf (torch's max-pool padding); kernel offset ``i`` of window ``t``
    reads ``Xpad[t·s + i·d]``. A window whose maximum is NaN has no tied maxima.
    """
    nd = x.ndim - 2
    k, p, d = per_dim(kernel_size, nd), per_dim(padding, nd), per_dim(dilation, nd)
    s = k if stride is None else per_dim(stride, nd)
    out = tuple(pooled_length(n, ki, si, pi, di, ceil_mode) for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d))
    after = [max(pi, window_span(ki, di, o, si) - n - pi)  # the padding, or ceil mode's last window's overhang
             for n, ki, si, di, pi, o in zip(x.shape[2:], k, s, d, p, out)]
    padded = np.pad(np.asarray(x, dtype=np.float64), [(0, 0)] * 2 + list(zip(p, after)), constant_values=-np.inf)
    reads = [(Ellipsis,) + tuple(slice(ii * di, ii * di + (o - 1) * si + 1, si) for ii, si, di, o in zip(i, s, d, out))
             for i in np.ndindex(*k)]  # every kernel offset's element of every window, (N, C, *out) each
    best = np.max([padded[r] for r in reads], axis=0)
    at_max = [padded[r] == best for r in reads]
    shared = np.sum(at_max, axis=0) >= 2  # windows with two or more maxima
    hits = np.zeros(padded.shape, dtype=bool)
    for r, m in zip(reads, at_max):
        hits[r] |= m & shared
    return hits[(Ellipsis,) + tuple(slice(pi, pi + n) for pi, n in zip(p, x.shape[2:]))]


def mismatches(case: Case, got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """:func:`~reference.compare.mismatch_mask` under the tolerance the case was judged by: its op's override for
    its dtype (``OpSpec.tolerances``), else the dtype's default."""
    from .harness import tolerance_of  # here, not above: the harness and the family files import this module

    return mismatch_mask(got, expected, tolerance_of(case))


def max_pool_routing(case: Case, oracle, grads: dict) -> Finding | None:
    """Recognise the two classic max-pool routing faults.

    Every upstream gradient must land on some maximum, so Σ dX = Σ dY per
    (sample, channel). A dX that differs from torch's only on tied maxima and
    keeps that sum is a tie-convention mismatch; a dX that loses part of the
    sum while windows overlap has overwritten ('=') instead of accumulated ('+=').
    """
    got, expected = grads.get("x"), oracle.grads["x"]
    if not isinstance(got, np.ndarray) or got.shape != expected.shape:
        return None
    bad = mismatches(case, got, expected)
    if not bad.any():
        return None
    spatial = tuple(range(2, got.ndim))
    conserved = not mismatch_mask(got.sum(axis=spatial), oracle.upstream.sum(axis=spatial).astype(got.dtype)).any()
    options = {k: case.config.get(k, v) for k, v in
               (("kernel_size", None), ("stride", None), ("padding", 0), ("dilation", 1), ("ceil_mode", False))}
    if conserved:
        if (bad & ~tied_maxima(oracle.inputs["x"], **options)).any():
            return None
        return Finding.of("convention", "tie-convention mismatch",
                          f"all {int(bad.sum())} mismatching elements of dX are tied maxima of their window and the "
                          "total gradient is conserved; the gradient went to a different one of equal maxima than "
                          "torch's (torch: the first maximum in row-major window order)", "x")
    tied = tied_maxima(oracle.inputs["x"], **options)
    if not (bad & ~tied).any():
        return Finding.of("mistake", "gradient routed to every tied maximum",
                          "sum(dX) != sum(dY) and all mismatches are tied maxima; each upstream gradient must go to "
                          "exactly one maximum of its window (this is not a convention: it changes sum(dX))", "x")
    if _windows_overlap(got.ndim - 2, **options):
        return Finding.of("mistake", "overlapping windows not accumulated",
                          "sum(dX) != sum(dY) per channel although every upstream gradient must land on a maximum; "
                          "where windows overlap, contributions were overwritten ('=') instead of added ('+=')", "x")
    return None


def derivative_at_zero(case: Case, oracle, grads: dict) -> Finding | None:
    """A dX that differs from torch's only where the input is exactly 0: the derivative there is a convention."""
    got, expected, x = grads.get("x"), oracle.grads["x"], oracle.inputs["x"]
    if not isinstance(got, np.ndarray) or got.shape != expected.shape:
        return None
    bad = mismatches(case, got, expected)
    if not bad.any() or (bad & (x != 0)).any():
        return None
    return Finding.of("convention", "convention at x = 0",
                      f"all {int(bad.sum())} mismatching elements of dX are where x is exactly 0, where the derivative "
                      f"is undefined (torch takes {case.op}'(0) from the x < 0 side)", "x")


def _windows_overlap(nd, kernel_size, stride, dilation, **_) -> bool:
    """Whether two windows share an input position: (t' - t)·s = m·d for some 1 <= m <= k - 1, on some axis."""
    k, d = per_dim(kernel_size, nd), per_dim(dilation, nd)
    s = k if stride is None else per_dim(stride, nd)
    return any((m * di) % si == 0 for ki, si, di in zip(k, s, d) for m in range(1, ki))


# --- catalogue of known mistakes, precision, and where the error lives ---------------------

def known_mistakes(case: Case, oracle, grads: dict, failing: list[str]) -> list[str]:
    """Names of catalogued mistakes (reference.mutants) that reproduce the failing gradients exactly.

    Each mutant of the op (an implementation of its own: manual_grads making that
    mistake) is replayed with the case's inputs and upstream gradient; it is named
    when every failing gradient of the implementation matches the mutant's within
    the tolerance.
    """
    from .mutants import MUTANTS

    names = []
    for mutant in MUTANTS:
        if case.op not in mutant.ops:
            continue
        impl = mutant.implementation
        try:
            arrays = [None if a is None else a.copy() for a in oracle.inputs.values()]
            _, cache = getattr(impl, f"{case.op}_forward")(*arrays, **case.config)
            theirs = getattr(impl, f"{case.op}_backward")(oracle.upstream.copy(), cache)
        except Exception:
            continue
        if all(isinstance(grads.get(n), np.ndarray) and n in theirs and np.shape(theirs[n]) == grads[n].shape
               and not mismatches(case, grads[n], np.asarray(theirs[n])).any() for n in failing):
            names.append(mutant.name)
    return names


def precision(oracle, grads: dict, failing: list[str]) -> Finding | None:
    """A float64 case right only to float32 precision was computed in float32."""
    from .compare import TOLERANCES

    f32 = TOLERANCES[np.dtype(np.float32)]
    expected = {n: oracle.grads[n] for n in failing}
    if not all(e.dtype == np.float64 and isinstance(grads.get(n), np.ndarray) and grads[n].shape == e.shape
               for n, e in expected.items()):
        return None
    if all(not mismatch_mask(grads[n], e, f32).any() for n, e in expected.items()):
        return Finding.of("precision", "right only to float32 precision",
                          "computed (or accumulated) in float32 somewhere", ",".join(failing))
    return None


@dataclass(frozen=True)
class Location:
    """Where the wrong elements of one gradient are, when they are not everywhere (``None`` fields: no pattern).

    ``channels`` / ``samples``: the only channels / samples with errors; ``band``: the errors all lie within
    this many elements of the border; ``phases``: the only stride phases (index mod stride, per axis) with
    errors, of ``stride``.
    """

    channels: tuple[int, ...] | None = None
    samples: tuple[int, ...] | None = None
    band: int | None = None
    phases: tuple[tuple[int, ...], ...] | None = None
    stride: tuple[int, ...] | None = None

    def __str__(self) -> str:
        parts = [f"only {what} {list(hit)}" for what, hit in (("channels", self.channels), ("samples", self.samples))
                 if hit is not None]
        if self.band is not None:
            parts.append(f"only in a border band {self.band} wide")
        if self.phases is not None:
            parts.append(f"only at stride phase(s) {list(self.phases)} of {self.stride}")
        return ", ".join(parts)


def locate(case: Case, name: str, got: np.ndarray, expected: np.ndarray) -> Location | None:
    """Where the wrong elements of one gradient live: channels, samples, a border band, a stride phase."""
    if not isinstance(got, np.ndarray) or got.shape != expected.shape or got.ndim < 3:
        return None
    bad = mismatches(case, got, expected)
    if not bad.any() or bad.all():
        return None
    found = {}
    for axis, what in ((1, "channels"), (0, "samples")):
        hit = np.flatnonzero(bad.any(axis=tuple(i for i in range(bad.ndim) if i != axis)))
        if len(hit) < bad.shape[axis]:
            found[what] = tuple(int(i) for i in hit)
    spatial = bad.shape[2:]
    grid = np.indices(spatial)
    edge = np.min([np.minimum(g, n - 1 - g) for g, n in zip(grid, spatial)], axis=0)
    band = int(edge[bad.any(axis=(0, 1))].max()) + 1
    if 2 * band < min(spatial):
        found["band"] = band
    stride = case.config.get("stride")
    if stride and name in ("x", "out"):
        s = per_dim(stride, len(spatial))
        if max(s) > 1:
            phases = {tuple(int(i) % si for i, si in zip(idx, s)) for idx in zip(*np.nonzero(bad.any(axis=(0, 1))))}
            if len(phases) < int(np.prod(s)):
                found.update(phases=tuple(sorted(phases)), stride=tuple(s))
    return Location(**found) if found else None


def where(case: Case, name: str, got: np.ndarray, expected: np.ndarray) -> str | None:
    """:func:`locate` as text (``None`` when the errors show no pattern)."""
    located = locate(case, name, got, expected)
    return str(located) if located else None


@dataclass(frozen=True)
class Finding:
    """One thing recognised about a failure.

    ``kind``: 'convention' (a different choice at a non-differentiable point: ties, x = 0),
    'mistake' (a named mistake: a catalogued mutant reproduces it, or an op diagnosis such as
    'overlapping windows not accumulated'), 'precision' (right only to float32 precision) or
    'location' (where the wrong elements of one gradient are). ``head``: its short name, what a
    report's headline shows and what "the same failure" means when a case is shrunk; ``message``:
    the whole sentence (it starts with the head). ``names``: the catalogue names (reference.mutants);
    ``location``: for 'location' findings, where the errors are.
    """

    kind: str
    head: str
    message: str
    gradient: str = ""
    names: tuple[str, ...] = ()
    location: Location | None = field(default=None, compare=False)

    @classmethod
    def of(cls, kind: str, head: str, detail: str, gradient: str = "", **more) -> "Finding":
        """A finding whose message is ``head: detail``."""
        return cls(kind, head, f"{head}: {detail}", gradient, **more)

    def __str__(self) -> str:
        return self.message


def _gradient_name(n: str) -> str:
    return f"d{n.upper() if len(n) == 1 and n != 'b' else n}"


def findings(case: Case, oracle, grads: dict, op_diagnose=None) -> list[Finding]:
    """Everything recognisable about a failure, most specific first."""
    failing = [n for n, e in oracle.grads.items()
               if not (isinstance(grads.get(n), np.ndarray) and grads[n].shape == e.shape
                       and not mismatches(case, grads[n], e).any())]
    found = []
    if op_diagnose is not None:
        finding = op_diagnose(case, oracle, grads)
        if finding is not None and not isinstance(finding, Finding):
            raise TypeError(f"the diagnosis of {case.op} returned {type(finding).__name__}, not a Finding or None")
        if finding is not None:
            found.append(finding)
    if failing:
        mistakes = known_mistakes(case, oracle, grads, failing)
        if mistakes:  # when every mismatch is at a non-differentiable point, the names are of that convention
            kind = "convention" if any(f.kind == "convention" for f in found) else "mistake"
            named = "probably: " + " / ".join(mistakes)
            found.append(Finding(kind, named, named, ",".join(failing), tuple(mistakes)))
        finding = precision(oracle, grads, failing)
        if finding is not None:
            found.append(finding)
        for n in failing:
            located = locate(case, n, grads.get(n), oracle.grads[n])
            if located:
                text = f"{_gradient_name(n)} errors {located}"
                found.append(Finding("location", text, text, n, location=located))
    return found
