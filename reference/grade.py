"""Grade submissions: one, or a whole folder in parallel.

    python -m reference.grade SUBMISSION [--format auto|native|cs231n|mytorch] [--report results.json]
    python -m reference.grade --folder SUBMISSIONS --out RESULTS [-j 2]

A submission is a dotted module, a .py file, or a folder. It runs in a
sandboxed worker (reference.sandbox); only the cases its format can express
are graded. Each submission gets a Gradescope ``results.json`` (written by this
trusted process after the worker is gone) and the folder run a ``summary.csv``.
With ``--golden FILE`` the expected values come from frozen fixtures and torch
is not needed.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from .adapters import FORMATS, expressible
from .harness import run_case
from .registry import SPECS
from .sandbox import Limits, SandboxedImplementation
from .scoring import DEFAULT_RUBRIC, Rubric, gradescope, score, table, write_json


def grade(target: str, fmt: str = "auto", limits: Limits = Limits(), rubric: Rubric | None = None,
          golden: str | None = None, base_seed: int = 0, cases=None):
    """(op scores, case results, implementation) for one submission (``cases``: a subset of the grid)."""
    rubric = rubric or Rubric.load()
    impl = SandboxedImplementation(target, fmt, limits)
    try:
        if golden:
            from . import golden as golden_fixtures

            base_seed, frozen = golden_fixtures.load(golden)
        else:
            grid = cases if cases is not None else [c for op in rubric.points if op in SPECS for c in SPECS[op].grid(False)]
            frozen = [(c, None) for c in grid]
        results = []
        for case, ref in frozen:
            if case.op in rubric.points and expressible(impl.format, case.op, case.shapes, case.config) is None:
                results.append(run_case(case, impl, base_seed, reference=ref))
        return score(results, rubric), results, impl
    finally:
        impl.close()


def _grade_one(args) -> dict:
    target, out_dir, fmt, limits, rubric_path, golden = args
    name = os.path.basename(target.rstrip("/"))
    dest = os.path.join(out_dir, name)
    os.makedirs(dest, exist_ok=True)
    start = time.perf_counter()
    try:
        scores, _, impl = grade(target, fmt, limits, Rubric.load(rubric_path), golden)
        note = impl.load_error or f"graded as {impl.format}"
        data = gradescope(scores, note)
    except Exception as exc:  # a grader fault must not stop the folder run
        scores, data = [], {"score": 0, "max_score": 0, "output": f"grading failed: {type(exc).__name__}: {exc}", "tests": []}
    write_json(os.path.join(dest, "results.json"), data)
    with open(os.path.join(dest, "score-table.txt"), "w") as f:
        f.write(table(scores) + "\n")
    return {"submission": name, "score": data["score"], "max_score": data["max_score"],
            "seconds": round(time.perf_counter() - start, 1), "note": data["output"][:200],
            **{t["name"]: t["score"] for t in data["tests"]}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m reference.grade", description=__doc__.split("\n\n")[0])
    p.add_argument("submission", nargs="?", help="module, .py file or folder to grade")
    p.add_argument("--folder", help="grade every entry of this folder (each a submission)")
    p.add_argument("--out", default="grading-results", help="with --folder: where results go")
    p.add_argument("-j", "--jobs", type=int, default=2, help="with --folder: submissions graded at once")
    p.add_argument("--format", default="auto", choices=("auto",) + FORMATS)
    p.add_argument("--report", help="write Gradescope results.json here")
    p.add_argument("--rubric", default=DEFAULT_RUBRIC)
    p.add_argument("--golden", help="expected values from this frozen file (no torch needed)")
    p.add_argument("--time-limit", type=float, default=Limits.time, help="seconds per call (default 10)")
    p.add_argument("--memory-limit", type=float, default=Limits.memory / 2**30, help="GiB for the worker (default 4)")
    p.add_argument("--forbid-torch", action="store_true", help="fail submissions that import torch")
    args = p.parse_args(argv)
    limits = Limits(args.time_limit, int(args.memory_limit * 2**30), args.forbid_torch)
    if args.folder:
        entries = sorted(os.path.join(args.folder, e) for e in os.listdir(args.folder)
                         if not e.startswith((".", "__")) and (e.endswith(".py") or os.path.isdir(os.path.join(args.folder, e))))
        os.makedirs(args.out, exist_ok=True)
        jobs = [(e, args.out, args.format, limits, args.rubric, args.golden) for e in entries]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            rows = list(pool.map(_grade_one, jobs))
        ops = [op for op in Rubric.load(args.rubric).points]
        with open(os.path.join(args.out, "summary.csv"), "w", newline="") as f:
            writer = csv.DictWriter(f, ["submission", "score", "max_score", "seconds", *ops, "note"], restval="")
            writer.writeheader()
            writer.writerows(rows)
        for row in rows:
            print(f"{row['submission']:<32} {row['score']:>7.2f} / {row['max_score']:<6} {row['seconds']:>6}s  {row['note'][:60]}")
        print(f"{len(rows)} submissions graded; results in {args.out}/ (summary.csv)")
        return 0
    if not args.submission:
        p.error("give a SUBMISSION or --folder")
    scores, results, impl = grade(args.submission, args.format, limits, Rubric.load(args.rubric), args.golden)
    if impl.load_error:
        print(impl.load_error)
    print(table(scores))
    for s in scores:
        if s.pattern:
            print(f"\n{s.op}: {s.pattern}")
        for r in s.reports[:1]:
            print("\n" + r)
    if args.report:
        write_json(args.report, gradescope(scores, impl.load_error or f"graded as {impl.format}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
