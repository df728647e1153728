"""Grading real hand-ins as they are handed in: every layout, course profiles, planted mistakes, hostile code, reports.

The hand-ins under tests/submissions/ are written for these tests in the layouts real 11-785 HW2P1 and
cs231n assignment 2 hand-ins use (NumPy only, float64 as the handouts allocate). Most tests grade a
spread of each item's cases (every few) to stay quick; one test per course grades a whole hand-in.
"""
from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from reference.compare import compare_array
from reference.golden import freeze
from reference.grading.course_grids import MIN_CASES, item_grid
from reference.grading.engine import grade, plan
from reference.grading.formats import ITEMS
from reference.grading.profiles import Profile, ProfileError, default_for
from reference.grading.sandbox import Limits, clean
from reference.registry import SPECS

ROOT = Path(__file__).parent.parent
SUBMISSIONS = Path(__file__).parent / "submissions"
FAST = Limits(time=5.0, memory=2 << 30)
MYTORCH = sorted(p.name for p in SUBMISSIONS.iterdir() if p.name.startswith("mytorch_") and p.name != "mytorch_scipy_2023")
CS231N = sorted(p.name for p in SUBMISSIONS.iterdir() if p.name.startswith("cs231n_") and p.name != "cs231n_bare_layers_2017")
NATIVE_RELU = '''
import numpy as np

def relu_forward(x):
    return np.maximum(x, 0), x

def relu_backward(dout, x):
    return {"x": dout * (x > 0)}
'''


def sample(target, every: int = 5, profile=None) -> list:
    """Every ``every``-th case of each item the hand-in's profile grades."""
    the_plan, chosen = plan(str(target), "auto", profile)
    return [c for item, _ in chosen.items(the_plan.format)
            for c in item_grid(the_plan.format, item, the_plan.bindings[item.name], chosen.dtypes)[::every]]


def graded(target, every: int = 5, **kw):
    profile = kw.pop("profile", None)
    return grade(str(target), "auto", kw.pop("limits", FAST), profile, cases=sample(target, every, profile), **kw)


def by_name(g):
    return {s.name: s for s in g.scores}


def copy(tmp_path, name) -> Path:
    dest = tmp_path / name
    shutil.copytree(SUBMISSIONS / name, dest)
    return dest


def append(path: Path, code: str) -> None:
    with open(path, "a") as f:
        f.write("\n" + textwrap.dedent(code) + "\n")


def no_pycache(folder: Path) -> bool:
    return not any(p.name == "__pycache__" for p in folder.rglob("*"))


# --- correct hand-ins score full marks in every real layout ---------------------------------------

@pytest.mark.parametrize("name", MYTORCH + CS231N)
def test_every_layout_scores_full_marks(name):
    g = graded(SUBMISSIONS / name)
    assert g.plan.format == name.split("_")[0], g.plan.why
    assert g.plan.why.startswith(f"graded as {g.plan.format}:")
    assert g.scores and all(s.score == s.max_score for s in g.scores), [
        (s.name, s.problem, s.reports[:1]) for s in g.scores if s.score < s.max_score]
    assert not g.file_errors, g.file_errors
    assert no_pycache(SUBMISSIONS / name)  # the worker never writes into the hand-in


@pytest.mark.parametrize("name, profile", [("mytorch_flat_2023", "11785-hw2p1"), ("cs231n_assignment_2024", "cs231n-a2")])
def test_a_whole_hand_in_scores_full_marks_with_the_course_profile(name, profile):
    g = grade(str(SUBMISSIONS / name), limits=FAST, base_seed=7)
    assert g.profile.name == profile and g.profile.dtypes == ("float64",)
    total, top = sum(s.score for s in g.scores), sum(s.max_score for s in g.scores)
    assert total == top == sum(default_for(g.plan.format).points.values())
    assert all(s.cases >= MIN_CASES for s in g.scores), [(s.name, s.cases) for s in g.scores]


def test_every_item_of_every_format_has_enough_float64_cases():
    for fmt in ("mytorch", "cs231n"):
        for item in ITEMS[fmt].values():
            cases = item_grid(fmt, item, None, ("float64",))
            assert len(cases) >= MIN_CASES, (fmt, item.name, len(cases))
            batches = {next(iter(c.shapes.values()))[0] for c in cases}
            assert max(batches) > 1, item.name
            if item.op.endswith("2d"):
                assert any(len(set(next(iter(c.shapes.values()))[2:])) > 1 for c in cases), f"{item.name}: no non-square input"
            if item.op.startswith("conv") and not item.name.endswith("_stride1"):
                assert {c.config["stride"] for c in cases} >= {1, 2, 3}
                assert any(c.shapes["b"] is not None for c in cases)
                assert any(c.shapes["w"][0] != c.shapes["w"][1] for c in cases)


