"""Grading other people's code: formats, planted bugs with their diagnosis, hostile code under limits, reports."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reference.adapters import expressible
from reference.grade import grade
from reference.golden import freeze, load
from reference.harness import oracle
from reference.registry import SPECS
from reference.sandbox import Limits
from reference.scoring import Rubric

SUBMISSIONS = Path(__file__).parent / "submissions"
FAST = Limits(time=3.0, memory=2 << 30)


def sample(ops, every: int = 6, limit: int = 40):
    """A spread of each op's default grid, to keep grading tests quick."""
    return [c for op in ops for c in SPECS[op].grid(False)[::every][:limit]]


def rubric(tmp_path, ops) -> Rubric:
    path = tmp_path / "rubric.toml"
    path.write_text("[ops]\n" + "".join(f"{op} = 1\n" for op in ops))
    return Rubric.load(str(path))


def planted(tmp_path, source: str, file: str, line: str) -> Path:
    """A copy of a correct submission with one line appended to one file: the planted mistake."""
    dest = tmp_path / Path(source).name
    shutil.copytree(SUBMISSIONS / source, dest) if (SUBMISSIONS / source).is_dir() else None
    with open(dest / file, "a") as f:
        f.write("\n" + textwrap.dedent(line) + "\n")
    return dest


def by_op(scores):
    return {s.op: s for s in scores}


# --- correct code scores full marks in every format ------------------------------------------

@pytest.mark.parametrize("target, fmt, ops", [
    ("manual_grads", "native", sorted(SPECS)[::3]),
    (str(SUBMISSIONS / "cs231n_correct"), "cs231n", ["conv2d", "max_pool2d", "relu"]),
    (str(SUBMISSIONS / "mytorch_correct"), "mytorch", ["conv1d", "conv2d", "conv_transpose1d", "max_pool2d",
                                                         "avg_pool2d", "upsample2d", "downsample1d", "tanh"]),
], ids=["native", "cs231n", "mytorch"])
def test_correct_code_scores_full_marks(tmp_path, target, fmt, ops):
    ops = [op for op in ops if op in SPECS]
    scores, results, impl = grade(target, "auto", FAST, rubric(tmp_path, ops), cases=sample(ops, every=3, limit=60))
    assert impl.format == fmt
    assert scores and all(s.score == s.max_score for s in scores), [r.report() for r in results if not r.ok][:2]


# --- planted mistakes lose points and are named -----------------------------------------------

@pytest.mark.parametrize("source, file, line, op, expect", [
    ("cs231n_correct", "layers.py", """
        _right = conv_backward_naive
        def conv_backward_naive(dout, cache):
            dx, dw, db = _right(dout, cache)
            return dx, dw / dout.shape[0], db
        """, "conv2d", "batch averaged in dW"),
    ("mytorch_correct", "mytorch/nn/pool.py", """
        import manual_grads.pooling as _p
        _p.first_max = lambda candidate, best: candidate >= best
        """, "max_pool2d", "tie-convention mismatch"),
    ("mytorch_correct", "mytorch/nn/conv.py", """
        import manual_grads.conv as _c
        _c.conv_input_grad = _c.conv_input_grad_by_convolution  # the lecture's form ...
        _c.flip_spatial = lambda w: w                            # ... with the filter left unflipped
        """, "conv1d", "unflipped filter in dX"),
], ids=["cs231n-batch-averaged", "mytorch-ties", "mytorch-unflipped"])
def test_planted_mistakes_lose_points_with_the_right_diagnosis(tmp_path, source, file, line, op, expect):
    target = planted(tmp_path, source, file, line)
    cases = [c for c in SPECS[op].grid(False) if expressible("native", op, c.shapes, c.config) is None]
    if op == "max_pool2d":
        cases = [c for c in cases if c.inputs in ("integers", "constant")]
    scores, results, _ = grade(str(target), "auto", FAST, rubric(tmp_path, [op]), cases=cases)
    s = by_op(scores)[op]
    assert s.score < s.max_score
    assert any(expect in r for r in s.reports), s.reports[:1]


