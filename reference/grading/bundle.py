"""A Gradescope autograder that grades without torch: build it here, run it in Gradescope's container.

    python -m reference.grade bundle --profile 11785-hw2p1 --out autograder.zip [--seed N] [--python-version 3.10]

:func:`build` writes a zip in Gradescope's autograder format (``setup.sh`` and ``run_autograder`` at
its root; Gradescope unpacks it into ``/autograder/source``):

* ``wheels/``: this package's wheel, built with ``pip wheel --no-deps --no-build-isolation`` from a
  copy of the checkout, and wheels of its dependencies (NumPy, threadpoolctl, tqdm, PyYAML) and of
  the packages the profile lets hand-in code import (``allow = ["scipy"]``), fetched with ``pip
  download`` for this Python (or ``--python-version``). No torch.
* ``golden.npz``: torch's results for every case the profile can grade (:func:`freeze_profile`,
  with reference.golden's SHA-256 checks), frozen here, with torch, so the container never needs it.
* ``bundle.json``: the profile, the fixtures' digest and what was bundled; the profile's TOML file
  when it is not a shipped one.
* ``setup.sh`` installs the wheels without a network (``pip install --no-index --find-links
  wheels``; from the package index only when they do not fit the container's Python) into a venv,
  or into ``$PYTHON``, then checks the fixtures (``python -m reference.grading.bundle check``).
* ``run_autograder`` runs ``python -m reference.grading.bundle run``: grade
  ``$AUTOGRADER_ROOT/submission`` (default ``/autograder``; a lone archive in it is unpacked
  safely) with ``--golden``, and write ``$AUTOGRADER_ROOT/results/results.json`` — always: when
  grading itself fails, a results.json with score 0 that says so.

``python -m reference.grading.bundle freeze golden.npz --profile P`` writes the fixtures alone, for
``--folder ... --golden golden.npz`` on a staff machine without torch.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

from .course_grids import item_grid
from .formats import FORMATS, Binding
from .profiles import Profile, ProfileError

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout
PACKAGES = ("manual_grads", "reference")
TOP_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in", "README.md", "LICENSE")
DISTRIBUTION = "cnn-gradcheck"
GLIBC = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_27_x86_64", "manylinux_2_28_x86_64",
         "manylinux_2_31_x86_64", "manylinux_2_34_x86_64", "manylinux_2_35_x86_64")
TIMEOUT = 600

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: it installs NumPy and the
# grader (cnn-gradcheck) from the wheels beside it -- no torch: expected values come from golden.npz.
#   PYTHON=/path/to/python   install into that interpreter (e.g. an existing venv), not a new venv
#   AUTOGRADER_ROOT=/path    the autograder folder (default /autograder); the new venv is $AUTOGRADER_ROOT/venv
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
if [ -n "${PYTHON:-}" ]; then
  PY="$PYTHON"
else
  if ! python3 -m venv "$ROOT/venv" 2>/dev/null; then
    echo "setup.sh: installing python3-venv" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-venv python3-pip
    python3 -m venv "$ROOT/venv"
  fi
  PY="$ROOT/venv/bin/python"
fi
if [ -d "$HERE/wheels" ] && "$PY" -m pip install --no-index --find-links "$HERE/wheels" -r "$HERE/requirements.txt"; then
  echo "setup.sh: installed from the bundled wheels"
else
  echo "setup.sh: the bundled wheels do not fit $("$PY" -V 2>&1); installing from the package index" >&2
  "$PY" -m pip install --find-links "$HERE/wheels" -r "$HERE/requirements.txt"
fi
"$PY" -c 'import sys; print(sys.executable)' > "$HERE/python.txt"
"$PY" -m reference.grading.bundle check --source "$HERE"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission (from /autograder/run_autograder): grade
# $AUTOGRADER_ROOT/submission (default /autograder/submission) without torch and write
# $AUTOGRADER_ROOT/results/results.json.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
PY="$(cat "$SOURCE/python.txt" 2>/dev/null || command -v python3)"
mkdir -p "$ROOT/results"
cd "$ROOT"
"$PY" -m reference.grading.bundle run --root "$ROOT"
if [ ! -s "$ROOT/results/results.json" ]; then
  printf '%s\n' '{"score": 0.0, "output": "The autograder could not run (its Python or packages are missing); this is not a grade. Please tell the course staff.", "output_format": "text", "stdout_visibility": "hidden", "tests": []}' > "$ROOT/results/results.json"
fi
"""