def test_cs231n_cases_stay_inside_the_handouts_contract():
    for item in ("conv_naive", "max_pool_naive"):
        for c in item_grid("cs231n", ITEMS["cs231n"][item], None, ("float64",)):
            x, s = c.shapes["x"], c.config.get("stride") or c.config["kernel_size"]
            k = c.shapes["w"][2:] if "w" in c.shapes else c.config["kernel_size"]
            pad = c.config.get("padding", 0)
            assert all((n + 2 * pad - ki) % s == 0 for n, ki in zip(x[2:], k)), c.id


def test_the_mytorch_transposed_convolution_is_upsampling_then_a_valid_convolution():
    """The grid's transposed-conv cases are torch's conv_transpose with padding K - 1: upsample, then valid conv."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    cases = item_grid("mytorch", ITEMS["mytorch"]["ConvTranspose1d"], None, ("float64",))
    for c in cases[::7]:
        x = torch.randn(*c.shapes["x"], dtype=torch.float64)
        w = torch.randn(*c.shapes["w"], dtype=torch.float64)
        s, k = c.config["stride"], c.shapes["w"][2]
        up = torch.zeros(x.shape[0], x.shape[1], (x.shape[2] - 1) * s + 1, dtype=torch.float64)
        up[..., ::s] = x
        direct = F.conv1d(up, w.flip(-1).transpose(0, 1))
        assert torch.allclose(F.conv_transpose1d(x, w, stride=s, padding=k - 1), direct), c.id


# --- layouts: which class, which file, what failed --------------------------------------------------

def test_detection_names_what_it_found():
    the_plan, profile = plan(str(SUBMISSIONS / "mytorch_split_nn"))
    assert the_plan.why.startswith("graded as mytorch: mytorch/") and "Conv1d_stride1" in the_plan.why
    assert profile.name == "11785-hw2p1"
    the_plan, profile = plan(str(SUBMISSIONS / "cs231n_assignment_2024"))
    assert "conv_forward_naive" in the_plan.why and profile.name == "cs231n-a2"


def test_a_native_hand_in_with_only_relu_is_native(tmp_path):
    (tmp_path / "student.py").write_text(NATIVE_RELU)
    the_plan, _ = plan(str(tmp_path / "student.py"))
    assert the_plan.format == "native", the_plan.why


def test_leftovers_from_other_homeworks_do_not_shadow_the_hw2p1_classes():
    the_plan, _ = plan(str(SUBMISSIONS / "mytorch_with_leftovers"))
    for name in ("ReLU", "Conv1d"):
        b = the_plan.bindings[name]
        assert not b.problem, b.problem
        assert "autograd" not in b.file and "hw1" not in b.file.lower(), b


def test_one_file_that_fails_to_import_costs_only_its_own_items(tmp_path):
    sub = copy(tmp_path, "mytorch_flat_2023")
    pool = next(sub.rglob("pool.py"))
    with open(pool) as f:
        lines = f.read().splitlines()
    lines.insert(1, "raise_here = undefined_name_in_pool")
    pool.write_text("\n".join(lines) + "\n")
    g = graded(sub, every=10)
    s = by_name(g)
    assert s["MaxPool2d"].score == 0 and s["MeanPool2d_stride1"].score == 0
    assert "pool.py failed to import" in s["MaxPool2d"].problem and "pool.py:2" in s["MaxPool2d"].problem
    assert "undefined_name_in_pool" in s["MaxPool2d"].problem
    assert all(v.score == v.max_score for k, v in s.items() if "Pool" not in k)


def test_a_broken_init_does_not_lose_the_package(tmp_path):
    sub = copy(tmp_path, "mytorch_package_relative")
    append(next(sub.rglob("__init__.py")), "import a_module_nobody_has")
    g = graded(sub, every=10)
    assert all(s.score == s.max_score for s in g.scores), [(s.name, s.problem) for s in g.scores if s.problem][:2]
    assert any("__init__.py" in e and "a_module_nobody_has" in e for e in g.file_errors.values()), g.file_errors


def test_an_exception_names_the_students_file_and_line(tmp_path):
    sub = copy(tmp_path, "cs231n_bare_layers_numpy2")
    append(sub / "layers.py", """
        def relu_backward(dout, cache):
            raise ValueError("student bug")
        """)
    g = graded(sub, every=10)
    report = by_name(g)["relu_forward / relu_backward"].reports[0]
    assert "ValueError: student bug" in report and "layers.py:" in report and "numeric.py" not in report


# --- the course's environment: --python and missing modules ---------------------------------------

@pytest.fixture(scope="session")
def numpy1_python(tmp_path_factory):
    """A venv with NumPy 1.26 (no scipy), built once; skipped with the reason when it cannot be built."""
    venv = tmp_path_factory.mktemp("numpy1") / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        run = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "numpy>=1.24,<2"],
                             capture_output=True, text=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot build a NumPy 1.x interpreter here: {exc}")
    if run.returncode != 0:
        pytest.skip(f"cannot install NumPy 1.x into a venv here: {run.stderr.strip()[-300:]}")
    return str(venv / "bin" / "python")


def test_numpy1_code_fails_on_numpy2_with_the_fix_named():
    if np.__version__.startswith("1."):
        pytest.skip("this interpreter has NumPy 1.x")
    g = graded(SUBMISSIONS / "cs231n_bare_layers_2017", every=10)
    conv = by_name(g)["conv_forward_naive / conv_backward_naive"]
    assert conv.score == 0 and "--python" in conv.reports[0] and "NumPy 1.x" in conv.reports[0]


def test_python_option_runs_the_hand_in_under_another_interpreter(numpy1_python):
    limits = Limits(time=10.0, memory=2 << 30, python=numpy1_python)
    g = graded(SUBMISSIONS / "cs231n_bare_layers_2017", every=6, limits=limits, interpreter=numpy1_python)
    assert all(s.score == s.max_score for s in g.scores), [s.reports[:1] for s in g.scores if s.reports]


def test_a_missing_module_is_named_with_the_fix(numpy1_python):
    g = graded(SUBMISSIONS / "mytorch_scipy_2023", every=10, limits=Limits(time=10.0, memory=2 << 30, python=numpy1_python))
    relu = by_name(g)["ReLU"]
    assert relu.score == 0 and "needs scipy, which the grading interpreter" in relu.problem and "--python" in relu.problem
    assert by_name(g)["Conv1d"].score == by_name(g)["Conv1d"].max_score  # other files still graded


def test_the_scipy_hand_in_scores_full_marks_where_scipy_is_installed():
    pytest.importorskip("scipy")
    g = graded(SUBMISSIONS / "mytorch_scipy_2023", every=10)
    assert all(s.score == s.max_score for s in g.scores), [(s.name, s.problem) for s in g.scores if s.problem]


# --- profiles: dtypes, conventions, validation -----------------------------------------------------

def test_values_policy_judges_a_float64_result_of_a_float32_case_on_its_values():
    expected = np.linspace(-1, 1, 12, dtype=np.float32)
    got = expected.astype(np.float64)
    assert not compare_array("x", got, expected).ok  # strict: wrong dtype
    values = compare_array("x", got, expected, dtype_policy="values")
    assert values.ok and "float64" in values.note
    assert not compare_array("x", got + 1, expected, dtype_policy="values").ok


def test_float32_cases_of_a_float64_hand_in_cost_nothing_under_the_values_policy(tmp_path):
    path = tmp_path / "profile.toml"
    path.write_text('format = "mytorch"\ndtypes = ["float32"]\ndtype_policy = "values"\n[items]\nConv1d_stride1 = 1\n')
    g = graded(SUBMISSIONS / "mytorch_flat_2023", every=3, profile=Profile.load(str(path)))
    s = g.scores[0]
    assert s.score == s.max_score and any("judged on its values" in n for n in s.notes), s.notes


def test_ties_are_a_note_under_the_course_profile_and_wrong_under_strict(tmp_path):
    sub = copy(tmp_path, "mytorch_flat_2023")
    pool = next(sub.rglob("pool.py"))
    append(pool, """
        import numpy as _np
        _first = MaxPool2d_stride1.forward
        def _keep_input(self, A):
            self._input = A
            return _first(self, A)
        MaxPool2d_stride1.forward = _keep_input
        def _backward_to_last_maximum(self, dLdZ):
            A = self._input
            N, C, H, W = A.shape
            k = self.kernel
            dLdA = _np.zeros_like(A)
            for n in range(N):
                for c in range(C):
                    for i in range(H - k + 1):
                        for j in range(W - k + 1):
                            window = A[n, c, i:i + k, j:j + k].ravel()
                            last = len(window) - 1 - int(_np.argmax(window[::-1]))
                            dLdA[n, c, i + last // k, j + last % k] += dLdZ[n, c, i, j]
            return dLdA
        MaxPool2d_stride1.backward = _backward_to_last_maximum
        """)
    item = {"format": "mytorch", "dtypes": ["float64"], "items": {"MaxPool2d_stride1": 1}}
    cases = [c for c in item_grid("mytorch", ITEMS["mytorch"]["MaxPool2d_stride1"], None, ("float64",))
             if c.inputs in ("integers", "normal")][:12]
    note = grade(str(sub), "auto", FAST, Profile.from_dict({**item, "conventions": "note"}, "note"), cases=cases)
    strict = grade(str(sub), "auto", FAST, Profile.from_dict({**item, "conventions": "graded"}, "strict"), cases=cases)
    assert note.scores[0].score == 1 and any("convention" in n for n in note.scores[0].notes), note.scores[0].reports[:1]
    assert strict.scores[0].score < 1 and "tie-convention mismatch" in strict.scores[0].reports[0]


@pytest.mark.parametrize("text, message", [
    ("[ops]\nconv2dd = 1\n", "did you mean 'conv2d'"),
    ("[ops]\nconv2d = -1\n", "finite number >= 0"),
    ("[ops]\nconv2d = nan\n", "finite number >= 0"),
    ("[ops]\nconv2d = 'ten'\n", "must be a number"),
    ("[ops]\nconv2d = 0\n", "add up to 0"),
    ("[weights]\nx = 1\n", "needs exactly one of"),
    ("format = 'mytorch'\n[items]\nConv2D = 1\n", "did you mean 'Conv2d'"),
    ("[ops\n", "not valid TOML"),
])
def test_bad_profiles_are_refused_with_one_line(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message.replace("(", r"\(")) as err:
        Profile.load(str(path))
    assert "\n" not in str(err.value)


# --- planted mistakes lose points with the right diagnosis ------------------------------------------

@pytest.mark.parametrize("name, file, code, item, expect", [
    ("cs231n_bare_layers_numpy2", "layers.py", """
        _right = conv_backward_naive
        def conv_backward_naive(dout, cache):
            dx, dw, db = _right(dout, cache)
            return dx, dw / dout.shape[0], db
        """, "conv_forward_naive / conv_backward_naive", "batch averaged in dW"),
    ("mytorch_flat_2023", "Conv1d.py", """
        _right_backward = Conv1d_stride1.backward
        def _averaged(self, dLdZ):
            dLdA = _right_backward(self, dLdZ)
            self.dLdW = self.dLdW / dLdZ.shape[0]
            return dLdA
        Conv1d_stride1.backward = _averaged
        """, "Conv1d_stride1", "batch averaged in dW"),
], ids=["cs231n-batch-averaged", "mytorch-batch-averaged"])
def test_planted_mistakes_lose_points_with_the_right_diagnosis(tmp_path, name, file, code, item, expect):
    sub = copy(tmp_path, name)
    append(next(sub.rglob(file)), code)
    g = graded(sub, every=4)
    s = by_name(g)[item]
    assert s.score < s.max_score
    assert expect in s.reports[0], s.reports[0]  # the most informative failing case comes first
    assert any("dW wrong" in line for line in s.summary), s.summary
    assert all(v.score == v.max_score for k, v in by_name(g).items() if k != item and "Conv" not in k)


# --- hostile code is contained ----------------------------------------------------------------------

HOSTILE = {
    "loops forever": ("while True:\n        pass", "timed out after 1 s"),
    "allocates 50 GB": ("import numpy\n    numpy.ones(50 * 2**30 // 8)", "MemoryError"),
    "calls os._exit(0)": ("import os\n    os._exit(0)", "exited with code 0"),
    "segfaults via ctypes": ("import ctypes\n    ctypes.string_at(0)", "killed by SIGSEGV"),
    "raises SystemExit": ("raise SystemExit(0)", "SystemExit"),
    "raises KeyboardInterrupt": ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    "imports the instructor's solution": ("import manual_grads", "importing manual_grads is forbidden"),
}


@pytest.mark.parametrize("behaviour", sorted(HOSTILE))
def test_hostile_code_fails_its_cases_and_the_run_finishes(tmp_path, behaviour):
    body, reason = HOSTILE[behaviour]
    sub = tmp_path / "hostile.py"
    sub.write_text(NATIVE_RELU + f"\ndef sigmoid_forward(x):\n    {body}\n\ndef sigmoid_backward(dout, cache):\n    return {{}}\n")
    rubric = Profile.from_dict({"ops": {"sigmoid": 1, "relu": 1}}, "rubric")
    cases = [c for op in ("sigmoid", "relu") for c in SPECS[op].grid(False)[:3]]
    g = grade(str(sub), "native", Limits(time=1.0, memory=2 << 30), rubric, cases=cases)
    s = by_name(g)
    assert s["sigmoid"].score == 0 and s["relu"].score == s["relu"].max_score  # the run went on after the failures
    assert any(reason in r for r in s["sigmoid"].reports), s["sigmoid"].reports


def test_untrusted_text_is_cut_and_stripped():
    text = clean("\x1b[2J" + "A" * 10_000 + "\x00")
    assert "\x1b" not in text and "\x00" not in text and len(text) < 2100


def test_results_file_and_output_cannot_be_forged(tmp_path):
    """A hand-in that overwrites the results file and prints a fake pass line gains nothing."""
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
            return dout
        """))
    run = subprocess.run([sys.executable, "-m", "reference.grade", "--folder", str(tmp_path / "subs"), "--out",
                          str(tmp_path / "out"), "--time-limit", "5", "--seed", "0"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "passed" not in run.stdout  # nothing the hand-in printed reaches the grader's output
    data = json.loads(report.read_text())
    relu = next(t for t in data["tests"] if t["name"] == "relu_forward / relu_backward")
    assert relu["score"] == 0 and data["score"] < data["max_score"]


# --- the CLI: reports, folders, exit codes ------------------------------------------------------------

def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "reference.grade", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_cli_says_which_profile_and_interpreter_and_writes_gradescope(tmp_path):
    (tmp_path / "rubric.toml").write_text("[ops]\nrelu = 2\n")
    run = cli(str(SUBMISSIONS / "mytorch_named_imports"), "--rubric", str(tmp_path / "rubric.toml"), "--report",
              str(tmp_path / "r.json"), "--seed", "3")
    assert run.returncode == 0, run.stderr
    assert "graded as mytorch: mytorch/" in run.stdout and "interpreter: " in run.stdout and "NumPy" in run.stdout
    assert "base seed: 3" in run.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == data["max_score"] == 2.0 and data["tests"][0]["name"] == "ReLU"
    assert {"name", "number", "score", "max_score", "status", "output", "visibility"} <= set(data["tests"][0])


@pytest.mark.parametrize("args, message", [
    (["tests/submissions/nobody_here"], "no such file or folder"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--profile", "cs231n-a3"], "did you mean 'cs231n-a2'"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--profile", "11785-hw2p1", "--format", "cs231n"], "is for mytorch"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--time-limit", "-1"], "--time-limit"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--memory-limit", "nan"], "--memory-limit"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--memory-limit", "0"], "--memory-limit"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--memory-limit", "0.1"], "at least 0.25 GiB"),
    (["--folder", "tests/submissions", "-j", "0"], "-j must be at least 1"),
    (["--folder", "no/such/folder"], "no such folder"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--report", "/proc/nope/r.json"], "--report"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--report", "tests"], "is a directory"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--out", "x"], "--out goes with --folder"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--golden", "no-such.npz"], "--golden"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--golden", "README.md"], "not a golden fixture file"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--python", "/no/python"], "--python"),
])
def test_bad_options_are_one_line_and_exit_2(args, message):
    run = cli(*args)
    assert run.returncode == 2, (run.returncode, run.stdout[-500:], run.stderr[-500:])
    assert message in run.stderr and "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_a_hand_in_that_cannot_be_loaded_exits_3(tmp_path):
    (tmp_path / "layers.py").write_text("def relu_forward(x):\n    return x, x\ndef relu_backward(d, c):\n    return d\n"
                                        "import nowhere_to_be_found\n")
    run = cli(str(tmp_path / "layers.py"), "--seed", "0")
    assert run.returncode == 3, run.stdout[-1000:]
    assert "nowhere_to_be_found" in run.stdout