def test_native_planted_mistake_and_partial_implementation(tmp_path):
    sub = tmp_path / "student.py"
    sub.write_text("import manual_grads.conv as _c\n_c.conv_input_grad = _c.conv_input_grad_by_convolution\n"
                   "_c.flip_spatial = lambda w: w\n"
                   "from manual_grads import conv2d_forward, conv2d_backward, relu_forward\n")
    scores, results, _ = grade(str(sub), "auto", FAST, rubric(tmp_path, ["conv2d", "relu"]), cases=sample(["conv2d", "relu"]))
    s = by_op(scores)
    assert s["conv2d"].score < 1 and any("unflipped filter in dX" in r for r in s["conv2d"].reports)
    assert s["relu"].score == 0 and "not implemented: relu_backward" in s["relu"].reports[0]


# --- hostile code is contained ----------------------------------------------------------------

HOSTILE = {
    "loops forever": ("while True:\n        pass", "timed out after 1 s"),
    "allocates 50 GB": ("import numpy\n    numpy.ones(50 * 2**30 // 8)", "MemoryError"),
    "calls os._exit(0)": ("import os\n    os._exit(0)", "exited with code 0"),
    "segfaults via ctypes": ("import ctypes\n    ctypes.string_at(0)", "killed by SIGSEGV"),
    "raises SystemExit": ("raise SystemExit(0)", "SystemExit"),
    "raises KeyboardInterrupt": ("raise KeyboardInterrupt", "KeyboardInterrupt"),
}


@pytest.mark.parametrize("behaviour", sorted(HOSTILE))
def test_hostile_code_fails_its_cases_and_the_run_finishes(tmp_path, behaviour):
    body, reason = HOSTILE[behaviour]
    sub = tmp_path / "hostile.py"
    sub.write_text(f"from manual_grads import relu_forward, relu_backward, conv2d_backward\n\n"
                   f"def conv2d_forward(*args, **kwargs):\n    {body}\n")
    cases = sample(["conv2d"], every=50, limit=5) + sample(["relu"], every=2, limit=3)
    scores, results, _ = grade(str(sub), "native", Limits(time=1.0, memory=2 << 30), rubric(tmp_path, ["conv2d", "relu"]), cases=cases)
    s = by_op(scores)
    assert s["conv2d"].score == 0 and s["relu"].score == s["relu"].max_score  # the run went on after the failures
    assert any(reason in r for r in s["conv2d"].reports), s["conv2d"].reports


def test_forbidden_torch_import_is_named(tmp_path):
    sub = tmp_path / "copycat.py"
    sub.write_text("import torch\nfrom manual_grads import relu_forward, relu_backward\n")
    scores, _, impl = grade(str(sub), "native", Limits(time=5.0, memory=4 << 30, forbid_torch=True),
                            rubric(tmp_path, ["relu"]), cases=sample(["relu"], limit=2))
    assert "importing torch is forbidden" in impl.load_error and by_op(scores)["relu"].score == 0


