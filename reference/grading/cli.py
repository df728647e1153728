"""Grade hand-ins: one, or a whole folder (each hand-in in its own grading process).

    python -m reference.grade HAND-IN [--profile 11785-hw2p1|cs231n-a2|native|FILE] [--format auto|native|cs231n|mytorch]
                                      [--report results.json] [--python PATH] [--seed N] [--item NAME]
    python -m reference.grade --folder HAND-INS --out RESULTS [-j N] [--resume] [--shard I/N]
    python -m reference.grade merge RESULTS-1 RESULTS-2 ... --out ALL
    python -m reference.grade bundle --profile PROFILE --out autograder.zip

--folder takes a folder of hand-ins (folders, .py files, .zip/.tar.gz archives) or a
Gradescope "Export Submissions" folder (reference.grading.batch); `bundle` builds a
Gradescope autograder that grades without torch (reference.grading.bundle).

A hand-in is a folder, a .py file or a dotted module. Its format is detected
from its source text (and said), or chosen with --format; the profile (default:
the format's course profile) says what is graded and how. Hand-in code runs in
a sandboxed worker, under --python's interpreter when given. Every option is
checked before any grading starts. Exit codes: 0 graded, 1 graded below
--fail-under, 2 usage error, 3 the hand-in could not be loaded.
"""
from __future__ import annotations

import argparse
import math
import os
import secrets
import signal
import sys

from .engine import Graded, describe_interpreter, grade
from .formats import FORMATS
from .profiles import DEFAULT_PROFILE, Profile, ProfileError
from .sandbox import Limits, clean
from .scoring import gradescope, item_text, table, write_json

USAGE, NOT_LOADED, BELOW = 2, 3, 1


class UsageError(Exception):
    """A bad option or input file: one line, exit code 2."""


from ..threads import cores, environment, share  # noqa: E402 - the one thread rule


def _parser() -> argparse.ArgumentParser:
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    prog = script if script.startswith("gradcheck-") else "python -m reference.grade"  # the console script's own name
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("submission", nargs="?", help="folder, .py file or dotted module to grade")
    p.add_argument("--folder", help="grade every entry of this folder (each one hand-in)")
    p.add_argument("--out", help="with --folder: where results go (default grading-results)")
    p.add_argument("-j", "--jobs", type=int, default=None, help="with --folder: hand-ins graded at once (default: the cores)")
    p.add_argument("--resume", action="store_true", help="with --folder: skip hand-ins whose results.json is complete")
    p.add_argument("--shard", help="with --folder: grade only slice I of N (I/N, 1 <= I <= N), e.g. one job of an array; "
                                   "join the outputs with `merge`")
    p.add_argument("--format", default="auto", choices=("auto",) + FORMATS)
    p.add_argument("--profile", help=f"course profile: a shipped name ({', '.join(sorted(set(DEFAULT_PROFILE.values())))}) "
                                      "or a TOML file (default: the format's)")
    p.add_argument("--rubric", help="a TOML file of points per op ([ops]); the same as --profile FILE")
    p.add_argument("--report", help="write Gradescope results.json here")
    p.add_argument("--html", help="write a self-contained HTML page of the report here (heat-maps and reproduction "
                                  "scripts inlined)")
    p.add_argument("--repro-dir", help="write each failing item's reproduce_<item>.py, its .npz and heat-maps here "
                                       "(default: the folder of --html, else of --report)")
    p.add_argument("--golden", help="expected values from this frozen file (no torch needed)")
    p.add_argument("--python", default="", help="interpreter that runs the hand-in (e.g. a venv with NumPy 1.26 and scipy)")
    p.add_argument("--seed", type=int, default=None, help="base seed of the inputs (default: a fresh random one, reported)")
    p.add_argument("--item", action="append", help="grade only this item (repeatable)")
    p.add_argument("--time-limit", type=float, default=Limits.time, help="seconds per call (default 10)")
    p.add_argument("--memory-limit", type=float, default=Limits.memory / 2**30, help="GiB for the worker (default 4)")
    p.add_argument("--budget", type=float, default=Limits.budget,
                   help=f"seconds the hand-in may take in all; then its remaining cases fail (default {Limits.budget:g})")
    p.add_argument("--forbid-torch", action="store_true", help="fail hand-ins that import torch")
    p.add_argument("--fail-under", type=float, default=None, help="exit 1 when the score is below this fraction (0-1)")
    return p