def test_folder_grading_writes_results_and_summary(tmp_path):
    subs = tmp_path / "subs"
    shutil.copytree(SUBMISSIONS / "cs231n_bare_layers_numpy2", subs / "alice")
    shutil.copytree(SUBMISSIONS / "cs231n_bare_layers_numpy2", subs / "bob")
    append(subs / "bob" / "layers.py", "relu_backward = lambda dout, cache: dout * 0")
    (tmp_path / "rubric.toml").write_text("[ops]\nrelu = 2\n")
    run = cli("--folder", str(subs), "--out", str(tmp_path / "out"), "--rubric", str(tmp_path / "rubric.toml"), "-j", "2")
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "out" / "summary.csv") as f:
        rows = {r["submission"]: r for r in csv.DictReader(f)}
    assert float(rows["alice"]["score"]) == 2.0 and float(rows["bob"]["score"]) < 2.0
    data = json.loads((tmp_path / "out" / "bob" / "results.json").read_text())
    assert data["tests"][0]["status"] == "failed" and data["stdout_visibility"] == "hidden"
    assert no_pycache(subs)


def test_pytest_impl_runs_only_the_hand_in_and_writes_gradescope(tmp_path):
    report = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                          "--impl", str(SUBMISSIONS / "cs231n_package_no_init"), "--grade-report", str(report),
                          "-k", "relu and x7"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "score" in run.stdout and "deselected" in run.stdout, run.stdout[-800:]  # the harness's own tests deselected
    assert "test_matches_torch" not in run.stdout
    assert json.loads(report.read_text())["score"] == 2.0