class BundleError(Exception):
    """The bundle cannot be built (bad profile, no checkout, no torch, pip failed): one line."""


# --- the fixtures ----------------------------------------------------------------------------------

def profile_cases(profile: Profile, fmt: str | None = None) -> list:
    """Every case the profile can grade in ``fmt`` (default: its format), whatever a hand-in's classes take.

    A grid can depend on the class a hand-in wrote (an 11-785 ``Conv1d`` with or without ``padding``),
    so each item's grid is taken for both kinds of binding; cases shared by items are kept once.
    """
    fmt = fmt or profile.format
    if fmt not in FORMATS:
        raise ProfileError(f"the profile {profile.name} names no format; give one")
    profile = profile.completed_for(fmt)
    cases = {}
    for item, _ in profile.items(fmt):
        for binding in (None, Binding(item.name)):
            for case in item_grid(fmt, item, binding, profile.dtypes):
                cases.setdefault(case.id, case)
    return list(cases.values())


def freeze_profile(path: str, profile: Profile | str, base_seed: int = 0, fmt: str | None = None) -> tuple[str, int]:
    """Freeze torch's results for every case of ``profile`` (a Profile, shipped name or TOML file) into
    ``path`` (reference.golden); returns (the file's SHA-256, the number of cases). Needs torch."""
    from .. import golden

    if isinstance(profile, str):
        profile = Profile.load(profile)
    cases = profile_cases(profile, fmt)
    return golden.freeze(path, cases, base_seed), len(cases)


# --- building ----------------------------------------------------------------------------------------

def _run(cmd: list[str], what: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"{what}: {exc}") from None
    if done.returncode != 0:
        tail = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()][-1:]
        raise BundleError(f"{what} failed (exit {done.returncode}): {tail[0] if tail else 'no output'}")
    return done


