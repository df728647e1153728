"""Course staff at scale: Gradescope exports, archives, progress, --resume, shards + merge, the autograder bundle.

The folder runs grade one quick item (cs231n ReLU) from golden fixtures frozen once per session, so
they need no torch per hand-in; the bundle tests build a real autograder zip, install it into a fresh
venv without torch from the wheels inside it (no package index), and grade one hand-in of each course
on a subset of items, to the same scores as the grader with torch.
"""
from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import tarfile
import termios
import threading
import zipfile
from pathlib import Path

import pytest

from reference.grading.batch import (MAX_BYTES, UnpackError, collect, diagnoses_of, in_shard, merge, parse_shard,
                                     unpack)
from reference.grading.bundle import freeze_profile, profile_cases
from reference.grading.course_grids import item_grid
from reference.grading.formats import ITEMS, Binding
from reference.grading.profiles import Profile, ProfileError

ROOT = Path(__file__).parent.parent
SUBMISSIONS = Path(__file__).parent / "submissions"
LAYERS = (SUBMISSIONS / "cs231n_bare_layers_numpy2" / "layers.py").read_text()
RELU_MISTAKE = "\n\ndef relu_backward(dout, cache):\n    return dout.copy()\n"  # the mask forgotten
RELU_DIAGNOSIS = "relu mask taken on the output with >= (y >= 0 is always true)"
SCHEMA = ROOT / "reference" / "grading" / "schemas" / "gradescope-results.schema.json"


def cli(*args, cwd=ROOT, timeout=600, **kw):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "reference.grade", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env, **kw)


def validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def assert_valid(data: dict) -> None:
    errors = [f"{list(e.path)}: {e.message}" for e in validator().iter_errors(data)]
    assert not errors, errors


def rows(out: Path) -> dict[str, dict]:
    with open(out / "summary.csv", newline="") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


def zip_folder(folder: Path, dest: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, prefix + path.relative_to(folder).as_posix())