# --- golden fixtures -----------------------------------------------------------------------------------

def test_grading_from_fixtures_needs_no_torch(tmp_path):
    (tmp_path / "student.py").write_text(NATIVE_RELU)
    path = tmp_path / "golden.npz"
    freeze(str(path), SPECS["relu"].grid(False))
    (tmp_path / "rubric.toml").write_text("[ops]\nrelu = 1\n")
    code = textwrap.dedent(f"""
        import sys
        class NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] == 'torch':
                    raise ImportError('torch is not installed here')
        sys.meta_path.insert(0, NoTorch())
        from reference.grading.cli import main
        sys.exit(main([{str(tmp_path / 'student.py')!r}, '--golden', {str(path)!r}, '--rubric', {str(tmp_path / 'rubric.toml')!r},
                       '--report', {str(tmp_path / 'r.json')!r}]))
        """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:] + run.stdout[-2000:]
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 1.0


def test_a_golden_file_for_another_grid_is_refused(tmp_path):
    (tmp_path / "student.py").write_text(NATIVE_RELU)
    path = tmp_path / "golden.npz"
    freeze(str(path), SPECS["relu"].grid(False)[:2])
    with pytest.raises(ProfileError, match="lacks"):
        grade(str(tmp_path / "student.py"), "native", FAST, Profile.from_dict({"ops": {"relu": 1}}, "r"), golden=str(path))