def _snapshot(dest: str) -> str:
    """A copy of the checkout's packaging files and packages (no build/, caches or results)."""
    if not os.path.isfile(os.path.join(PACKAGE_DIR, "pyproject.toml")):
        raise BundleError(f"bundle builds this package's wheel from its source checkout, and {PACKAGE_DIR} is not one "
                          "(no pyproject.toml): run it from a clone of the repository")
    os.makedirs(dest)
    for name in TOP_FILES:
        if os.path.isfile(os.path.join(PACKAGE_DIR, name)):
            shutil.copy2(os.path.join(PACKAGE_DIR, name), dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for package in PACKAGES:
        shutil.copytree(os.path.join(PACKAGE_DIR, package), os.path.join(dest, package), ignore=ignore)
    return dest


def _wheel(work: str, wheels: str) -> str:
    source = _snapshot(os.path.join(work, "source"))
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", wheels]
    try:
        _run(pip_wheel + ["--no-build-isolation", "--no-index", source], "pip wheel (this package)")
    except BundleError:  # the build backend (setuptools) is not installed here: let pip fetch it
        _run(pip_wheel + [source], "pip wheel (this package, isolated build)")
    found = [f for f in os.listdir(wheels) if f.startswith(DISTRIBUTION.replace("-", "_")) and f.endswith(".whl")]
    if len(found) != 1:
        raise BundleError(f"pip wheel left {found or 'no wheel'} in {wheels}")
    return os.path.join(wheels, found[0])


def _download(wheel: str, allow: tuple[str, ...], wheels: str, python_version: str | None) -> None:
    """Wheels of the package's dependencies and the allowed packages, for this Python or ``python_version``."""
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", wheels, wheel, *allow]
    if python_version:
        digits = python_version.replace(".", "")
        cmd += ["--python-version", python_version, "--implementation", "cp", "--abi", f"cp{digits}", "--abi", "abi3",
                "--abi", "none"] + [a for p in GLIBC for a in ("--platform", p)]
    _run(cmd, "pip download (NumPy and the allowed packages)")


def requirements(profile: Profile, version: str = "") -> list[str]:
    """What setup.sh installs: this package (``version``: the bundled wheel's) and the profile's allowed packages."""
    return [f"{DISTRIBUTION}=={version}" if version else DISTRIBUTION, *profile.allow]


def _torch_version() -> str:
    try:
        import torch
    except ImportError:
        raise BundleError("bundle freezes the expected values with torch, which this interpreter lacks "
                          f"({sys.executable}); run it where torch is installed (scripts/setup.sh)") from None
    return torch.__version__


def build(profile_arg: str, out: str, seed: int | None = None, fmt: str | None = None, python_version: str | None = None,
          wheels: bool = True, grade_options: list[str] | None = None, log=print) -> dict:
    """Write the autograder zip ``out`` for ``profile_arg`` (a shipped name or a TOML file); returns bundle.json's dict."""
    try:
        profile = Profile.load(profile_arg)
        fmt = fmt or profile.format
        if fmt is None:
            raise ProfileError(f"{profile.name} is a plain [ops] rubric: give --format (native, cs231n or mytorch)")
        if profile.format and fmt != profile.format:
            raise ProfileError(f"the profile {profile.name} is for {profile.format} hand-ins, not {fmt}")
        profile = profile.completed_for(fmt)
    except ProfileError as exc:
        raise BundleError(f"--profile: {exc}") from None
    torch_version = _torch_version()
    import numpy

    seed = seed if seed is not None else int.from_bytes(os.urandom(4), "little") % 2**31
    work = tempfile.mkdtemp(prefix="gradcheck-bundle-")
    try:
        stage = os.path.join(work, "bundle")
        os.makedirs(os.path.join(stage, "wheels"))
        log(f"building the wheel of {DISTRIBUTION} from {PACKAGE_DIR}")
        wheel = _wheel(work, os.path.join(stage, "wheels"))
        if wheels:
            log(f"fetching wheels of NumPy and its company{' and ' + ', '.join(profile.allow) if profile.allow else ''}"
                f" for Python {python_version or '%d.%d' % sys.version_info[:2]}")
            _download(wheel, profile.allow, os.path.join(stage, "wheels"), python_version)
        log(f"freezing the {fmt} grid of {profile.name} with torch {torch_version} (base seed {seed})")
        digest, count = freeze_profile(os.path.join(stage, "golden.npz"), profile, seed, fmt)
        if profile.source:
            os.makedirs(os.path.join(stage, "profile"))
            shutil.copy2(profile.source, os.path.join(stage, "profile", os.path.basename(profile.source)))
            profile_ref = f"profile/{os.path.basename(profile.source)}"
        else:
            profile_ref = profile.name
        info = {"format": 1, "profile": profile_ref, "profile_is_file": bool(profile.source), "hand_in_format": fmt,
                "title": profile.title, "items": [i.name for i, _ in profile.items(fmt)],
                "points": sum(p for _, p in profile.items(fmt)), "golden": "golden.npz", "golden_sha256": digest,
                "cases": count, "base_seed": seed, "allow": list(profile.allow), "grade_options": grade_options or [],
                "wheels": sorted(os.listdir(os.path.join(stage, "wheels"))),
                "built": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "built_with": {"python": "%d.%d.%d" % sys.version_info[:3], "torch": torch_version,
                               "numpy": numpy.__version__}}
        files = {"setup.sh": SETUP_SH, "run_autograder": RUN_AUTOGRADER,
                 "requirements.txt": "\n".join(requirements(profile, os.path.basename(wheel).split("-")[1])) + "\n",
                 "bundle.json": json.dumps(info, indent=2) + "\n"}
        for name, text in files.items():
            with open(os.path.join(stage, name), "w") as f:
                f.write(text)
        _zip(stage, out)
        info["size"] = os.path.getsize(out)
        log(f"wrote {out}: {info['size'] / 2**20:.1f} MiB, {count} cases of {len(info['items'])} items, "
            f"{len(info['wheels'])} wheels (golden sha256 {digest[:16]}...)")
        return info
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _zip(stage: str, out: str) -> None:
    """The staged folder as a zip with its files at the root (setup.sh and run_autograder executable)."""
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as zf:
        for folder, dirs, files in os.walk(stage):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, stage).replace(os.sep, "/")
                info = zipfile.ZipInfo(rel, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (0o100755 if name in ("setup.sh", "run_autograder") else 0o100644) << 16
                info.compress_type = zipfile.ZIP_STORED if name.endswith((".whl", ".npz")) else zipfile.ZIP_DEFLATED
                with open(path, "rb") as f:
                    zf.writestr(info, f.read())
    os.replace(tmp, out)


def main(argv: list[str], prog: str = "python -m reference.grade bundle") -> int:
    """``bundle --profile P --out autograder.zip``: build a Gradescope autograder (see the module's docstring)."""
    p = argparse.ArgumentParser(prog=prog, description="Build a Gradescope autograder zip that grades hand-ins of a "
                                                       "profile without torch (expected values frozen here).")
    p.add_argument("--profile", required=True, help="a shipped profile name or a TOML file")
    p.add_argument("--out", default="autograder.zip", help="the zip to write (default autograder.zip)")
    p.add_argument("--format", choices=FORMATS, help="the hand-ins' format, for a plain [ops] rubric")
    p.add_argument("--seed", type=int, default=None, help="base seed of the frozen inputs (default: a fresh random one)")
    p.add_argument("--python-version", help="fetch wheels for this Python of the container (e.g. 3.10; default: this "
                                            "one); setup.sh falls back to the package index when they do not fit")
    p.add_argument("--no-wheels", action="store_true", help="bundle only this package's wheel; setup.sh installs "
                                                            "NumPy and the rest from the package index")
    p.add_argument("--time-limit", type=float, default=None, help="seconds per call in the container (default 10)")
    p.add_argument("--memory-limit", type=float, default=None, help="GiB for the worker in the container (default 4)")
    args = p.parse_args(argv)
    options = []
    for flag, value in (("--time-limit", args.time_limit), ("--memory-limit", args.memory_limit)):
        if value is not None:
            if not (value > 0 and value < float("inf")):
                print(f"{prog}: error: {flag} must be a positive number, not {value!r}", file=sys.stderr)
                return 2
            options += [flag, repr(value)]
    if args.python_version and not all(part.isdigit() for part in args.python_version.split(".")[:2]):
        print(f"{prog}: error: --python-version must look like 3.10, not {args.python_version!r}", file=sys.stderr)
        return 2
    folder = os.path.dirname(os.path.abspath(args.out))
    if os.path.isdir(args.out) or not os.path.isdir(folder):
        print(f"{prog}: error: --out {args.out}: give a file name in an existing folder", file=sys.stderr)
        return 2
    try:
        build(args.profile, args.out, args.seed, args.format, args.python_version, not args.no_wheels, options)
    except BundleError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    return 0


# --- inside the container ------------------------------------------------------------------------------

def _config(source: str) -> dict:
    with open(os.path.join(source, "bundle.json")) as f:
        return json.load(f)


def check(source: str) -> str:
    """What setup.sh checks: the fixtures load (SHA-256) and cover the profile's grid. Returns a one-line summary."""
    from .. import golden

    info = _config(source)
    profile_ref = os.path.join(source, info["profile"]) if info.get("profile_is_file") else info["profile"]
    profile = Profile.load(profile_ref)
    _, frozen = golden.load(os.path.join(source, info["golden"]))
    have = {c.id for c, _ in frozen}
    missing = [c.id for c in profile_cases(profile, info["hand_in_format"]) if c.id not in have]
    if missing:
        raise ValueError(f"golden.npz lacks {len(missing)} cases of the profile {profile.name}, e.g. {missing[0]}")
    import numpy

    return (f"bundle ready: profile {profile.name} ({len(info['items'])} items, {info['points']:g} points), "
            f"{len(frozen)} frozen cases, NumPy {numpy.__version__}, Python {'%d.%d.%d' % sys.version_info[:3]}")


def _target(submission: str, scratch: str) -> str:
    """What to grade in Gradescope's submission folder: the folder, or the one archive it holds, unpacked safely."""
    from .batch import archive_suffix, unpack

    inside = [e for e in os.listdir(submission) if not e.startswith(".") and e != "__MACOSX"]
    if len(inside) == 1 and archive_suffix(inside[0]) and os.path.isfile(os.path.join(submission, inside[0])):
        return unpack(os.path.join(submission, inside[0]), os.path.join(scratch, "submission"))
    return submission


def _fallback(path: str, why: str, points: float) -> None:
    from .scoring import write_json

    write_json(path, {"score": 0.0, "max_score": points, "output": f"The autograder could not grade this submission: "
                      f"{why}\nThis is not a grade; please tell the course staff.", "output_format": "text",
                      "stdout_visibility": "hidden", "tests": []})


def run_autograder(root: str) -> int:
    """Grade ``root``/submission with the bundle in ``root``/source and write ``root``/results/results.json."""
    from .batch import UnpackError
    from .cli import main as grade_main
    from .sandbox import clean

    source, results = os.path.join(root, "source"), os.path.join(root, "results")
    os.makedirs(results, exist_ok=True)
    report = os.path.join(results, "results.json")
    if os.path.exists(report):
        os.unlink(report)
    info = _config(source)
    scratch = tempfile.mkdtemp(prefix="gradcheck-submission-")
    try:
        try:
            target = _target(os.path.join(root, "submission"), scratch)
        except (UnpackError, OSError) as exc:
            _fallback(report, f"the uploaded archive cannot be used: {clean(exc, 300)}", info["points"])
            return 0
        profile = os.path.join(source, info["profile"]) if info.get("profile_is_file") else info["profile"]
        args = [target, "--profile", profile, "--golden", os.path.join(source, info["golden"]), "--report", report,
                *info.get("grade_options", [])]
        print("grading:", " ".join(args), flush=True)
        try:
            code = grade_main(args)
        except Exception as exc:  # the grader itself failed: say so in results.json, never leave Gradescope without one
            import traceback

            traceback.print_exc()
            _fallback(report, f"the grader failed ({type(exc).__name__}: {clean(exc, 300)})", info["points"])
            return 1
        if not os.path.exists(report):
            _fallback(report, f"the grader stopped (exit code {code}) without a report", info["points"])
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def container_main(argv: list[str] | None = None) -> int:
    """``run --root R`` (run_autograder), ``check --source S`` (setup.sh) and ``freeze PATH --profile P``
    (golden fixtures of a profile, for ``--folder ... --golden PATH`` on a machine without torch)."""
    p = argparse.ArgumentParser(prog="python -m reference.grading.bundle")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("freeze", help="freeze every case of a profile with torch's results (needs torch)")
    f.add_argument("path")
    f.add_argument("--profile", required=True, help="a shipped profile name or a TOML file")
    f.add_argument("--format", choices=FORMATS, help="the hand-ins' format, for a plain [ops] rubric")
    f.add_argument("--seed", type=int, default=0, help="base seed of the frozen inputs (default 0)")
    r = sub.add_parser("run", help="grade ROOT/submission into ROOT/results/results.json")
    r.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    c = sub.add_parser("check", help="check the bundle's fixtures and profile")
    c.add_argument("--source", default=os.path.join(os.environ.get("AUTOGRADER_ROOT", "/autograder"), "source"))
    args = p.parse_args(argv)
    if args.cmd == "run":
        return run_autograder(args.root)
    if args.cmd == "freeze":
        try:
            digest, count = freeze_profile(args.path, args.profile, args.seed, args.format)
        except (ProfileError, ImportError) as exc:
            print(f"{p.prog} freeze: error: {exc}", file=sys.stderr)
            return 2
        print(f"froze {count} cases of {args.profile} into {args.path} (sha256 {digest[:16]}...)")
        return 0
    try:
        print(check(args.source))
    except (OSError, ValueError, KeyError, ProfileError) as exc:
        print(f"bundle check failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(container_main())
