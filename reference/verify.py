"""The main job: verify an implementation (default: manual_grads) against torch.autograd.

    python -m reference.verify                    # every op, default grid
    python -m reference.verify --family conv --seed 3
    python -m reference.verify --op conv2d --full-grid

Prints one row per op (cases, failures, and per dtype the largest fraction of
the tolerance any element used: <= 1 passes) and the first
failure reports; exits 1 if any case failed, 2 for a bad option. A case whose
checking itself breaks is reported as a harness error and the run goes on. On a
terminal a progress bar shows ops done, cases per second and the time left;
Ctrl-C (or SIGTERM) stops the run and still prints the table of what finished.
``--impl`` takes an importable module or a path (a .py file, or a folder with
``__init__.py``) of an implementation you trust: it runs in this process (to
grade untrusted code, use ``python -m reference.grade``).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import signal
import sys
import time
from collections import defaultdict

import numpy as np

from .harness import run_case
from .registry import SPECS, families


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m reference.verify", description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default="manual_grads",
                   help="module or path (.py file, package folder) under test, run in this process (default: manual_grads)")
    p.add_argument("--op", action="append", choices=sorted(SPECS), help="only this op (repeatable)")
    p.add_argument("--family", action="append", choices=families(), help="only this family (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--full-grid", action="store_true", help="the large sweep")
    p.add_argument("--show", type=int, default=3, help="failure reports to print (default 3)")
    p.add_argument("--list-cases", action="store_true", help="print the grid as a table (op, dtype, inputs, shapes, options) and stop")
    p.add_argument("--error-profile", action="store_true",
                   help="print the distribution of the tolerance fraction used, per dtype (tolerance calibration)")
    return p.parse_args(argv)


def _import(target: str):
    """A module by name, or from a path: a .py file or a package folder."""
    if not os.path.exists(target):
        return importlib.import_module(target)
    path = os.path.abspath(target)
    if os.path.isdir(path):
        path = os.path.join(path, "__init__.py")
        if not os.path.exists(path):
            raise ImportError(f"{target} is a folder without __init__.py; give the module's .py file")
    name = os.path.basename(os.path.dirname(path) if path.endswith("__init__.py") else path[:-3])
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=[os.path.dirname(path)]
                                                  if path.endswith("__init__.py") else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _list_cases(specs, full: bool) -> int:
    """The grid as a table: one line per case, its id's parts in columns."""
    print(f"{'op':<26}{'dtype':<9}{'inputs':<10}{'shapes':<44}options")
    count = 0
    for spec in specs:
        for case in spec.grid(full):
            shapes = ", ".join(f"{k}{tuple(v)}" if v is not None else f"{k}-" for k, v in case.shapes.items())
            options = ", ".join(f"{k}={v!r}" for k, v in case.config.items())
            print(f"{case.op:<26}{case.dtype:<9}{case.inputs:<10}{shapes:<44}{options}")
            count += 1
    print(f"{count} cases")
    return 0


def _progress(total: int, enabled: bool):
    """A tqdm bar of cases (quiet when not on a terminal or when tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is None or not enabled:
        class Quiet:
            def update(self, n=1): pass
            def set_postfix_str(self, s): pass
            def close(self): pass
        return Quiet()
    return tqdm(total=total, unit="case", file=sys.stderr, dynamic_ncols=True, leave=False)


def main(argv=None) -> int:
    args = _parse(argv)
    try:
        impl = _import(args.impl)
    except Exception as exc:
        print(f"python -m reference.verify: error: --impl {args.impl}: cannot import it: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C and kill stop the run but keep the finished table
        signal.signal(sig, signal.default_int_handler)
    specs = [s for s in SPECS.values() if (not args.op or s.name in args.op) and (not args.family or s.family in args.family)]
    if args.list_cases:
        try:
            return _list_cases(specs, args.full_grid)
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    rows, reports = [], []
    used = defaultdict(list)  # dtype -> fraction of tolerance used, per compared array
    start = time.perf_counter()
    grids = {spec.name: spec.grid(args.full_grid) for spec in specs}
    print(f"verifying {args.impl} against torch.autograd (base seed {args.seed}, "
          f"{'full' if args.full_grid else 'default'} grid)", flush=True)  # (also: the run has started)
    bar = _progress(sum(map(len, grids.values())), sys.stderr.isatty())
    interrupted = False
    try:
        _run(specs, grids, impl, args, rows, reports, used, bar)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    code = _print(args, rows, reports, used, start, interrupted)
    if interrupted:
        print(f"interrupted: {len(rows)} of {len(specs)} ops finished (the last row may be partial); no verdict",
              file=sys.stderr)
        return 130
    return code


def _run(specs, grids, impl, args, rows, reports, used, bar) -> None:
    """Verify every op's cases, appending one row per op as it finishes (a partial row when interrupted)."""
    for spec in specs:
        t0 = time.perf_counter()
        counts = defaultdict(int)
        worst = defaultdict(float)
        try:
            _verify_op(grids[spec.name], impl, args, counts, worst, reports, used, bar)
        finally:
            rows.append((spec.name, counts["cases"], counts["failed"], counts["harness errors"],
                         worst["float64"], worst["float32"], time.perf_counter() - t0))
        bar.set_postfix_str(f"{len(rows)}/{len(specs)} ops")


def _verify_op(grid, impl, args, counts, worst, reports, used, bar) -> None:
    """Run one op's cases, counting failures and the tolerance used."""
    for case in grid:
        try:
            result = run_case(case, impl, args.seed)
        except Exception as exc:  # the oracle side broke: a harness bug, not the implementation's
            counts["harness errors"] += 1
            reports.append(f"{case.id}: harness error {type(exc).__name__}: {exc}")
            continue
        counts["cases"] += 1
        counts["failed"] += not result.ok
        if not result.ok:
            reports.append(result.report())
        for c in result.checks:
            worst[case.dtype] = max(worst[case.dtype], c.tolerance_used)
            if c.total:
                used[case.dtype].append(c.tolerance_used)
        bar.update()


def _print(args, rows, reports, used, start, interrupted: bool = False) -> int:
    header = f"{'op':<26}{'cases':>7}{'failed':>8}{'harness':>9}{'tol used f64':>14}{'tol used f32':>14}{'seconds':>9}"
    print(header)
    print("-" * len(header))
    for name, n, failed, errors, w64, w32, secs in rows:
        print(f"{name:<26}{n:>7}{failed:>8}{errors:>9}{w64:>14.2e}{w32:>14.2e}{secs:>9.2f}")
    total = sum(r[1] for r in rows)
    failed = sum(r[2] + r[3] for r in rows)
    for report in reports[: args.show]:
        print("\n" + report)
    if len(reports) > args.show:
        print(f"\n... and {len(reports) - args.show} more failures (use --show N)")
    if args.error_profile:
        print("\nfraction of the tolerance used by the worst element of each compared array:")
        for dtype, values in sorted(used.items()):
            q = np.quantile(values, [0.5, 0.9, 0.99, 0.999, 1.0])
            print(f"  {dtype}: {len(values)} arrays; median {q[0]:.2e}, p90 {q[1]:.2e}, p99 {q[2]:.2e}, "
                  f"p99.9 {q[3]:.2e}, max {q[4]:.2e}")
    counts = f"{total - sum(r[2] for r in rows)} passed, {failed} failed"
    if interrupted:
        print(f"\nINTERRUPTED after {time.perf_counter() - start:.1f}s: so far {counts}")
    else:
        print(f"\n{counts} in {time.perf_counter() - start:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