# --- the import boundary ---------------------------------------------------------------------------------

def test_the_oracle_side_never_imports_grading():
    """reference/ outside grading/ (but the `python -m reference.grade` entry point) imports nothing from it."""
    offenders = []
    for path in (ROOT / "reference").rglob("*.py"):
        rel = path.relative_to(ROOT / "reference").as_posix()
        if rel.startswith("grading/") or rel == "grade.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [f"{'.' * node.level}{node.module or ''}"] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{rel}: {n}" for n in names if "grading" in n]
    assert not offenders, offenders
    assert os.path.exists(ROOT / "reference" / "grading" / "cli.py")


# --- diagnoses of conventions and of what is not one --------------------------------------------------

class _Relu:
    """relu with relu'(0) = 1: differs from torch only where x is exactly 0."""

    @staticmethod
    def relu_forward(x):
        return np.maximum(x, 0), x

    @staticmethod
    def relu_backward(dout, x):
        return {"x": dout * (x >= 0)}


class _MaxPoolToEveryTie:
    """max pool whose backward gives dY to every maximum of the window (not a convention: sum(dX) grows)."""

    @staticmethod
    def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        from manual_grads import max_pool2d_forward
        return max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)[0], (x, kernel_size, stride)

    @staticmethod
    def max_pool2d_backward(dout, cache):
        x, k, s = cache
        k = (k, k) if isinstance(k, int) else tuple(k)
        s = k if s is None else ((s, s) if isinstance(s, int) else tuple(s))
        dx = np.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                window = x[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
                at_max = window == window.max(axis=(2, 3), keepdims=True)
                dx[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]] += at_max * dout[:, :, i:i + 1, j:j + 1]
        return {"x": dx}


