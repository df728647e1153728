"""Scores from case results: a rubric (TOML), a per-op table, Gradescope's results.json, a CSV row.

Within an op every graded case is worth the same; within a case the forward
output and each gradient count with the rubric's weights. Per op, the report
also says what the failures have in common (only batch > 1, only non-square
shapes) and quotes the first failure reports with their diagnoses.
"""
from __future__ import annotations

import json
import os
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field

from .harness import CaseResult

DEFAULT_RUBRIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rubrics", "default.toml")
REPORTS_PER_OP = 2


@dataclass
class Rubric:
    points: dict[str, float]
    weights: dict[str, float]

    @classmethod
    def load(cls, path: str = DEFAULT_RUBRIC) -> "Rubric":
        with open(path, "rb") as f:
            data = tomllib.load(f)
        if not isinstance(data.get("ops"), dict) or not data["ops"]:
            raise ValueError(f"rubric {path} needs an [ops] table of points per op")
        return cls({k: float(v) for k, v in data["ops"].items()}, {k: float(v) for k, v in data.get("weights", {}).items()})

    def weight(self, name: str) -> float:
        return self.weights.get(name, self.weights.get("other", 1.0))


@dataclass
class OpScore:
    op: str
    max_score: float
    cases: int = 0
    passed: int = 0
    skipped: int = 0
    earned: float = 0.0  # sum of per-case fractions
    reports: list[str] = field(default_factory=list)
    pattern: str = ""

    @property
    def score(self) -> float:
        return self.max_score * self.earned / self.cases if self.cases else 0.0


def case_fraction(result: CaseResult, rubric: Rubric) -> float:
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
    total = sum(rubric.weight(n) for n in names)
    return sum(rubric.weight(n) for n in names if result.passed(n)) / total


def _pattern(results: list[CaseResult]) -> str:
    """What the failing cases of an op have in common that the passing ones do not."""
    failing = [r for r in results if not r.ok]
    passing = [r for r in results if r.ok]
    if not failing or not passing:
        return ""
    batch = lambda r: r.case.shapes[next(iter(r.case.shapes))][0]  # noqa: E731
    square = lambda r: len({d for s in r.case.shapes.values() if s is not None and len(s) > 2 for d in s[2:]}) <= 1  # noqa: E731
    if all(batch(r) > 1 for r in failing) and any(batch(r) == 1 for r in passing):
        return "fails only when batch > 1 (right for batch 1: the batch is not summed/handled)"
    if all(not square(r) for r in failing) and any(square(r) for r in passing):
        return "fails only for non-square shapes (axes mixed up somewhere)"
    if all(r.case.dtype == "float32" for r in failing):
        return "fails only in float32"
    return ""


def score(results: list[CaseResult], rubric: Rubric) -> list[OpScore]:
    by_op: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        by_op[r.case.op].append(r)
    scores = []
    for op, points in rubric.points.items():
        s = OpScore(op, points)
        graded = [r for r in by_op.get(op, []) if not r.skipped]
        s.skipped = len(by_op.get(op, [])) - len(graded)
        if not graded:
            continue  # nothing expressible in this format: not part of max_score
        s.cases = len(graded)
        s.passed = sum(r.ok for r in graded)
        s.earned = sum(case_fraction(r, rubric) for r in graded)
        s.reports = [r.report() for r in graded if not r.ok][:REPORTS_PER_OP]
        s.pattern = _pattern(graded)
        scores.append(s)
    return scores


def table(scores: list[OpScore]) -> str:
    lines = [f"{'op':<26}{'cases':>7}{'passed':>8}{'score':>9}{'max':>7}"]
    for s in scores:
        lines.append(f"{s.op:<26}{s.cases:>7}{s.passed:>8}{s.score:>9.2f}{s.max_score:>7.1f}")
    total, top = sum(s.score for s in scores), sum(s.max_score for s in scores)
    lines.append(f"{'total':<26}{sum(s.cases for s in scores):>7}{sum(s.passed for s in scores):>8}{total:>9.2f}{top:>7.1f}")
    return "\n".join(lines)


def gradescope(scores: list[OpScore], extra_output: str = "") -> dict:
    """Gradescope's results.json: one test per op."""
    tests = []
    for s in scores:
        output = f"{s.passed} of {s.cases} cases right"
        if s.pattern:
            output += f"\npattern: {s.pattern}"
        output += "".join("\n\n" + r for r in s.reports)
        tests.append({"name": s.op, "score": round(s.score, 4), "max_score": s.max_score, "output": output,
                      "status": "passed" if s.passed == s.cases else "failed", "visibility": "visible"})
    return {"score": round(sum(s.score for s in scores), 4), "max_score": sum(s.max_score for s in scores),
            "output": extra_output, "tests": tests}


def write_json(path: str, data: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