def _writable(path: str, what: str) -> None:
    """Fail now, not after grading, when ``path`` cannot be written."""
    if os.path.isdir(path):
        raise UsageError(f"{what} {path} is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{what} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{what} {path}: the folder {folder} is not writable")


def _settings(args) -> tuple[Profile | None, Limits]:
    if args.profile and args.rubric:
        raise UsageError("give --profile or --rubric, not both")
    profile = None
    if args.profile or args.rubric:
        try:
            profile = Profile.load(args.profile or args.rubric)
        except ProfileError as exc:
            raise UsageError(f"--{'profile' if args.profile else 'rubric'}: {exc}") from None
    if not (math.isfinite(args.memory_limit) and args.memory_limit > 0):
        raise UsageError(f"--memory-limit must be a positive number of GiB, not {args.memory_limit!r}")
    limits = Limits(args.time_limit, int(args.memory_limit * 2**30), args.forbid_torch, python=args.python,
                    budget=args.budget)
    try:
        limits.validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.python and not (os.path.isfile(args.python) and os.access(args.python, os.X_OK)):
        raise UsageError(f"--python {args.python}: no such executable")
    if args.fail_under is not None and not (0 <= args.fail_under <= 1):
        raise UsageError(f"--fail-under must be a fraction between 0 and 1, not {args.fail_under!r}")
    if args.golden:
        from .. import golden as golden_fixtures

        try:
            golden_fixtures.load(args.golden)
        except Exception as exc:  # missing, truncated, altered or not a fixture file at all
            what = "not a golden fixture file (.npz)" if "pickled" in str(exc) or "zip" in str(exc).lower() else exc
            raise UsageError(f"--golden {args.golden}: {what}") from None
    return profile, limits


def _selected(profile, fmt, items):
    """Keep only the --item names (validated against the profile's items for the format)."""
    if not items:
        return profile
    from dataclasses import replace

    names = {i.name: p for i, p in profile.items(fmt)} if not profile.by_op else dict(profile.points)
    unknown = [i for i in items if i not in names]
    if unknown:
        raise UsageError(f"--item {unknown[0]}: not an item of the profile {profile.name} ({', '.join(names)})")
    return replace(profile, points={k: v for k, v in profile.points.items() if k in items})


def _print_graded(g: Graded) -> None:
    print(clean(g.header, 20000))
    print(table(g.scores))
    for s in g.scores:
        if s.cases and s.passed == s.cases and not s.notes:
            continue
        print(f"\n== {s.name}: {s.score:.2f} / {s.max_score:g}")
        print(item_text(s))


