"""Scores from case results: per item, a table, Gradescope's results.json.

Within an item every graded case is worth the same; within a case the forward
output and each gradient count with the profile's weights. Under a profile
whose conventions are notes, a case that differs from torch only by a
convention at a non-differentiable point (which of tied maxima takes the
gradient, ReLU'(0)) counts as right and is reported as a note.

Per item the report gives a summary of what failed ("dX wrong when stride > 1
and pad = 0, 8 of 8 such cases") and quotes the most informative failing case
first: one whose mistake has a name, else the smallest.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field

from ..compare import gradient_label
from ..harness import CaseResult
from .profiles import Profile

REPORTS_PER_ITEM = 2
CONVENTIONS = ("tie-convention mismatch", "convention at x = 0")


@dataclass
class ItemScore:
    name: str  # the student's name for it (Conv2d_stride1, conv_forward_naive / conv_backward_naive, conv2d)
    op: str
    max_score: float
    cases: int = 0
    passed: int = 0
    earned: float = 0.0  # sum of per-case fractions
    reports: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problem: str = ""  # why nothing could run (not implemented, failed to import)
    diagnoses: list[str] = field(default_factory=list)  # what the reported failures are, named (see case_diagnoses)
    hidden: bool = False
    minimal: object = None  # the smallest failing case (reference.grading.report.shrink.Found), when searched
    files: dict = field(default_factory=dict)  # what was written for the student: 'script', 'data', 'heatmap', 'page' -> path

    @property
    def score(self) -> float:
        return self.max_score * self.earned / self.cases if self.cases else 0.0


OpScore = ItemScore  # the name earlier code used


def convention_only(result: CaseResult) -> bool:
    """Whether the case's only failure is a convention at a non-differentiable point."""
    kinds = {f.kind for f in result.findings}
    return "convention" in kinds and "mistake" not in kinds and not result.error and all(
        c.ok or c.name == "x" for c in result.checks)


def case_diagnoses(result: CaseResult) -> list[str]:
    """What one failing case is, named for a course summary, from its typed findings and failure: the
    catalogue names or the op diagnosis of its first finding, 'not implemented', 'raised <Type>' (or 'raised an
    exception' when the worker did not say a valid type), 'cannot express the case', 'timed out', 'budget exhausted'
    or 'worker lost'."""
    if result.findings:
        first = result.findings[0]
        return list(first.names) or [first.head]
    failure = result.failure
    if failure is None:
        return []
    if failure.kind == "missing":
        return ["not implemented"]
    if failure.lost:
        return [{"TimedOut": "timed out", "BudgetExhausted": "budget exhausted"}.get(failure.exception, "worker lost")]
    if failure.kind != "raised":
        return []
    if failure.exception == "NotExpressible":  # the adapter: the hand-in's class cannot take this configuration
        return ["cannot express the case"]
    return [f"raised {failure.exception}" if failure.exception else "raised an exception"]


def problem_diagnosis(problem: str) -> str:
    """An item that could not run at all, named: the grader's own sentences begin 'not implemented:' (the
    definitions are missing) or name a file that 'failed to import' / 'cannot import'."""
    if problem.startswith("not implemented"):
        return "not implemented"
    return "failed to import" if "failed to import" in problem or "cannot import" in problem else "not graded"


def case_fraction(result: CaseResult, profile: Profile) -> float:
    """Weighted fraction of the case's forward output and gradients that are right.

    Every output the oracle has counts (a gradient never computed, because the
    backward raised, counts as wrong); an error or an in-place modification of
    an input loses the whole case.
    """
    names = result.expected
    if not names or result.error:
        return 0.0
    if any(not c.ok for c in result.checks if c.name.startswith(("input ", "upstream"))):
        return 0.0
    total = sum(profile.weight(n) for n in names)
    return sum(profile.weight(n) for n in names if result.passed(n)) / total if total else 0.0


def _size(result: CaseResult) -> int:
    return sum(math.prod(s) for s in result.case.shapes.values() if s is not None)


def most_informative(failing: list[CaseResult]) -> list[CaseResult]:
    """Failing cases ordered: a named mistake first, then a located pattern, then by size (smallest first)."""
    def rank(r):
        kinds = {f.kind for f in r.findings}
        return (not kinds & {"mistake", "precision"}, not kinds, _size(r))
    return sorted(failing, key=rank)


# what a failing case's configuration has, for the per-item summary
def _batch(r):
    return next(iter(r.case.shapes.values()))[0]


def _spatial(r):
    return next(iter(r.case.shapes.values()))[2:]


def _stride(r):
    s = r.case.config.get("stride", r.case.config.get("factor"))
    return max(s) if isinstance(s, (tuple, list)) else (s or 1)


def _pad(r):
    p = r.case.config.get("padding", 0)
    return max(p) if isinstance(p, (tuple, list)) else p


CONDITIONS = [
    ("stride > 1", lambda r: _stride(r) > 1), ("stride = 1", lambda r: _stride(r) == 1),
    ("pad = 0", lambda r: isinstance(_pad(r), int) and _pad(r) == 0), ("pad > 0", lambda r: isinstance(_pad(r), int) and _pad(r) > 0),
    ("batch > 1", lambda r: _batch(r) > 1), ("batch = 1", lambda r: _batch(r) == 1),
    ("the input is not square", lambda r: len(set(_spatial(r))) > 1),
    ("there is a bias", lambda r: r.case.shapes.get("b") is not None),
    ("the kernel is 1", lambda r: "w" in r.case.shapes and max(r.case.shapes["w"][2:]) == 1),
    ("C_in != C_out", lambda r: "w" in r.case.shapes and r.case.shapes["w"][0] != r.case.shapes["w"][1]),
    ("the input has ties", lambda r: r.case.inputs != "normal"),
    ("float32", lambda r: r.case.dtype == "float32"),
]