def test_relu_derivative_at_zero_is_named_a_convention():
    from reference.harness import run_case
    from reference.grading.scoring import convention_only

    case = next(c for c in item_grid("mytorch", ITEMS["mytorch"]["ReLU"], None, ("float64",)) if c.inputs == "relu")
    result = run_case(case, _Relu, 0)
    assert not result.ok and result.diagnosis.startswith("convention at x = 0"), result.diagnosis
    assert convention_only(result)


def test_routing_to_every_tied_maximum_is_named_and_is_not_a_convention():
    from reference.harness import run_case
    from reference.grading.scoring import convention_only

    cases = [c for c in item_grid("mytorch", ITEMS["mytorch"]["MaxPool2d"], None, ("float64",)) if c.inputs == "integers"]
    results = [run_case(c, _MaxPoolToEveryTie, 0) for c in cases[:6]]
    failing = [r for r in results if not r.ok]
    assert failing and all("gradient routed to every tied maximum" in r.diagnosis for r in failing), \
        [r.diagnosis for r in failing]
    assert not any("overlapping windows not accumulated" in r.diagnosis for r in failing)
    assert not any(convention_only(r) for r in failing)


def test_a_transposed_convolution_that_spells_its_factor_stride_scores_full_marks(tmp_path):
    """``ConvTranspose1d(in_channels, out_channels, kernel_size, stride, ...)``: bound and built with the factor as ``stride``."""
    sub = copy(tmp_path, "mytorch_flat_2023")
    append(next(sub.rglob("ConvTranspose.py")), """
        _Factor1d, _Factor2d = ConvTranspose1d, ConvTranspose2d

        class ConvTranspose1d(_Factor1d):
            def __init__(self, in_channels, out_channels, kernel_size, stride, weight_init_fn=None, bias_init_fn=None):
                _Factor1d.__init__(self, in_channels, out_channels, kernel_size, stride, weight_init_fn, bias_init_fn)

            def forward(self, A):
                return _Factor1d.forward(self, A)

            def backward(self, dLdZ):
                return _Factor1d.backward(self, dLdZ)

        class ConvTranspose2d(_Factor2d):
            def __init__(self, in_channels, out_channels, kernel_size, stride, weight_init_fn=None, bias_init_fn=None):
                _Factor2d.__init__(self, in_channels, out_channels, kernel_size, stride, weight_init_fn, bias_init_fn)

            def forward(self, A):
                return _Factor2d.forward(self, A)

            def backward(self, dLdZ):
                return _Factor2d.backward(self, dLdZ)
        """)
    g = graded(sub, every=10)
    s = by_name(g)
    for name in ("ConvTranspose1d", "ConvTranspose2d"):
        assert "stride" in g.plan.bindings[name].params, g.plan.bindings[name]  # the redefinition is the one graded
        assert s[name].cases and s[name].score == s[name].max_score, (s[name].problem, s[name].reports[:1])
    assert all(v.score == v.max_score for v in s.values()), [(k, v.problem) for k, v in s.items() if v.problem]


def test_resampling_layers_that_spell_their_factor_otherwise_are_graded(tmp_path):
    """``Upsample1d(upsample_factor)`` and ``Downsample1d(downsample_factor)``: spellings the adapter has always
    built, so they are bound and graded (full marks), not refused as not fitting the API."""
    sub = copy(tmp_path, "mytorch_flat_2023")
    append(next(sub.rglob("resampling.py")), """
        _Up1d, _Down1d = Upsample1d, Downsample1d

        class Upsample1d(_Up1d):
            def __init__(self, upsample_factor):
                _Up1d.__init__(self, upsample_factor)

        class Downsample1d(_Down1d):
            def __init__(self, downsample_factor):
                _Down1d.__init__(self, downsample_factor)
        """)
    g = graded(sub, every=10)
    s = by_name(g)
    for name in ("Upsample1d", "Downsample1d"):
        assert not s[name].problem and s[name].score == s[name].max_score, (s[name].problem, s[name].reports[:1])
