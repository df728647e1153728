"""Run one case: the torch oracle, then the implementation under test, then the comparison.

The implementation is any object (usually a module) with ``<op>_forward`` and
``<op>_backward`` attributes following the ``manual_grads`` pattern. Whatever
the implementation does — raise, return garbage, mutate its inputs — the result
is a :class:`CaseResult` naming what went wrong; the harness itself does not
raise for implementation faults.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import numpy as np

from . import sampling
from .cases import Case
from .compare import Comparison, compare_array, gradient_label, unchanged
from .diagnosis import Finding, findings
from .registry import SPECS


class NotExpressible(Exception):
    """The implementation under test cannot express this configuration: the case is skipped, not failed."""


@dataclass
class Oracle:
    """The reference side of a case: inputs, upstream gradient, torch's output and gradients."""

    inputs: dict[str, np.ndarray | None]
    upstream: np.ndarray
    out: np.ndarray
    grads: dict[str, np.ndarray]


@dataclass(frozen=True)
class Failure:
    """Why a case has nothing (or not everything) to compare, typed; ``CaseResult.error`` is its text.

    ``stage``: ``<op>_forward`` or ``<op>_backward`` ('' when the functions are missing); ``kind``: 'raised'
    (the implementation raised), 'unusable' (it returned something that is not a result), 'missing' (not
    implemented) or 'extra' (gradients for inputs that do not exist); ``exception``: the type name of what the
    implementation raised; ``at``: ``file:line`` in the implementation, when known; ``lost``: its process timed
    out, died or used up its budget (an exception with ``lost = True``), so nothing was learnt about the layer.
    """

    stage: str
    kind: str
    exception: str = ""
    at: str = ""
    lost: bool = False

    @property
    def key(self) -> tuple:
        """What makes two failures "the same" (() for a lost worker: the same only by accident)."""
        return () if self.lost else (self.stage, self.kind, self.exception, self.at)

    @classmethod
    def raised(cls, stage: str, exc: BaseException, at: str = "") -> "Failure":
        """From an exception raised at ``at``. A sandbox's own exceptions say instead what the hand-in raised and
        where (their ``raised`` and ``at``: '' when the worker did not say, or said something invalid)."""
        said = getattr(exc, "raised", None)
        return cls(stage, "raised", type(exc).__name__ if said is None else said, getattr(exc, "at", at),
                   bool(getattr(exc, "lost", False)))


@dataclass
class CaseResult:
    case: Case
    seed: int
    base_seed: int
    checks: list[Comparison] = field(default_factory=list)
    error: str = ""  # the implementation raised or returned something unusable (its text; typed: ``failure``)
    failure: Failure | None = None
    skipped: str = ""  # the implementation's format cannot express this case (not a failure)
    expected: list[str] = field(default_factory=list)  # 'out' and every gradient the oracle has
    reproduce: str = ""  # the command that runs this case again (set by run_case; graders add their options)
    diagnosis: str = ""  # what is probably wrong, when a diagnosis recognises the failure (the findings as text)
    findings: list[Finding] = field(default_factory=list)  # the same, typed (reference.diagnosis.Finding): code reads these

    @property
    def notes(self) -> list[str]:
        """Remarks that cost nothing, e.g. a float64 result for a float32 case under the 'values' dtype policy."""
        return [f"{gradient_label(c.name)}: {c.note}" for c in self.checks if c.note]

    @property
    def ok(self) -> bool:
        return not self.error and all(c.ok for c in self.checks)

    def passed(self, name: str) -> bool:
        """Whether the forward output ('out') or one gradient was compared and right."""
        check = self.check(name)
        return check is not None and check.ok

    def check(self, name: str) -> Comparison | None:
        return next((c for c in self.checks if c.name == name), None)

    def report(self) -> str:
        failed = [c for c in self.checks if not c.ok]
        head = f"{self.case.op} FAILED" + (
            f" in {', '.join(gradient_label(c.name) for c in failed)}" if failed else ""
        )
        if self.findings:
            head += f" — {self.findings[0].head}"
        lines = [head, f"  configuration: {self.case.describe()}"]
        if self.diagnosis:
            lines.append(f"  diagnosis: {self.diagnosis}")
        if self.error:
            lines.append(f"  {self.error}")
        lines += ["  " + c.report().replace("\n", "\n  ") for c in failed]
        lines.append(f"  seed: {self.seed} (case {self.case.id!r}, base seed {self.base_seed}); reproduce with: {self.reproduce}")
        return "\n".join(lines)


def oracle(case: Case, seed: int) -> Oracle:
    """Draw the case's inputs from ``seed`` and compute torch's output and gradients for them."""
    from .torch_ops import autograd_vjp  # torch only when an oracle is computed live

    rng = np.random.default_rng(seed)
    inputs = sampling.draw_inputs(case, rng)
    out, grads, upstream = autograd_vjp(
        SPECS[case.op].torch_mirror, inputs, case.config, lambda shape: sampling.draw_upstream(rng, shape)
    )
    return Oracle(inputs, upstream, out, grads)