def summarise(results: list[CaseResult]) -> list[str]:
    """Per failing output: what its failing cases have in common that the others do not."""
    lines = []
    errors = [r for r in results if r.error]
    if errors:
        lines.append(f"raised or returned something unusable in {len(errors)} of {len(results)} cases")
    names = sorted({c.name for r in results for c in r.checks if not c.ok}, key=lambda n: (n.startswith("input"), n))
    for name in names:
        failing = [r for r in results if not r.error and r.check(name) is not None and not r.check(name).ok]
        if not failing:
            continue
        conditions = [(text, test) for text, test in CONDITIONS
                      if all(test(r) for r in failing) and not all(test(r) for r in results)]
        label = gradient_label(name) if not name.startswith(("input", "upstream")) else name
        if conditions:
            like = [r for r in results if all(test(r) for _, test in conditions)]
            lines.append(f"{label} wrong when {' and '.join(t for t, _ in conditions)}, {len(failing)} of {len(like)} such cases")
        else:
            lines.append(f"{label} wrong in {len(failing)} of {len(results)} cases")
    return lines


def score_item(name: str, op: str, points: float, results: list[CaseResult], profile: Profile, problem: str = "",
               hidden: bool = False) -> ItemScore:
    s = ItemScore(name, op, points, cases=len(results), problem=problem, hidden=hidden)
    conventions = [r for r in results if not r.ok and profile.conventions == "note" and convention_only(r)]
    s.passed = sum(r.ok for r in results) + len(conventions)
    s.earned = sum(1.0 if r in conventions else case_fraction(r, profile) for r in results)
    failing = [r for r in results if not r.ok and r not in conventions]
    reported = [] if problem else most_informative(failing)[:REPORTS_PER_ITEM]
    s.reports = [r.report() for r in reported]
    s.diagnoses = [problem_diagnosis(problem)] if problem else sorted({d for r in reported for d in case_diagnoses(r)})
    s.summary = [] if problem else summarise([r for r in results])
    if conventions:
        s.notes.append(f"{len(conventions)} case(s) differ from torch only by a convention at a non-differentiable point "
                       f"(worth 0 points in this profile): "
                       f"{next(f.head for f in conventions[0].findings if f.kind == 'convention')}")
    dtype_notes = sorted({n for r in results for n in r.notes})
    if dtype_notes:
        s.notes.append(f"{dtype_notes[0]}" + (f" (and {len(dtype_notes) - 1} more such notes)" if len(dtype_notes) > 1 else ""))
    return s


def table(scores: list[ItemScore]) -> str:
    width = max([26] + [len(s.name) + 2 for s in scores])
    lines = [f"{'item':<{width}}{'cases':>7}{'passed':>8}{'score':>9}{'max':>7}"]
    for s in scores:
        lines.append(f"{s.name:<{width}}{s.cases:>7}{s.passed:>8}{s.score:>9.2f}{s.max_score:>7.1f}")
    total, top = sum(s.score for s in scores), sum(s.max_score for s in scores)
    lines.append(f"{'total':<{width}}{sum(s.cases for s in scores):>7}{sum(s.passed for s in scores):>8}{total:>9.2f}{top:>7.1f}")
    return "\n".join(lines)


def item_text(s: ItemScore) -> str:
    """What the student reads for one item: cases right, the summary, notes, the best failing reports."""
    parts = [f"{s.passed} of {s.cases} cases right"]
    if s.problem:
        parts.append(s.problem)
    if s.minimal is not None:  # the smallest failing case first (reference.grading.report)
        from .report.page import minimal_text

        parts.append(minimal_text(s) + "\n")
    parts += [f"summary: {line}" for line in s.summary]
    parts += [f"note: {n}" for n in s.notes]
    text = "\n".join(parts)
    return text + "".join("\n\n" + r for r in s.reports)


def gradescope(scores: list[ItemScore], output: str = "", execution_time: float | None = None) -> dict:
    """Gradescope's results.json: one test per item, in Markdown (the smallest failing case first, arrays and
    reports in code blocks; reference.grading.report.page)."""
    from .report.page import header_markdown, item_markdown

    tests = []
    for number, s in enumerate(scores, 1):
        tests.append({"name": s.name, "number": str(number), "score": round(s.score, 4), "max_score": s.max_score,
                      "status": "passed" if s.cases and s.passed == s.cases else "failed",
                      "output": item_markdown(s), "output_format": "md",
                      "visibility": "after_due_date" if s.hidden else "visible",
                      "extra_data": {"diagnoses": s.diagnoses}})
    data = {"score": round(sum(s.score for s in scores), 4), "max_score": sum(s.max_score for s in scores),
            "output": header_markdown(output), "output_format": "md", "stdout_visibility": "hidden", "tests": tests}
    if execution_time is not None:
        data["execution_time"] = round(execution_time, 2)
    return data


def write_json(path: str, data: dict) -> None:
    """Write ``path`` atomically: a private temporary file in the same folder, then os.replace (no symlink followed)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
