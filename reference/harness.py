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


@dataclass
class CaseResult:
    case: Case
    seed: int
    base_seed: int
    checks: list[Comparison] = field(default_factory=list)
    error: str = ""  # the implementation raised or returned something unusable
    skipped: str = ""  # the implementation's format cannot express this case (not a failure)
    expected: list[str] = field(default_factory=list)  # 'out' and every gradient the oracle has
    reproduce: str = ""  # the command that runs this case again (set by run_case; graders add their options)
    diagnosis: str = ""  # what is probably wrong, when a diagnosis recognises the failure (the findings as text)
    findings: list[Finding] = field(default_factory=list)  # the same, typed (reference.diagnosis.Finding)

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
        if self.diagnosis:
            first = self.diagnosis.split(";")[0]
            head += f" — {first if first.startswith('probably') else first.split(':')[0]}"
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


def _describe_exception(stage: str, exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    located = frames and getattr(exc, "report_location", True)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if located else ""
    return f"{stage} raised {type(exc).__name__}: {exc}{where}"


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
        result.error = f"not implemented: {', '.join(missing)} not found in {getattr(impl, '__name__', impl)!r}"
        return result
    inputs = {k: None if v is None else v.copy() for k, v in ref.inputs.items()}
    upstream = ref.upstream.copy()
    try:
        returned = forward(*inputs.values(), **case.config)
        out, cache = returned
    except NotExpressible as exc:
        result.skipped = str(exc)
        return result
    except Exception as exc:
        if "returned" in locals():
            result.error = f"{case.op}_forward must return (output, cache); got {type(returned).__name__}"
        else:
            result.error = _describe_exception(f"{case.op}_forward", exc)
        return result
    spec = SPECS.get(case.op)
    tolerance = spec.tolerances.get(case.dtype) if spec is not None else None
    result.checks.append(compare_array("out", out, ref.out, tolerance, dtype_policy=dtype_policy))
    try:
        grads = backward(upstream, cache)
    except NotExpressible as exc:
        result.skipped = str(exc)
        return result
    except Exception as exc:
        result.error = _describe_exception(f"{case.op}_backward", exc)
        return result
    if not isinstance(grads, dict):
        result.error = f"{case.op}_backward must return a dict {{input name: gradient}}; got {type(grads).__name__}"
        return result
    for name, expected in ref.grads.items():
        result.checks.append(compare_array(name, grads.get(name), expected, tolerance, dtype_policy=dtype_policy))
    extra = sorted(k for k, v in grads.items() if k not in ref.grads and v is not None)
    if extra:
        result.error = f"{case.op}_backward returned gradients for inputs that do not exist here: {extra}"
    for name, before in ref.inputs.items():
        result.checks.append(unchanged(f"input {name}", before, inputs[name]))
    result.checks.append(unchanged("upstream gradient dY", ref.upstream, upstream))
    if not result.ok and diagnose:
        try:
            result.findings = findings(case, ref, grads, SPECS[case.op].diagnose)
            result.diagnosis = "; ".join(map(str, result.findings))
        except Exception as exc:  # a diagnosis is a bonus; never let it hide the failure
            result.diagnosis = f"(diagnosis unavailable: {type(exc).__name__}: {exc})"
    return result
