"""The main job: verify an implementation (default: manual_grads) against torch.autograd.

    python -m reference.verify                    # every op, default grid
    python -m reference.verify --family conv --seed 3
    python -m reference.verify --op conv2d --full-grid

Prints one row per op (cases, failures, and per dtype the largest fraction of
the tolerance any element used: <= 1 passes) and the first
failure reports; exits 1 if any case failed. A case whose checking itself
breaks is reported as a harness error and the run goes on.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections import defaultdict

import numpy as np

from .harness import run_case
from .registry import SPECS, families


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m reference.verify", description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default="manual_grads", help="importable module under test (default: manual_grads)")
    p.add_argument("--op", action="append", choices=sorted(SPECS), help="only this op (repeatable)")
    p.add_argument("--family", action="append", choices=families(), help="only this family (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--full-grid", action="store_true", help="the large sweep")
    p.add_argument("--show", type=int, default=3, help="failure reports to print (default 3)")
    p.add_argument("--error-profile", action="store_true",
                   help="print the distribution of the tolerance fraction used, per dtype (tolerance calibration)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = _parse(argv)
    try:
        impl = importlib.import_module(args.impl)
    except Exception as exc:
        print(f"cannot import implementation {args.impl!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    specs = [s for s in SPECS.values() if (not args.op or s.name in args.op) and (not args.family or s.family in args.family)]
    rows, reports = [], []
    used = defaultdict(list)  # dtype -> fraction of tolerance used, per compared array
    start = time.perf_counter()
    for spec in specs:
        t0 = time.perf_counter()
        counts = defaultdict(int)
        worst = defaultdict(float)
        for case in spec.grid(args.full_grid):
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
        rows.append((spec.name, counts["cases"], counts["failed"], counts["harness errors"],
                     worst["float64"], worst["float32"], time.perf_counter() - t0))
    header = f"{'op':<26}{'cases':>7}{'failed':>8}{'harness':>9}{'tol used f64':>14}{'tol used f32':>14}{'seconds':>9}"
    print(f"verifying {args.impl} against torch.autograd (base seed {args.seed}, "
          f"{'full' if args.full_grid else 'default'} grid)")
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
    print(f"\n{total - sum(r[2] for r in rows)} passed, {failed} failed in {time.perf_counter() - start:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