@pytest.fixture(scope="session")
def relu_golden(tmp_path_factory) -> Path:
    """Frozen cs231n ReLU cases (base seed 0), so folder runs grade `--item relu` without torch."""
    folder = tmp_path_factory.mktemp("golden")
    (folder / "relu.toml").write_text('format = "cs231n"\ndtypes = ["float64"]\n[items]\nrelu = 2\n')
    run = subprocess.run([sys.executable, "-m", "reference.grading.bundle", "freeze", str(folder / "relu.npz"),
                          "--profile", str(folder / "relu.toml")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0 and "froze 30 cases" in run.stdout, run.stdout + run.stderr
    return folder / "relu.npz"


# --- profiles and fixtures -------------------------------------------------------------------------

def test_profiles_name_the_packages_hand_ins_may_import():
    assert Profile.load("11785-hw2p1").allow == ("scipy",)
    assert Profile.load("cs231n-a2").allow == ()
    base = {"format": "cs231n", "items": {"relu": 1}}
    assert Profile.from_dict({**base, "allow": ["scipy>=1.10,<2"]}, "p").allow == ("scipy>=1.10,<2",)
    for bad, message in ((["torch"], "may not list torch"), ("scipy", "must be a list"), (["sci py"], "must be a list")):
        with pytest.raises(ProfileError, match=message):
            Profile.from_dict({**base, "allow": bad}, "p")


def test_a_frozen_profile_covers_every_binding_and_its_cases_read_back_equal(tmp_path):
    from reference.golden import load

    profile = Profile.from_dict({"format": "mytorch", "dtypes": ["float64"], "items": {"Conv1d": 5, "ReLU": 1}}, "p")
    path = tmp_path / "g.npz"
    digest, count = freeze_profile(str(path), profile, base_seed=4)
    base, frozen = load(str(path))
    assert base == 4 and len(frozen) == count == len(profile_cases(profile)) and len(digest) == 64
    by_id = {c.id: c for c, _ in frozen}
    conv = ITEMS["mytorch"]["Conv1d"]
    with_padding = item_grid("mytorch", conv, Binding("Conv1d", params=("in_channels", "padding")), ("float64",))
    without = item_grid("mytorch", conv, Binding("Conv1d", params=("in_channels",)), ("float64",))
    assert {c.id for c in with_padding} != {c.id for c in without}  # the grid depends on the class: both are frozen
    for case in with_padding + without + item_grid("mytorch", ITEMS["mytorch"]["ReLU"], None, ("float64",)):
        assert by_id[case.id] == case, case.id  # op, shapes, config, dtype, label and inputs round-trip


# --- archives ---------------------------------------------------------------------------------------

def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if isinstance(data, tuple):  # (mode, data): a symlink entry
                info = zipfile.ZipInfo(name)
                info.external_attr = data[0] << 16
                zf.writestr(info, data[1])
            else:
                zf.writestr(name, data)
    return buf.getvalue()


def _tar(members: list) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _member(name, size=0, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, link
    return info


@pytest.mark.parametrize("name, content, message", [
    ("abs.zip", _zip({"/etc/evil.py": "x = 1"}), "absolute path"),
    ("up.zip", _zip({"a/../../evil.py": "x = 1"}), "outside the archive"),
    ("link.zip", _zip({"layers.py": (0o120777, "/etc/passwd")}), "symbolic link"),
    ("link.tar.gz", _tar([(_member("layers.py", kind=tarfile.SYMTYPE, link="/etc/passwd"), None)]), "is a link"),
    ("hard.tar.gz", _tar([(_member("x.py", kind=tarfile.LNKTYPE, link="../y"), None)]), "is a link"),
    ("fifo.tar.gz", _tar([(_member("pipe", kind=tarfile.FIFOTYPE), None)]), "special file"),
    ("drive.zip", _zip({"C:/evil.py": "x = 1"}), "absolute path"),
    ("garbage.zip", b"this is not a zip archive", "corrupt"),
    ("truncated.tar.gz", _tar([(_member("layers.py", 5000), b"x" * 5000)])[:60], "corrupt"),
], ids=["absolute", "dot-dot", "zip-symlink", "tar-symlink", "tar-hardlink", "tar-fifo", "drive-letter", "garbage",
        "truncated"])
def test_unsafe_or_corrupt_archives_are_refused_and_leave_nothing(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnpackError, match=message):
        unpack(str(path), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    assert not Path("/etc/evil.py").exists()


def test_a_zip_bomb_and_too_many_files_are_refused(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("zeros.py", "w") as f:
        for _ in range(MAX_BYTES // 2**20 + 8):
            f.write(bytes(2**20))
    assert bomb.stat().st_size < 2 << 20
    with pytest.raises(UnpackError, match="zip bomb"):
        unpack(str(bomb), str(tmp_path / "a"))
    # tar members are counted as they are written: three that fit alone but not together
    spread = tmp_path / "spread.tar.gz"
    spread.write_bytes(_tar([(_member(f"f{i}.py", 4000), bytes(4000)) for i in range(3)]))
    with pytest.raises(UnpackError, match="more than 10000 bytes"):
        unpack(str(spread), str(tmp_path / "b"), max_bytes=10_000)
    many = tmp_path / "many.zip"
    many.write_bytes(_zip({f"f{i}.py": "" for i in range(30)}))
    with pytest.raises(UnpackError, match="more than 20"):
        unpack(str(many), str(tmp_path / "c"), max_files=20)


def test_a_safe_archive_unpacks_to_its_one_folder_without_mac_junk(tmp_path):
    path = tmp_path / "alice.zip"
    path.write_bytes(_zip({"alice/layers.py": LAYERS, "alice/cs231n/__init__.py": "", "__MACOSX/alice/._layers.py": "\0",
                           "alice/._layers.py": "\0", "alice/.DS_Store": "\0"}))
    root = Path(unpack(str(path), str(tmp_path / "out")))
    assert root == tmp_path / "out" / "alice"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["cs231n", "cs231n/__init__.py", "layers.py"]


# --- shards -------------------------------------------------------------------------------------------

def test_shards_split_every_hand_in_into_exactly_one_stable_slice():
    names = [f"submission_{i}" for i in range(200)]
    for n in (1, 2, 3, 7):
        slices = [[x for x in names if in_shard(x, (i, n))] for i in range(1, n + 1)]
        assert sorted(sum(slices, [])) == sorted(names)
        assert all(len(s) > 200 / n / 2 for s in slices), [len(s) for s in slices]  # roughly balanced
    assert [x for x in names if in_shard(x, (2, 3))] == [x for x in names if in_shard(x, (2, 3))]
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "1", "a/b", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


@pytest.mark.parametrize("args, message", [
    (["--folder", "tests/submissions", "--shard", "3/2"], "--shard 3/2"),
    (["--folder", "tests/submissions", "--shard", "x"], "--shard must be I/N"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--resume"], "--resume goes with --folder"),
    (["tests/submissions/cs231n_bare_layers_numpy2", "--shard", "1/2"], "--shard goes with --folder"),
    (["merge", "tests", "--out", "x"], "no readable summary.json"),
    (["bundle", "--profile", "cs231n-a3"], "did you mean 'cs231n-a2'"),
])
def test_bad_scale_options_are_one_line_and_exit_2(args, message):
    run = cli(*args)
    assert run.returncode == 2, (run.returncode, run.stdout[-500:], run.stderr[-500:])
    assert message in run.stderr and "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_diagnoses_are_written_from_the_typed_findings_and_read_back_from_extra_data():
    """results.json carries each item's diagnoses in extra_data (from the findings and failures of the cases it
    reports); the folder summary reads them there and never out of the Markdown meant for people."""
    from reference.grading.scoring import gradescope, score_item
    from reference.harness import run_case
    from reference.mutants import MUTANTS
    from reference.registry import SPECS

    class Raising:
        @staticmethod
        def relu_forward(x):
            raise ValueError("bad")

        relu_backward = relu_forward

    averaged = next(m for m in MUTANTS if m.name == "batch averaged in dW")
    profile = Profile.from_dict({"ops": {"conv2d": 1, "relu": 1, "sigmoid": 1}}, "p")
    conv = [c for c in SPECS["conv2d"].grid(False) if c.dtype == "float64" and c.shapes["x"][0] > 1][:3]
    relu = [c for c in SPECS["relu"].grid(False)][:2]
    scores = [score_item("conv2d", "conv2d", 1, [run_case(c, averaged.implementation) for c in conv], profile),
              score_item("relu", "relu", 1, [run_case(c, Raising) for c in relu], profile),
              score_item("sigmoid", "sigmoid", 1, [], profile, problem="not implemented: sigmoid_forward not found")]
    tests = json.loads(json.dumps(gradescope(scores)))["tests"]
    assert [diagnoses_of(t) for t in tests] == [["batch averaged in dW"], ["raised ValueError"], ["not implemented"]]
    assert diagnoses_of({"output": "x", "extra_data": {"diagnoses": ["b", "a", "a"]}}) == ["a", "b"]
    text = "conv2d FAILED in dW \u2014 probably: batch averaged in dW\n  relu_forward raised ValueError: bad"
    assert diagnoses_of({"output": text}) == []  # nothing is read back from the Markdown


# --- a Gradescope export: names, active submissions, bad archives, resume, shards + merge ---------------

METADATA = """\
submission_1001:
  :submitters:
  - :name: Ann Lee
    :sid: '1001'
    :email: ann@example.edu
  :created_at: 2024-10-02 21:14:03.511374000 -07:00
  :score: !ruby/object:BigDecimal 18:0.2e1
  :status: processed
  :history: []
submission_1099:
  :submitters:
  - :name: Ann Lee
    :sid: '1001'
    :email: ann@example.edu
  :created_at: 2024-10-01 09:00:00.000000000 -07:00
  :score: 0.0
submission_1002:
  :submitters:
  - :name: Ben Kim
    :sid: '1002'
    :email: ben@example.edu
  :created_at: 2024-10-02 22:00:00.000000000 -07:00
submission_1003:
  :submitters:
  - :name: Cai Wu
    :sid: '1003'
  :created_at: 2024-10-02 23:00:00.000000000 -07:00
submission_1004:
  :submitters:
  - :name: Dee Roy
    :sid: '1004'
  :created_at: 2024-10-02 23:30:00.000000000 -07:00
submission_1005:
  :submitters:
  - :name: '=HYPERLINK("http://example.com") Eve'
    :sid: '1005'
  :created_at: 2024-10-02 23:40:00.000000000 -07:00
submission_1006:
  :submitters:
  - :name: Fay Ng
    :sid: '1006'
  - :name: Gus Ortiz
    :sid: '1007'
  :created_at: 2024-10-02 23:50:00.000000000 -07:00
"""


def make_export(tmp_path: Path) -> Path:
    """An unzipped "Export Submissions" folder: folders, a folder holding a zip, a .tar.gz, a corrupt zip, a bomb."""
    export = tmp_path / "export" / "assignment_4242_export"
    export.mkdir(parents=True)
    (export / "submission_metadata.yml").write_text(METADATA)
    for key, text in (("submission_1001", LAYERS), ("submission_1099", LAYERS + RELU_MISTAKE),
                      ("submission_1006", LAYERS)):
        (export / key).mkdir()
        (export / key / "layers.py").write_text(text)
    (export / "submission_1002").mkdir()  # the student uploaded a zip that was kept as it is
    (tmp_path / "ben").mkdir()
    (tmp_path / "ben" / "layers.py").write_text(LAYERS + RELU_MISTAKE)
    zip_folder(tmp_path / "ben", export / "submission_1002" / "handin.zip", prefix="handin/")
    (export / "submission_1003.zip").write_bytes(b"PK\x03\x04 truncated upload")
    with zipfile.ZipFile(export / "submission_1004.zip", "w", zipfile.ZIP_DEFLATED) as zf, zf.open("layers.py", "w") as f:
        for _ in range(MAX_BYTES // 2**20 + 8):
            f.write(bytes(2**20))
    with tarfile.open(export / "submission_1005.tar.gz", "w:gz") as tf:
        data = LAYERS.encode()
        info = tarfile.TarInfo("layers.py")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return tmp_path / "export"


def comparable(out: Path) -> tuple[dict, str]:
    """summary.csv without the seconds, and summary.md before the parts that depend on the run."""
    table = {k: {c: v for c, v in r.items() if c != "seconds"} for k, r in rows(out).items()}
    return table, (out / "summary.md").read_text().split("## Slowest hand-ins")[0]


def test_a_gradescope_export_is_graded_by_student_with_bad_archives_named_then_resumed_and_sharded(tmp_path, relu_golden):
    export = make_export(tmp_path)
    found = collect(str(export))
    assert found.kind == "Gradescope export"
    assert [e.name for e in found.entries] == [f"submission_100{i}" for i in range(1, 7)]
    options = ["--item", "relu", "--golden", relu_golden, "--profile", "cs231n-a2", "-j", "2"]
    out = tmp_path / "out"
    run = cli("--folder", export, "--out", out, *options)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "\r" not in run.stdout and "Traceback" not in run.stdout + run.stderr  # no bar when stdout is not a terminal
    table = rows(out)
    assert set(table) == {f"submission_100{i}" for i in range(1, 7)}  # the inactive submission_1099 is not a row
    assert table["submission_1001"]["student"] == "Ann Lee" and table["submission_1001"]["sid"] == "1001"
    assert table["submission_1006"]["student"] == "Fay Ng; Gus Ortiz"
    assert table["submission_1005"]["student"] == '\'=HYPERLINK("http://example.com") Eve'  # not a formula
    for good in ("submission_1001", "submission_1005", "submission_1006"):
        assert float(table[good]["score"]) == float(table[good]["max_score"]) == 2.0, table[good]
    assert float(table["submission_1002"]["score"]) < 2.0
    assert table["submission_1003"]["score"] == "" and "corrupt" in table["submission_1003"]["note"]
    assert table["submission_1004"]["score"] == "" and "zip bomb" in table["submission_1004"]["note"]
    summary = (out / "summary.md").read_text()
    assert "submission_1099 (Ann Lee): not the active submission (submission_1001 is)" in summary
    assert f"| relu_forward / relu_backward | {RELU_DIAGNOSIS} | 1 |" in summary
    assert "| relu_forward / relu_backward | 2 | " in summary and "3 of 4 (75.0%)" in summary
    assert "`submission_1004` (Dee Roy): not graded: refused:" in summary
    assert (out / "scores.png").exists() or "```text" in summary
    for key in ("submission_1001", "submission_1002"):
        data = json.loads((out / key / "results.json").read_text())
        assert_valid(data)
    assert RELU_DIAGNOSIS in json.loads((out / "submission_1002" / "results.json").read_text())["tests"][0]["output"]
    before = comparable(out)

    # --resume: complete results are kept; a missing one and one marked incomplete are graded again
    (out / "submission_1006" / "results.json").unlink()
    (out / "submission_1005" / "results.json").write_text('{"score": 0, "tests": [], "incomplete": true}')
    kept = {k: (out / k / "results.json").stat().st_mtime_ns for k in ("submission_1001", "submission_1002")}
    again = cli("--folder", export, "--out", out, *options, "--resume")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "(2 from an earlier run)" in again.stdout, again.stdout
    assert kept == {k: (out / k / "results.json").stat().st_mtime_ns for k in kept}
    assert comparable(out) == before

    # shards: two slices, merged, give the summary of the one run
    for i in (1, 2):
        shard = cli("--folder", export, "--out", tmp_path / f"out{i}", *options, "--shard", f"{i}/2")
        assert shard.returncode == 0, shard.stderr[-2000:]
        assert set(rows(tmp_path / f"out{i}")) == {k for k in table if in_shard(k, (i, 2))}
    merged = cli("merge", tmp_path / "out1", tmp_path / "out2", "--out", tmp_path / "all")
    assert merged.returncode == 0, merged.stderr
    assert comparable(tmp_path / "all") == comparable(out)
    twice = merge([str(tmp_path / "out1"), str(tmp_path / "out1")], str(tmp_path / "twice"))
    assert any("in both" in p for p in twice["problems"])


def test_an_export_handed_over_as_its_zip_is_unpacked_and_graded(tmp_path, relu_golden):
    export = tmp_path / "assignment_77_export"
    (export / "submission_9").mkdir(parents=True)
    (export / "submission_9" / "layers.py").write_text(LAYERS)
    (export / "submission_metadata.yml").write_text("submission_9:\n  :submitters:\n  - :name: Ida Park\n    :sid: '9'\n")
    zip_folder(export, tmp_path / "export.zip", prefix="assignment_77_export/")
    run = cli("--folder", tmp_path / "export.zip", "--out", tmp_path / "out", "--item", "relu", "--golden", relu_golden,
              "--profile", "cs231n-a2")
    assert run.returncode == 0, run.stderr
    assert "1 hand-in: 1 graded" in run.stdout
    row = rows(tmp_path / "out")["submission_9"]
    assert row["student"] == "Ida Park" and float(row["score"]) == 2.0


def _in_a_terminal(args, cwd=ROOT) -> tuple[int, str]:
    """Run the grader with stdout on a pseudo-terminal (120 columns); (exit code, what it showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "-m", "reference.grade", *map(str, args)], stdout=slave,
                            stderr=subprocess.PIPE, cwd=cwd, env=env)
    os.close(slave)
    chunks = []

    def read():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    code = proc.wait(timeout=600)
    reader.join(timeout=10)
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


def test_a_plain_folder_with_clashing_names_and_bad_entries_shows_a_progress_bar(tmp_path, relu_golden):
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "layers.py").write_text(LAYERS)
    zip_folder(subs / "alice", subs / "alice.zip", prefix="alice/")
    (subs / "carol.py").symlink_to(tmp_path / "gone.py")
    (subs / "notes.txt").write_text("grading notes")
    (subs / "evil.zip").write_bytes(_zip({"../evil.py": "x = 1"}))
    code, shown = _in_a_terminal(["--folder", subs, "--out", tmp_path / "out", "--item", "relu", "--golden", relu_golden,
                                  "--profile", "cs231n-a2", "-j", "2"])
    assert code == 0, shown[-2000:]
    assert "\r" in shown and "mean 100.0%" in shown and "4/4" in shown, shown[-2000:]  # tqdm: count, ETA, running mean
    table = rows(tmp_path / "out")
    assert float(table["alice"]["score"]) == float(table["alice.zip"]["score"]) == 2.0
    assert "two hand-ins are named alice" in table["alice.zip"]["note"]
    assert "broken symbolic link" in table["carol.py"]["note"] and table["carol.py"]["score"] == ""
    assert "outside the archive" in table["evil"]["note"]
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "alice: 2 hand-ins have this name (alice/, alice.zip)" in summary
    assert "notes.txt: not a hand-in" in summary

    (tmp_path / "empty").mkdir()
    run = cli("--folder", tmp_path / "empty", "--out", tmp_path / "none")
    assert run.returncode == 0 and "no hand-ins found" in run.stdout, run.stdout + run.stderr
    assert "no hand-ins found" in (tmp_path / "none" / "summary.md").read_text()
    assert (tmp_path / "none" / "summary.csv").read_text().startswith("submission,student,sid,email,score")


# --- the Gradescope autograder bundle ------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch_free_python(tmp_path_factory) -> Path:
    """A fresh venv that does not see this interpreter's packages (no torch, no NumPy until setup.sh)."""
    pytest.importorskip("torch")
    venv = tmp_path_factory.mktemp("container") / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300)
    if made.returncode != 0:
        pytest.skip(f"cannot create a venv with pip here: {made.stderr.strip()[-300:]}")
    python = venv / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import torch"], capture_output=True, text=True, env=_clean_env())
    assert probe.returncode != 0, "the fresh venv imports torch"
    return python


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
           and not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PYTHONNOUSERSITE="1", **extra)  # no find-links or index from this machine
    return env


def _run_autograder(root: Path, submission: Path | None, archive: bool = False) -> dict:
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "submission").mkdir()
    if archive:
        zip_folder(submission, root / "submission" / "handin.zip")
    else:
        shutil.copytree(submission, root / "submission", dirs_exist_ok=True)
    run = subprocess.run(["bash", str(root / "run_autograder")], capture_output=True, text=True, timeout=600,
                         env=_clean_env(AUTOGRADER_ROOT=str(root)), cwd=root)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    data = json.loads((root / "results" / "results.json").read_text())
    assert_valid(data)
    return data


BUNDLES = {
    "cs231n": ("cs231n_bare_layers_numpy2", "layers.py", "conv_naive", """
_right = conv_backward_naive
def conv_backward_naive(dout, cache):
    dx, dw, db = _right(dout, cache)
    return dx, dw / dout.shape[0], db
""", "conv_forward_naive / conv_backward_naive"),
    "mytorch": ("mytorch_flat_2023", "Conv1d.py", "Conv1d_stride1", """
_right_backward = Conv1d_stride1.backward
def _averaged(self, dLdZ):
    dLdA = _right_backward(self, dLdZ)
    self.dLdW = self.dLdW / dLdZ.shape[0]
    return dLdA
Conv1d_stride1.backward = _averaged
""", "Conv1d_stride1"),
}


@pytest.mark.parametrize("course", sorted(BUNDLES))
def test_the_autograder_bundle_grades_without_torch_as_the_grader_does_with_it(tmp_path, torch_free_python, course):
    from reference.grading.scoring import gradescope

    hand_in, file, item, mistake, label = BUNDLES[course]
    relu = "relu" if course == "cs231n" else "ReLU"
    profile = tmp_path / f"{course}-subset.toml"
    profile.write_text(f'format = "{course}"\ndtypes = ["float64"]\ndtype_policy = "values"\nconventions = "note"\n'
                       f'hidden = ["{relu}"]\n[items]\n{item} = 10\n{relu} = 2\n')
    bundle = tmp_path / "autograder.zip"
    built = cli("bundle", "--profile", profile, "--out", bundle, "--seed", "11")
    if built.returncode != 0 and "pip download" in built.stderr:
        pytest.skip(f"cannot fetch NumPy's wheels here: {built.stderr.strip()}")
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        info = json.loads(zf.read("bundle.json"))
    assert {"setup.sh", "run_autograder", "golden.npz", "bundle.json", "requirements.txt"} <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    wheels = sorted(n.split("/")[1].split("-")[0].lower() for n in names if n.startswith("wheels/"))
    assert {"cnn_gradcheck", "numpy", "threadpoolctl", "tqdm", "pyyaml"} <= set(wheels) and "torch" not in wheels, wheels
    assert bundle.stat().st_size < 60 << 20 and info["base_seed"] == 11 and info["items"] == [item, relu]

    # the container: /autograder laid out as Gradescope does, setup.sh into the venv, offline
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], capture_output=True, text=True, timeout=600,
                           env=_clean_env(AUTOGRADER_ROOT=str(root), PYTHON=str(torch_free_python)), cwd=root / "source")
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert "installed from the bundled wheels" in setup.stdout and "bundle ready" in setup.stdout, setup.stdout[-2000:]
    no_torch = subprocess.run([str(torch_free_python), "-c", "import torch"], capture_output=True, text=True,
                              env=_clean_env())
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr

    correct = SUBMISSIONS / hand_in
    data = _run_autograder(root, correct, archive=course == "mytorch")  # a mytorch upload as one zip
    assert data["score"] == data["max_score"] == 12.0, data["output"]
    assert [t["visibility"] for t in data["tests"]] == ["visible", "after_due_date"]
    assert data["stdout_visibility"] == "hidden" and "execution_time" in data
    assert data["output_format"] == gradescope([])["output_format"]  # whatever the grader writes, the bundle writes

    # the same scores as the grader with torch
    live = tmp_path / "live.json"
    with_torch = cli(correct, "--profile", profile, "--seed", "11", "--report", live)
    assert with_torch.returncode == 0, with_torch.stderr[-2000:]
    expected = json.loads(live.read_text())
    assert [(t["name"], t["score"]) for t in data["tests"]] == [(t["name"], t["score"]) for t in expected["tests"]]

    # a planted mistake: named in the output the student sees
    planted = tmp_path / "planted"
    shutil.copytree(correct, planted)
    target = next(planted.rglob(file))
    target.write_text(target.read_text() + "\n" + mistake)
    data = _run_autograder(root, planted)
    test = next(t for t in data["tests"] if t["name"] == label)
    assert test["score"] < test["max_score"] and test["status"] == "failed"
    assert "batch averaged in dW" in test["output"], test["output"][:2000]


def test_an_interrupted_folder_run_keeps_what_it_graded_and_resume_finishes_it(tmp_path, relu_golden):
    import signal
    import time

    subs = tmp_path / "subs"
    for name in ("a", "b", "c"):
        (subs / name).mkdir(parents=True)
        (subs / name / "layers.py").write_text(LAYERS)
    out = tmp_path / "out"
    args = ["--folder", subs, "--out", out, "--item", "relu", "--golden", relu_golden, "--profile", "cs231n-a2", "-j", "1"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "-m", "reference.grade", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    deadline = time.monotonic() + 300
    while not (out / "a" / "results.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # b's grading under way
    proc.send_signal(signal.SIGTERM)  # what a job array's time limit sends
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "--resume grades the rest" in stderr and "interrupted" in (out / "summary.md").read_text()
    assert "a" in rows(out) and "c" not in rows(out)
    finished = cli(*args, "--resume")
    assert finished.returncode == 0, finished.stderr
    assert all(float(r["score"]) == 2.0 for r in rows(out).values()) and set(rows(out)) == {"a", "b", "c"}
    assert "from an earlier run" in finished.stdout
