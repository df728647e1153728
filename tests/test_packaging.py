"""A normal (non-editable) install can grade.

Builds the wheel, checks what it ships (every module of the packages, the course profiles, the worker
that the sandbox starts by path, the console scripts), installs it into a fresh venv and grades a
hand-in with ``gradcheck-grade`` from a folder outside the checkout, with the checkout on no path.

The venv is made with ``--system-site-packages`` so that NumPy and torch come from this interpreter
without a network. That interpreter may hold an editable install of this project, whose import hook
(setuptools' ``__editable___*_finder``) would quietly serve from the checkout any module the wheel
lacks; so the test checks that what the venv imports comes from the venv's own site-packages.

The wheel is built from a snapshot of the checkout in a temporary folder, not in place: an in-tree
build writes build/ and *.egg-info into the checkout, and a stale build/lib could hide a missing file.
"""
from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HAND_IN = REPO / "tests" / "submissions" / "cs231n_bare_layers_numpy2"
PACKAGES = ("manual_grads", "reference")
SCRIPTS = {
    "gradcheck-verify": "reference.verify:main",
    "gradcheck-grade": "reference.grading.cli:main",
    "gradcheck-golden": "reference.golden:main",
}
SNAPSHOT_IGNORE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", ".benchmarks",
    "grading-results", "results", "results.json", ".venv", "venv", "*.pyc",
)
TIMEOUT = 180

# Run by the venv's python: where the project's packages, the profiles and the worker come from.
PROBE = r"""
import importlib, json, os, sys, sysconfig
out = {"purelib": os.path.realpath(sysconfig.get_path("purelib")), "prefix": sys.prefix,
       "path": [os.path.realpath(p or os.getcwd()) for p in sys.path], "modules": {}}
for name in sys.argv[1:]:
    out["modules"][name] = os.path.realpath(importlib.import_module(name).__file__)
from reference.grading import profiles, sandbox
out["profiles_dir"] = os.path.realpath(profiles.PROFILES)
out["profiles"] = profiles.available()
out["worker"] = os.path.realpath(sandbox.WORKER)
print(json.dumps(out))
"""


def _inside(path: str | Path, folder: str | Path) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV")
           and not k.startswith("PIP_")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd, cwd, env, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, **kw)


def _explain(proc: subprocess.CompletedProcess) -> str:
    return f"{' '.join(proc.args)} -> exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def _source_files(root: Path) -> tuple[set[str], list[str]]:
    """The package files a wheel must hold (every .py and profile), and the dotted packages."""
    files, packages = set(), []
    for top in PACKAGES:
        for path in sorted((root / top).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.name == "__init__.py":
                packages.append(".".join(path.parent.relative_to(root).parts))
            if path.is_file() and (path.suffix == ".py" or rel.startswith("reference/grading/profiles/")
                                   and path.suffix == ".toml"):
                files.add(rel)
    return files, packages


def test_wheel_installs_and_grades_outside_the_checkout(tmp_path):
    pytest.importorskip("numpy")
    pytest.importorskip("torch")
    if sys.version_info < (3, 11):
        pytest.importorskip("tomli", reason="Python 3.10 needs tomli, which the offline install cannot fetch")
    assert HAND_IN.is_dir(), HAND_IN
    assert not _inside(tmp_path, REPO), f"the temporary folder {tmp_path} is inside the checkout"

    # 1. the wheel, from a snapshot of the checkout
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=SNAPSHOT_IGNORE, symlinks=True)
    wheels = tmp_path / "wheels"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                  "-w", wheels, source], cwd=tmp_path, env=env)
    assert built.returncode == 0, _explain(built)
    (wheel,) = wheels.glob("cnn_gradcheck-*.whl")

    # 2. what it holds
    expected, packages = _source_files(source)
    assert "reference.grading" in packages
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        (dist_info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        entry_points = configparser.ConfigParser()
        entry_points.read_string(zf.read(f"{dist_info}/entry_points.txt").decode())
        metadata = zf.read(f"{dist_info}/METADATA").decode()
    for required in ("reference/grading/profiles/11785-hw2p1.toml", "reference/grading/profiles/cs231n-a2.toml",
                     "reference/grading/profiles/native.toml", "reference/grading/worker.py",
                     "reference/grading/wire.py", "reference/grading/loading.py", "reference/grading/adapters.py"):
        assert required in names, f"{required} is not in {wheel.name}"
    missing = sorted(expected - names)
    assert not missing, f"{wheel.name} lacks {missing}"
    assert dict(entry_points["console_scripts"]) == SCRIPTS
    assert 'Requires-Dist: tomli>=2; python_version < "3.11"' in metadata

    # 3. a fresh venv that sees this interpreter's NumPy and torch
    venv = tmp_path / "venv"
    try:
        made = _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv],
                    cwd=tmp_path, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot create a venv with {sys.executable}: {exc}")
    python = venv / "bin" / "python"
    if made.returncode != 0 or not python.exists():
        pytest.skip(f"cannot create a venv with {sys.executable} -m venv:\n{made.stderr}")
    env = _env(venv)
    work = tmp_path / "work"  # where everything runs from: outside the checkout
    work.mkdir()
    usable = _run([python, "-c", "import pip, numpy, torch"], cwd=work, env=env)
    if usable.returncode != 0:
        pytest.skip(f"the venv does not see pip, numpy and torch from {sys.executable}:\n{usable.stderr}")
    installed = _run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], cwd=work, env=env)
    assert installed.returncode == 0, _explain(installed)

    # 4. the venv imports the installed copy (not the checkout, not an editable install's hook)
    probe = _run([python, "-c", PROBE, *packages, "reference.grading.cli", "reference.grading.profiles"],
                 cwd=work, env=env)
    assert probe.returncode == 0, _explain(probe)
    found = json.loads(probe.stdout)
    purelib = found["purelib"]
    assert _inside(purelib, venv), found
    assert not any(_inside(p, REPO) for p in found["path"]), f"the checkout is on sys.path: {found['path']}"
    for name, file in found["modules"].items():
        assert _inside(file, purelib), f"{name} comes from {file}, not from the venv's {purelib}"
    assert found["profiles_dir"] == os.path.join(purelib, "reference", "grading", "profiles")
    assert {"11785-hw2p1", "cs231n-a2", "native"} <= set(found["profiles"]), found["profiles"]
    assert found["worker"] == os.path.join(purelib, "reference", "grading", "worker.py")

    # 5. grade with the console script
    for script in SCRIPTS:
        assert (venv / "bin" / script).exists(), f"{script} not installed in {venv / 'bin'}"
    graded = _run([venv / "bin" / "gradcheck-grade", HAND_IN, "--seed", "0", "--item", "relu",
                   "--report", "results.json"], cwd=work, env=env)
    assert graded.returncode == 0, _explain(graded)
    assert f"interpreter: {python}" in graded.stdout, graded.stdout
    results = json.loads((work / "results.json").read_text())
    assert results["max_score"] > 0, results
    assert results["score"] == results["max_score"], results

    # 6. the other ways in answer --help
    for cmd in ([venv / "bin" / "gradcheck-grade", "--help"], [python, "-m", "reference.grade", "--help"],
                [venv / "bin" / "gradcheck-verify", "--help"], [venv / "bin" / "gradcheck-golden", "--help"]):
        shown = _run(cmd, cwd=work, env=env)
        assert shown.returncode == 0, _explain(shown)
        assert shown.stdout.startswith("usage:"), _explain(shown)
