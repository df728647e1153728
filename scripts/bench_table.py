"""Markdown table from a pytest-benchmark JSON file: op, shape, manual ms, torch ms, ratio, GFLOP/s, and
manual_grads' throughput as a share of NumPy's own GEMM.

    python -m pytest --benchmark-only --benchmark-json bench.json
    python scripts/bench_table.py bench.json [more.json ...] [--out docs/benchmarks.md]

Times are the median of the rounds; the ratio is manual / torch from the same run
(< 1: manual_grads is faster). The last lines are the geometric mean of the ratios and NumPy's own
GEMM throughput in the same run — at 2048³ (the ``numpy_gemm`` benchmark) and, for each convolution, on
its own three products with the columns built in advance (``side == "numpy"`` in its group) — with the
shares manual_grads reaches on the largest convolutions (at least half the FLOPs of the largest benchmark).
Given several runs' JSON files, the table is the last run's, and a line lists every
run's geometric mean, to show how much the machine's noise moves it.
"""
import argparse
import json
import math
import platform
from collections import defaultdict


def side_by_side(data: dict) -> dict:
    """{(op, shape): {side: (median seconds, GFLOP)}}."""
    rows = defaultdict(dict)
    for b in data["benchmarks"]:
        info = b["extra_info"]
        rows[(info["op"], info["shape"])][info["side"]] = (b["stats"]["median"], info.get("gflop"))
    return rows


def geometric_mean(data: dict) -> float:
    ratios = [s["manual"][0] / s["torch"][0] for s in side_by_side(data).values() if {"manual", "torch"} <= set(s)]
    return math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else float("nan")


def gemm_rate(data: dict) -> float | None:
    """GFLOP/s of NumPy's own 2048³ GEMM in this run (the ``numpy_gemm`` benchmark), if it ran."""
    for (op, _), sides in side_by_side(data).items():
        if op == "numpy_gemm" and "numpy" in sides:
            seconds, gflop = sides["numpy"]
            return gflop / seconds
    return None


def largest(data: dict) -> list[tuple[str, str]]:
    """The benchmarks with at least half the FLOPs of the largest one (op, shape), largest first."""
    flops = {key: s["manual"][1] for key, s in side_by_side(data).items() if "manual" in s and s["manual"][1]}
    top = max(flops.values(), default=0)
    return sorted((key for key, f in flops.items() if f >= top / 2), key=lambda key: -flops[key])


def gemm_shares(data: dict) -> dict[tuple[str, str], tuple[float, float | None]]:
    """For the largest benchmarks: (manual GFLOP/s over NumPy's 2048³ GEMM GFLOP/s, NumPy's GEMM on the
    benchmark's own products over the same — None where they were not timed); empty without the 2048³ yardstick."""
    rate, rows = gemm_rate(data), side_by_side(data)
    if not rate:
        return {}
    shares = {}
    for key in largest(data):
        seconds, gflop = rows[key]["manual"]
        own = rows[key].get("numpy")
        shares[key] = (gflop / seconds / rate, own[1] / own[0] / rate if own else None)
    return shares


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def table(data: dict) -> str:
    rows = side_by_side(data)
    rate_numpy = gemm_rate(data)
    lines = ["| op | shape | manual ms | torch ms | manual / torch | manual GFLOP/s | torch GFLOP/s "
             "| manual / NumPy GEMM 2048³ | manual / NumPy GEMM, same products |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ratios = []
    for (op, shape), sides in rows.items():
        if not {"manual", "torch"} <= set(sides):
            continue
        (m, gflop), (t, _) = sides["manual"], sides["torch"]
        ratios.append(m / t)
        rate = lambda s, gflop=gflop: f"{gflop / s:.1f}" if gflop else "–"  # noqa: E731
        share = _percent(gflop / m / rate_numpy if gflop and rate_numpy else None)
        same = _percent(sides["numpy"][0] / m if "numpy" in sides else None)
        lines.append(f"| {op} | {shape} | {1e3 * m:.2f} | {1e3 * t:.2f} | {m / t:.2f} | {rate(m)} | {rate(t)} | {share} | {same} |")
    geo = math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else float("nan")
    machine = data.get("machine_info", {})
    lines.append("")
    lines.append(f"Geometric mean of manual / torch over {len(ratios)} shapes: **{geo:.2f}** "
                 f"(float32, forward + backward, median of rounds; {machine.get('cpu', {}).get('brand_raw', platform.processor())}, "
                 f"{data.get('datetime', '')[:10]}).")
    if rate_numpy:
        lines.append("")
        lines.append(f"NumPy's own float32 GEMM (2048³, every core) in the same run: {rate_numpy:.0f} GFLOP/s. "
                     "Share of it reached on the largest convolutions (at least half the FLOPs of the largest) by "
                     "manual_grads, and in brackets by NumPy's GEMM on the convolution's own products: "
                     + ", ".join(f"{op} {shape} **{mine:.0%}** ({_percent(own)})"
                                 for (op, shape), (mine, own) in gemm_shares(data).items()) + ".")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("json", nargs="+", help="pytest-benchmark JSON files; the table is the last one's")
    p.add_argument("--out")
    args = p.parse_args()
    runs = []
    for path in args.json:
        try:
            with open(path) as f:
                run = json.load(f)
            if not isinstance(run, dict) or not isinstance(run.get("benchmarks"), list):
                raise ValueError("no 'benchmarks' list")
        except (OSError, ValueError) as e:
            p.error(f"{path} is not a readable pytest-benchmark JSON file ({type(e).__name__}: {e})")
        runs.append(run)
    text = table(runs[-1])
    if len(runs) > 1:
        text += (f"\n\nGeometric means of {len(runs)} runs one after another (the last is the table's): "
                 + ", ".join(f"{geometric_mean(r):.2f}" for r in runs) + ".")
        shares = [gemm_shares(r) for r in runs]
        keys = list(shares[-1])
        if keys and all(set(keys) <= set(s) for s in shares):
            text += ("\n\nShares of NumPy's 2048³ GEMM reached by manual_grads in each run ("
                     + ", ".join(shape for _, shape in keys) + "): "
                     + "; ".join(" / ".join(f"{s[key][0]:.0%}" for key in keys) for s in shares) + ".")
    if args.out:
        with open(args.out, "w") as f:
            source = "`python -m pytest --benchmark-only --benchmark-json bench.json`"
            if len(runs) > 1:
                source = f"{len(runs)} runs of {source}, one after another"
            f.write("# Benchmarks: manual_grads vs torch (CPU)\n\nGenerated by `scripts/bench_table.py` from "
                    + source + ".\n\n" + text + "\n")
    print(text)


if __name__ == "__main__":
    main()