def test_results_file_and_output_cannot_be_forged(tmp_path):
    """A submission that overwrites the results file and prints a fake pass line gains nothing."""
    report = tmp_path / "out" / "hostile" / "results.json"
    sub = tmp_path / "subs" / "hostile"
    sub.mkdir(parents=True)
    (sub / "layers.py").write_text(textwrap.dedent(f"""
        import json
        print("=========== 5064 passed in 1.00s ===========")
        def relu_forward(x):
            open({str(report)!r}, "w").write(json.dumps({{"score": 100, "max_score": 100, "tests": []}}))
            print("100 passed, 0 failed")
            return x * 0, None
        def relu_backward(dout, cache):
            return {{"x": dout}}
        """))
    rubric_path = tmp_path / "rubric.toml"
    rubric_path.write_text("[ops]\nrelu = 1\n")
    run = subprocess.run([sys.executable, "-m", "reference.grade", "--folder", str(tmp_path / "subs"), "--out",
                          str(tmp_path / "out"), "--rubric", str(rubric_path), "--time-limit", "5"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "passed" not in run.stdout  # nothing the submission printed reaches the grader's output
    data = json.loads(report.read_text())
    assert data["score"] == 0 and data["max_score"] == 1.0


# --- reports and folders ----------------------------------------------------------------------

def test_folder_grading_writes_results_and_summary(tmp_path):
    subs = tmp_path / "subs"
    shutil.copytree(SUBMISSIONS / "cs231n_correct", subs / "alice")
    planted(subs / "..", "cs231n_correct", "layers.py", "relu_backward = lambda dout, cache: {'bad': 1}")
    shutil.move(str(tmp_path / "cs231n_correct"), subs / "bob")
    (tmp_path / "rubric.toml").write_text("[ops]\nrelu = 2\n")
    run = subprocess.run([sys.executable, "-m", "reference.grade", "--folder", str(subs), "--out", str(tmp_path / "out"),
                          "--rubric", str(tmp_path / "rubric.toml"), "-j", "2"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = {r["submission"]: r for r in csv.DictReader(open(tmp_path / "out" / "summary.csv"))}
    assert float(rows["alice"]["score"]) == 2.0 and float(rows["bob"]["score"]) == 0.0
    gradescope = json.loads((tmp_path / "out" / "bob" / "results.json").read_text())
    test = gradescope["tests"][0]
    assert {"name", "score", "max_score", "output", "status", "visibility"} <= set(test) and test["status"] == "failed"


def test_pytest_impl_option_grades_and_writes_gradescope(tmp_path):
    report = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_against_torch.py",
                          "--impl", str(SUBMISSIONS / "cs231n_correct"), "--grade-report", str(report), "-k", "relu and x7"],
                         capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "score" in run.stdout and json.loads(report.read_text())["score"] == 2.0


# --- golden fixtures --------------------------------------------------------------------------

def test_frozen_fixtures_agree_with_live_torch(tmp_path):
    cases = sample(sorted(SPECS), every=40, limit=2)
    path = tmp_path / "golden.npz"
    freeze(str(path), cases, base_seed=3)
    base, frozen = load(str(path))
    assert base == 3 and [c.id for c, _ in frozen] == [c.id for c in cases]
    for case, ref in frozen:
        live = oracle(case, case.seed(3))
        assert all((ref.out == live.out).all() and (ref.upstream == live.upstream).all() for _ in [0])
        assert all((ref.grads[n] == live.grads[n]).all() for n in live.grads), case.id


def test_altered_fixture_is_refused(tmp_path):
    path = tmp_path / "golden.npz"
    freeze(str(path), sample(["relu"], limit=2))
    data = dict(__import__("numpy").load(path))
    data["0/out"] = data["0/out"] + 1
    __import__("numpy").savez_compressed(path, **data)
    with pytest.raises(ValueError, match="SHA-256"):
        load(str(path))


def test_grading_from_fixtures_needs_no_torch(tmp_path):
    path = tmp_path / "golden.npz"
    freeze(str(path), sample(["conv2d", "relu", "max_pool2d"], every=30, limit=5))
    (tmp_path / "rubric.toml").write_text("[ops]\nconv2d = 1\nrelu = 1\nmax_pool2d = 1\n")
    code = textwrap.dedent(f"""
        import sys
        class NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] == 'torch':
                    raise ImportError('torch is not installed here')
        sys.meta_path.insert(0, NoTorch())
        from reference.grade import main
        sys.exit(main(['manual_grads', '--golden', {str(path)!r}, '--rubric', {str(tmp_path / 'rubric.toml')!r},
                       '--report', {str(tmp_path / 'r.json')!r}]))
        """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 3.0
