"""Grade one hand-in: read it, decide its format and items, run every item's cases in the sandbox, score.

The trusted side alone decides what is graded: the format (detected from the
source text, or given), the profile's items and their points, each item's
cases and the definition each item calls. The worker only runs code.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from ..harness import CaseResult, run_case
from .course_grids import item_grid
from .discovery import read_handin
from .formats import FORMATS, bind, detect
from .profiles import Profile, ProfileError, default_for
from .sandbox import Limits, Plan, SandboxedHandIn
from .scoring import ItemScore, score_item


@dataclass
class Graded:
    scores: list[ItemScore]
    results: list[CaseResult]
    plan: Plan
    profile: Profile
    interpreter: str
    base_seed: int
    seconds: float
    load_error: str = ""
    file_errors: dict = field(default_factory=dict)
    isolation: str = ""  # how the hand-in's worker was confined (sandbox.Sandbox.describe)

    @property
    def header(self) -> str:
        """Which format, profile, interpreter, isolation and seed were used, and what failed to import."""
        lines = [self.plan.why, f"profile: {self.profile.name} ({self.profile.title}); dtypes {', '.join(self.profile.dtypes)}, "
                 f"dtype policy {self.profile.dtype_policy}, conventions {self.profile.conventions}",
                 f"interpreter: {self.interpreter}", f"base seed: {self.base_seed} (reproduce with --seed {self.base_seed})"]
        if self.isolation:
            lines.append(f"isolation: {self.isolation}")
        if self.load_error:
            lines.append(f"could not load: {self.load_error}")
        lines += [f"import error: {e}" for e in self.file_errors.values()]
        return "\n".join(lines)


def describe_interpreter(python: str = "") -> str:
    """'path (Python 3.11.7, NumPy 2.1.0)' for the interpreter that runs hand-ins; ValueError when unusable."""
    exe = python or sys.executable
    try:
        out = subprocess.run([exe, "-I", "-c", "import sys, numpy; print('%d.%d.%d' % sys.version_info[:3], numpy.__version__)"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ValueError(f"--python {exe}: cannot run it ({exc})") from None
    if out.returncode != 0 or len(out.stdout.split()) != 2:
        raise ValueError(f"--python {exe}: it has no NumPy (the worker needs it): {out.stderr.strip().splitlines()[-1:]}")
    version, numpy = out.stdout.split()
    if tuple(int(v) for v in version.split(".")[:2]) < (3, 8):
        raise ValueError(f"--python {exe}: Python {version} is older than 3.8")
    return f"{exe} (Python {version}, NumPy {numpy})"


def plan(target: str, fmt: str = "auto", profile: Profile | None = None) -> tuple[Plan, Profile]:
    """The format, profile and item bindings for ``target`` (a path or a dotted module)."""
    is_path = os.path.exists(target)
    handin = read_handin(target) if is_path else None
    if fmt not in ("auto",) + FORMATS:
        raise ProfileError(f"--format must be auto or one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "auto" and profile is not None and profile.format:
        fmt, why = profile.format, f"graded as {profile.format}: the profile {profile.name} is for {profile.format} hand-ins"
    elif fmt == "auto":
        fmt, why = detect(handin, target)
    else:
        why = f"graded as {fmt}: chosen with --format"
    if profile is None:
        profile = default_for(fmt)
    elif profile.format and profile.format != fmt:
        raise ProfileError(f"the profile {profile.name} is for {profile.format} hand-ins, not {fmt}")
    profile = profile.completed_for(fmt)
    missing = profile.ops_missing_in(fmt)
    if missing:
        raise ProfileError(f"{fmt} hand-ins have no counterpart of {', '.join(missing)} (rubric {profile.name})")
    if is_path:
        target = os.path.abspath(target)
        root = target if os.path.isdir(target) else os.path.dirname(target)
    else:
        root = os.getcwd()
    bindings = {item.name: bind(handin, fmt, item) for item, _ in profile.items(fmt)}
    return Plan(fmt, target, root, why, bindings), profile


def grade(target: str, fmt: str = "auto", limits: Limits | None = None, profile: Profile | None = None,
          golden: str | None = None, base_seed: int = 0, cases: list | None = None, interpreter: str = "",
          the_plan: Plan | None = None, minimal_cases: bool = False, shrink_budget: float | None = None) -> Graded:
    """Grade ``target``; ``cases``: only these grid cases (by id) of each item; ``golden``: expected values frozen.

    ``the_plan``: a plan made already (with ``profile``), e.g. by the CLI to validate before grading.
    ``minimal_cases``: once every item is scored, shrink each failing one to its smallest failing case (in the
    same sandbox, against torch) and attach it as ``ItemScore.minimal`` (reference.grading.report.shrink), within
    ``shrink_budget`` seconds per item (default: that module's BUDGET).
    """
    limits = limits or Limits()
    start = time.perf_counter()
    if the_plan is None or profile is None:
        the_plan, profile = plan(target, fmt, profile)
    frozen = {}
    if golden:
        from .. import golden as golden_fixtures

        base_seed, pairs = golden_fixtures.load(golden)
        frozen = {c.id: (c, ref) for c, ref in pairs}
    wanted = None if cases is None else {c.id for c in cases}
    handin = SandboxedHandIn(the_plan, limits)
    results, scores, shrinking = [], [], []
    try:
        for item, points in profile.items(the_plan.format):
            binding = the_plan.bindings[item.name]
            grid = item_grid(the_plan.format, item, binding, profile.dtypes)
            if wanted is not None:
                grid = [c for c in grid if c.id in wanted]
            if golden:
                absent = [c.id for c in grid if c.id not in frozen]
                if absent:
                    raise ProfileError(f"--golden {golden} lacks {len(absent)} of the {len(grid)} cases of {item.name} "
                                       f"(frozen for another profile or grid?), e.g. {absent[0]}")
            problem = handin.problem(item.name)
            view = handin.view(item.name, item.op)
            item_results = []
            for case in grid:
                if problem:
                    r = CaseResult(case, case.seed(base_seed), base_seed, error=problem, expected=["out"])
                else:
                    r = run_case(case, view, base_seed, reference=frozen[case.id][1] if golden else None,
                                 dtype_policy=profile.dtype_policy)
                r.reproduce = (f"python -m reference.grade {target} --format {the_plan.format} --profile "
                               f"{profile.source or profile.name} --seed {base_seed} --item {item.name}"
                               + (f" --golden {golden}" if golden else ""))
                item_results.append(r)
            results += item_results
            scores.append(score_item(item.label, item.op, points, item_results, profile, problem,
                                     hidden=item.name in profile.hidden))
            if minimal_cases and not problem:
                shrinking.append((scores[-1], item, binding, item_results, view))
        # after every item is scored, so the time shrinking takes from the hand-in's budget costs no item points
        for score, item, binding, item_results, view in shrinking:
            _attach_minimal(score, item, binding, the_plan, profile, item_results, view, base_seed, shrink_budget)
    finally:
        handin.close()
    return Graded(scores, results, the_plan, profile, interpreter or sys.executable, base_seed,
                  time.perf_counter() - start, handin.load_error, handin.file_errors, handin.isolation)


def _attach_minimal(score, item, binding, the_plan, profile, results, view, base_seed, budget) -> None:
    """The hook after the items are scored: an item's smallest failing case (a shrinking fault never stops grading)."""
    from .report import shrink

    try:
        shrink.attach(score, item, binding, the_plan, profile, results, view, base_seed,
                      shrink.BUDGET if budget is None else budget)
    except Exception as exc:  # the report is a bonus; the score stands without it
        score.minimal = None
        score.notes.append(f"no smallest failing case (the search failed: {type(exc).__name__}: {exc})")