def _check_outputs(args) -> None:
    """--report, --html and --repro-dir can be written (checked before any grading)."""
    if args.report:
        _writable(args.report, "--report")
    if args.html:
        _writable(args.html, "--html")
    if args.repro_dir:
        if os.path.exists(args.repro_dir) and not os.path.isdir(args.repro_dir):
            raise UsageError(f"--repro-dir {args.repro_dir} is a file; give a folder")
        try:
            os.makedirs(args.repro_dir, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--repro-dir {args.repro_dir}: {exc.strerror}") from None
        if not os.access(args.repro_dir, os.W_OK):
            raise UsageError(f"--repro-dir {args.repro_dir}: the folder is not writable")


def _write_incomplete(path: str, max_score: float) -> None:
    """The report of an interrupted run: 0 of the full max_score, marked incomplete, never a grade."""
    write_json(path, {"score": 0.0, "max_score": max_score, "output": "INCOMPLETE: grading was interrupted; "
                      "this is not a grade", "output_format": "text", "stdout_visibility": "hidden",
                      "tests": [], "incomplete": True})


def _grade_one(args, profile, limits) -> int:
    target = args.submission
    looks_like_path = os.sep in target or target.endswith(".py") or target.startswith(".")
    if not os.path.exists(target) and looks_like_path:
        raise UsageError(f"{target}: no such file or folder")
    _check_outputs(args)
    try:
        interpreter = describe_interpreter(args.python)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    try:
        from .engine import plan

        the_plan, chosen = plan(target, args.format, profile)
        chosen = _selected(chosen, the_plan.format, args.item)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    try:
        g = grade(target, the_plan.format, limits, chosen, args.golden, seed, interpreter=interpreter, the_plan=the_plan,
                  minimal_cases=True)
    except KeyboardInterrupt:
        if args.report:
            _write_incomplete(args.report, sum(p for _, p in chosen.items(the_plan.format)))
        print("interrupted: no grade (the report is marked incomplete)", file=sys.stderr)
        return 130
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    if args.report:  # the report first: a terminal that goes away must not lose it
        write_json(args.report, gradescope(g.scores, clean(g.header, 20000), g.seconds))
    _write_student_report(g, args)
    _print_graded(g)
    if g.load_error or (g.scores and all(s.problem for s in g.scores)):
        return NOT_LOADED
    total, top = sum(s.score for s in g.scores), sum(s.max_score for s in g.scores)
    if args.fail_under is not None and top and total / top < args.fail_under:
        return BELOW
    return 0


def _write_student_report(g: Graded, args) -> None:
    """Each failing item's reproduction script, data and heat-maps (--repro-dir, else next to --html or --report)
    and the HTML page (--html); a failure to write them is said, the grade stands."""
    from .report.page import write_artifacts

    place = args.repro_dir or (os.path.dirname(os.path.abspath(args.html)) if args.html else
                               os.path.dirname(os.path.abspath(args.report)) if args.report else None)
    try:
        write_artifacts(g, place, args.html)
    except OSError as exc:
        print(f"could not write the student report files: {exc}", file=sys.stderr)


# --- folders ---------------------------------------------------------------------------------

def _grade_folder(args, profile, limits, argv) -> int:
    """Grade every hand-in of --folder (reference.grading.batch): results, summary.csv, summary.md, statistics."""
    from . import batch

    if not os.path.exists(args.folder):
        raise UsageError(f"--folder {args.folder}: no such folder")
    out = args.out or "grading-results"
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: {exc.strerror}") from None
    _writable(os.path.join(out, "summary.csv"), "--out")
    jobs = args.jobs if args.jobs is not None else cores()
    if jobs < 1:
        raise UsageError(f"-j must be at least 1, not {jobs}")
    try:
        shard = batch.parse_shard(args.shard) if args.shard is not None else None
        summary = batch.grade_folder(args.folder, out, jobs, _passthrough(argv), shard=shard, resume=args.resume,
                                     env=environment(share(jobs)))
    except (batch.BatchError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    rows = summary["rows"]
    graded = sum(r["status"] in ("graded", "resumed") and r["score"] != "" for r in rows)
    resumed = sum(r["status"] == "resumed" for r in rows)
    print(f"{len(rows)} hand-in{'s' * (len(rows) != 1)}: {graded} graded" + (f" ({resumed} from an earlier run)" if resumed else "")
          + f", {len(rows) - graded} not graded; results in {out}/ (summary.csv, summary.md)")
    for line in summary["problems"]:
        print(f"  {line}")
    if summary["runs"][-1].get("interrupted"):
        print(f"interrupted: {len(rows)} of {summary['runs'][-1]['hand_ins']} hand-ins done (in the summary); "
              "the same command with --resume grades the rest", file=sys.stderr)
        return 130
    return 0


def _passthrough(argv) -> list[str]:
    """The options a folder run hands to each hand-in's grading process."""
    skip_with_value = {"--folder", "--out", "-j", "--jobs", "--report", "--shard", "--html", "--repro-dir"}
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--resume":
            continue
        if a in skip_with_value:
            skip = True
            continue
        if a.split("=", 1)[0] in skip_with_value:
            continue
        out.append(a)
    return out


def _subcommand(name: str, argv: list[str]) -> int:
    """``bundle`` (reference.grading.bundle) and ``merge`` (reference.grading.batch), each with its own options."""
    prog = f"{_parser().prog} {name}"
    if name == "bundle":
        from .bundle import main as run
    else:
        from .batch import merge_main as run
    return run(argv, prog)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["bundle"], ["merge"]):  # a hand-in folder of that name: ./bundle
        return _subcommand(argv[0], argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):  # even where the shell started us with SIGINT ignored
        signal.signal(sig, signal.default_int_handler)
    try:
        profile, limits = _settings(args)
        if args.folder:
            if args.submission:
                raise UsageError("give a HAND-IN or --folder, not both")
            return _grade_folder(args, profile, limits, argv)
        if args.out:
            raise UsageError("--out goes with --folder (for one hand-in, use --report)")
        if args.jobs is not None:
            raise UsageError("-j goes with --folder")
        if args.shard is not None or args.resume:
            raise UsageError(f"{'--shard' if args.shard is not None else '--resume'} goes with --folder")
        if not args.submission:
            raise UsageError("give a HAND-IN or --folder")
        return _grade_one(args, profile, limits)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return USAGE


if __name__ == "__main__":
    sys.exit(main())