def _raised(result: CaseResult, stage: str, exc: BaseException) -> CaseResult:
    """``result`` failed because ``stage`` raised ``exc``: its text and its typed :class:`Failure`."""
    frames = traceback.extract_tb(exc.__traceback__)
    at = f"{frames[-1].filename}:{frames[-1].lineno}" if frames and getattr(exc, "report_location", True) else ""
    result.error = f"{stage} raised {type(exc).__name__}: {exc}" + (f" (at {at})" if at else "")
    result.failure = Failure.raised(stage, exc, at)
    return result


def tolerance_of(case: Case):
    """The tolerance ``case`` is judged by: its op's override for its dtype (``OpSpec.tolerances``), else None
    (the dtype's default)."""
    spec = SPECS.get(case.op)
    return spec.tolerances.get(case.dtype) if spec is not None else None


def diagnose_failure(result: CaseResult, case: Case, ref: Oracle, grads: dict) -> None:
    """Set ``result``'s findings (reference.diagnosis.findings) and their one-line text; a diagnosis is a bonus, so
    one that fails says so in the text and never hides the failure."""
    try:
        result.findings = findings(case, ref, grads, SPECS[case.op].diagnose)
        result.diagnosis = "; ".join(map(str, result.findings))
    except Exception as exc:
        result.diagnosis = f"(diagnosis unavailable: {type(exc).__name__}: {exc})"


def _unusable(result: CaseResult, stage: str, kind: str, text: str) -> CaseResult:
    result.error, result.failure = text, Failure(stage, kind)
    return result


def run_case(case: Case, impl, base_seed: int = 0, reference: Oracle | None = None, diagnose: bool = True,
             dtype_policy: str = "strict") -> CaseResult:
    """Verify ``impl``'s forward and backward of ``case`` against torch.autograd (or a frozen ``reference``).

    On failure, ``diagnose`` adds what is probably wrong (reference.diagnosis.findings).
    ``dtype_policy``: 'strict' (a result of another dtype is wrong) or 'values' (judged on its values;
    the dtype difference is a note) -- see reference.compare.compare_array.
    """
    seed = case.seed(base_seed)
    result = CaseResult(case, seed, base_seed, reproduce=f'python -m pytest --seed {base_seed} -k "{case.id}"')
    ref = reference or oracle(case, seed)
    result.expected = ["out", *ref.grads]
    forward = getattr(impl, f"{case.op}_forward", None)
    backward = getattr(impl, f"{case.op}_backward", None)
    if forward is None or backward is None:
        missing = [f"{case.op}_{p}" for p, f in (("forward", forward), ("backward", backward)) if f is None]
        return _unusable(result, "", "missing",
                         f"not implemented: {', '.join(missing)} not found in {getattr(impl, '__name__', impl)!r}")
    inputs = {k: None if v is None else v.copy() for k, v in ref.inputs.items()}
    upstream = ref.upstream.copy()
    try:
        returned = forward(*inputs.values(), **case.config)
    except NotExpressible as exc:
        result.skipped = str(exc)
        return result
    except Exception as exc:
        return _raised(result, f"{case.op}_forward", exc)
    try:
        out, cache = returned
    except Exception:  # not a pair
        return _unusable(result, f"{case.op}_forward", "unusable",
                         f"{case.op}_forward must return (output, cache); got {type(returned).__name__}")
    tolerance = tolerance_of(case)
    result.checks.append(compare_array("out", out, ref.out, tolerance, dtype_policy=dtype_policy))
    try:
        grads = backward(upstream, cache)
    except NotExpressible as exc:
        result.skipped = str(exc)
        return result
    except Exception as exc:
        return _raised(result, f"{case.op}_backward", exc)
    if not isinstance(grads, dict):
        return _unusable(result, f"{case.op}_backward", "unusable",
                         f"{case.op}_backward must return a dict {{input name: gradient}}; got {type(grads).__name__}")
    for name, expected in ref.grads.items():
        result.checks.append(compare_array(name, grads.get(name), expected, tolerance, dtype_policy=dtype_policy))
    extra = sorted(k for k, v in grads.items() if k not in ref.grads and v is not None)
    if extra:
        _unusable(result, f"{case.op}_backward", "extra",
                  f"{case.op}_backward returned gradients for inputs that do not exist here: {extra}")
    for name, before in ref.inputs.items():
        result.checks.append(unchanged(f"input {name}", before, inputs[name]))
    result.checks.append(unchanged("upstream gradient dY", ref.upstream, upstream))
    if not result.ok and diagnose:
        diagnose_failure(result, case, ref, grads)
    return result
