"""Golden fixtures: a case grid frozen with torch's results, for grading where torch is not installed.

One compressed ``.npz`` holds the case definitions (JSON), torch's output and
gradients for each case, a SHA-256 of the inputs each case's seed regenerates
(so a changed random generator is caught), and a SHA-256 over everything.

    python -m reference.golden freeze golden.npz [--family conv ...] [--seed 0]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np

from . import sampling
from .cases import Case
from .harness import Oracle


def _inputs_digest(inputs: dict) -> str:
    h = hashlib.sha256()
    for name, a in inputs.items():
        h.update(name.encode())
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _regenerate(case: Case, seed: int, out_shape) -> tuple[dict, np.ndarray]:
    """The same draws as reference.harness.oracle: inputs, then the upstream gradient."""
    rng = np.random.default_rng(seed)
    inputs = sampling.draw_inputs(case, rng)
    return inputs, np.asarray(sampling.draw_upstream(rng, tuple(out_shape)), dtype=case.dtype)


def _digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest()


def freeze(path: str, cases: list[Case], base_seed: int = 0) -> str:
    """Compute torch's results for ``cases`` and write them to ``path``; returns the file's digest."""
    from .harness import oracle

    index, arrays = [], {}
    for i, case in enumerate(cases):
        ref = oracle(case, case.seed(base_seed))
        index.append({"id": case.id, "op": case.op, "shapes": {k: None if v is None else list(v) for k, v in case.shapes.items()},
                      "config": case.config, "dtype": case.dtype, "label": case.label, "inputs": case.inputs,
                      "grads": sorted(ref.grads), "inputs_sha256": _inputs_digest(ref.inputs)})
        arrays[f"{i}/out"] = ref.out
        arrays.update({f"{i}/d{n}": g for n, g in ref.grads.items()})
    arrays["index"] = np.frombuffer(json.dumps({"base_seed": base_seed, "cases": index}).encode(), dtype=np.uint8)
    digest = _digest(arrays)
    np.savez_compressed(path, sha256=np.frombuffer(digest.encode(), dtype=np.uint8), **arrays)
    return digest


def _tuples(value):
    """JSON's lists back to the tuples a Case holds (nested ones too)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def load(path: str) -> tuple[int, list[tuple[Case, Oracle]]]:
    """(base seed, [(case, frozen oracle)]) from a golden file; raises ValueError if it was altered."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    stored = arrays.pop("sha256").tobytes().decode()
    if _digest(arrays) != stored:
        raise ValueError(f"{path}: content does not match its SHA-256 (altered or truncated)")
    meta = json.loads(arrays["index"].tobytes().decode())
    frozen = []
    for i, entry in enumerate(meta["cases"]):
        config = {k: _tuples(v) for k, v in entry["config"].items()}
        case = Case(entry["op"], {k: None if v is None else tuple(v) for k, v in entry["shapes"].items()}, config,
                    entry["dtype"], entry["label"], entry["inputs"])
        if "id" in entry and case.id != entry["id"]:
            raise ValueError(f"{path}: case {i} was frozen as {entry['id']} but reads back as {case.id}")
        out = arrays[f"{i}/out"]
        inputs, upstream = _regenerate(case, case.seed(meta["base_seed"]), out.shape)
        if _inputs_digest(inputs) != entry["inputs_sha256"]:
            raise ValueError(f"{path}: inputs of {case.id} no longer regenerate from its seed (NumPy's generator changed?)")
        frozen.append((case, Oracle(inputs, upstream, out, {n: arrays[f"{i}/d{n}"] for n in entry["grads"]})))
    return meta["base_seed"], frozen


def _unwritable(path: str) -> str:
    """Why ``path`` cannot be written ('' when it can)."""
    import os

    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "is a directory; give a file name"
    if not os.path.isdir(folder):
        return f"the folder {folder} does not exist"
    if not os.access(folder, os.W_OK):
        return f"the folder {folder} is not writable"
    return ""


def main(argv=None) -> int:
    from .registry import SPECS, families

    p = argparse.ArgumentParser(prog="python -m reference.golden")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("freeze", help="freeze the default grid (or some families) with torch's results")
    f.add_argument("path")
    f.add_argument("--family", action="append", choices=families())
    f.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    problem = _unwritable(args.path)
    if problem:  # say it now, not after computing every case
        print(f"{p.prog}: error: {args.path}: {problem}", file=sys.stderr)
        return 2
    cases = [c for s in SPECS.values() if not args.family or s.family in args.family for c in s.grid(False)]
    digest = freeze(args.path, cases, args.seed)
    print(f"froze {len(cases)} cases into {args.path} (sha256 {digest[:16]}...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
