"""Hostile hand-ins against the sandbox's isolation: each one attacks, and the grade must not move.

Every hostile hand-in here is a small native hand-in in its own temporary folder: a correct ``relu``
and a ``sigmoid`` whose forward runs the attack and returns correct values only when the attack
gained something -- otherwise it raises with what it saw, so the report shows that the attack ran
and why it failed. Each test asserts that the run finishes, that the report is complete (every item
with its full max_score), that the hostile item scores no more than the same code without the attack
(0), and that nothing of the hand-in outlives grading (no process carrying its marker, no cgroup of
this process left). Attacks that need namespaces (or another uid) to be stopped are skipped, with the
level in force named, where this machine cannot provide them; scripts/setup.sh installs bubblewrap.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from reference.golden import freeze
from reference.grading import isolation
from reference.grading.course_grids import item_grid
from reference.grading.engine import grade, plan
from reference.grading.profiles import Profile
from reference.grading.sandbox import BREAKER, MAX_TEXT, Limits
from reference.grading.scoring import gradescope, write_json
from reference.registry import SPECS
import contextlib

ROOT = Path(__file__).parent.parent
SHORT = Limits(time=2.0, memory=1 << 30, file_size=8 << 20, budget=60.0)
RUBRIC = Profile.from_dict({"ops": {"sigmoid": 1, "relu": 1}}, "hostile")
CASES = [c for op in ("sigmoid", "relu") for c in SPECS[op].grid(False)[:2]]
SLEEP = shutil.which("sleep") or "/bin/sleep"

RELU = '''
import numpy as np

def relu_forward(x):
    return np.maximum(x, 0), x

def relu_backward(dout, x):
    return {"x": dout * (x > 0)}
'''
EPILOGUE = '''
    if gained:
        s = 1 / (1 + np.exp(-x))
        return s, s
    raise RuntimeError("attack failed: " + " | ".join(str(n)[:400] for n in notes))

def sigmoid_backward(dout, s):
    return {"x": dout * s * (1 - s)}
'''


def handin(folder: Path, attack: str, prelude: str = "") -> Path:
    """``folder/hostile.py``: ``prelude`` at module level, a correct relu, a sigmoid whose forward runs ``attack``.

    ``attack`` is the body of sigmoid_forward(x): it fills the list ``notes`` and sets ``gained`` (start: False).
    """
    folder.mkdir(parents=True, exist_ok=True)
    body = "def sigmoid_forward(x):\n    notes, gained = [], False\n" + textwrap.indent(textwrap.dedent(attack), "    ")
    path = folder / "hostile.py"
    path.write_text("import os, sys, signal, time\n" + textwrap.dedent(prelude) + RELU + body + EPILOGUE)
    return path


def own_cgroups() -> list[str]:
    """Cgroups this process made and did not remove."""
    left = []
    for _, mount, path in isolation._own_cgroups():
        parent = os.path.join(mount, path.lstrip("/"))
        with contextlib.suppress(OSError):
            left += [os.path.join(parent, n) for n in os.listdir(parent) if n.startswith(f"gradcheck-{os.getpid()}-")]
    return left


def run(path: Path, limits: Limits = SHORT, cases=CASES):
    """Grade ``path``; assert it finished with a complete report and left nothing behind. (Graded, results.json)"""
    start = time.monotonic()
    g = grade(str(path), "native", limits, RUBRIC, cases=cases)
    report = gradescope(g.scores, g.header, g.seconds)
    assert {t["name"]: t["max_score"] for t in report["tests"]} == {"sigmoid": 1, "relu": 1}, report["tests"]
    assert report["max_score"] == 2
    assert not own_cgroups(), own_cgroups()
    assert time.monotonic() - start < 60
    return g, report


def scores(g) -> dict:
    return {s.name: s.score for s in g.scores}


def sigmoid_text(g) -> str:
    s = next(s for s in g.scores if s.name == "sigmoid")
    return "\n".join(s.reports) + s.problem


def contained(g, *expected: str) -> str:
    """The attack gained nothing (sigmoid 0, as without it), grading went on (relu full marks); its report."""
    assert scores(g) == {"sigmoid": 0, "relu": 1}, (scores(g), sigmoid_text(g)[:2000])
    text = sigmoid_text(g)
    for e in expected:
        assert e in text, text[:3000]
    return text


@pytest.fixture
def public():
    """A temporary folder every user may read (pytest's tmp_path is root's alone), so the uid level can apply."""
    folder = Path(tempfile.mkdtemp(prefix="gradcheck-hostile-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def level_at(folder: Path) -> isolation.Confinement:
    """The isolation a hand-in in ``folder`` gets here."""
    return isolation.choose(sys.executable, str(folder))


def need(folder: Path, *levels: str) -> isolation.Confinement:
    """Skip unless a hand-in in ``folder`` is confined at one of ``levels`` (else the attack would hit the grader)."""
    confinement = level_at(folder)
    if confinement.level not in levels:
        pytest.skip(f"needs isolation {' or '.join(levels)}; here: {confinement.describe()}")
    return confinement


def pids_cgroup() -> bool:
    group = isolation.Cgroup.create(1 << 30, 64)
    group.remove()
    return bool(group.pids)


# --- the level in force is named ------------------------------------------------------------------

def test_the_report_names_the_isolation_in_force(public):
    path = handin(public / "plain", "notes.append('no attack')")
    confinement = level_at(path.parent)
    g, report = run(path)
    assert scores(g) == {"sigmoid": 0, "relu": 1}
    line = next(l for l in g.header.splitlines() if l.startswith("isolation: "))
    assert line.startswith(f"isolation: {confinement.describe()}")
    assert "rlimits: address space 1 GiB per process, files 8 MiB" in line and "budget 60 s" in line
    assert line in report["output"]  # results.json carries the header
    if shutil.which("bwrap") and confinement.level != "bubblewrap":  # installed, so it must say why it is not used
        assert "bwrap cannot" in line, line


@pytest.mark.parametrize("level, named", [("uid", "isolation: rlimits"), ("rlimits", "isolation: rlimits only (no bubblewrap")])
def test_the_weaker_levels_still_grade_and_say_what_is_missing(tmp_path, level, named):
    path = handin(tmp_path / "plain", "notes.append('no attack')")
    g, _ = run(path, replace(SHORT, isolation=level))
    assert scores(g) == {"sigmoid": 0, "relu": 1}
    assert named in g.header and "bubblewrap not wanted" in g.header, g.header


def test_without_a_writable_cgroup_grading_goes_on_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "_own_cgroups", lambda: [("memory", str(tmp_path / "no-such-hierarchy"), "/")])
    path = handin(tmp_path / "plain", "notes.append('no attack')")
    g, _ = run(path)
    assert scores(g) == {"sigmoid": 0, "relu": 1}
    assert "no cgroup limits (cannot make a cgroup in " in g.header, g.header


# --- the grader's memory, environment, processes ---------------------------------------------------

def test_the_grader_s_memory_and_environment_stay_secret(public, monkeypatch):
    need(public, "bubblewrap", "uid")
    secret = secrets.token_hex(16)
    monkeypatch.setenv("GRADCHECK_SECRET", secret)
    path = handin(public / "spy", f"""
        others = sorted({{int(p) for p in os.listdir('/proc') if p.isdigit()}} - {{{os.getpid()}, os.getppid(), 1}})
        for pid in [{os.getpid()}, os.getppid(), 1] + others:  # the grader first: the report keeps 2000 characters
            for what in ('environ', 'cmdline'):
                try:
                    data = open(f'/proc/{{pid}}/{{what}}', 'rb').read()
                    if b'GRADCHECK_SECRET' in data:
                        notes.append(data[data.index(b'GRADCHECK_SECRET'):][:60]); gained = True
                except OSError as e:
                    notes.append(f'{{pid}} {{what}}: {{type(e).__name__}}')
            try:
                stack = [l for l in open(f'/proc/{{pid}}/maps') if '[stack]' in l][0]
                lo, hi = (int(v, 16) for v in stack.split()[0].split('-'))
                with open(f'/proc/{{pid}}/mem', 'rb') as mem:
                    mem.seek(lo)
                    data = mem.read(hi - lo)
                if b'GRADCHECK_SECRET=' in data:
                    notes.append(data[data.index(b'GRADCHECK_SECRET='):][:60]); gained = True
            except (OSError, IndexError, ValueError) as e:
                notes.append(f'{{pid}} mem: {{type(e).__name__}}')
        notes.append(repr(dict(os.environ)))
        """)
    g, report = run(path)
    text = contained(g, f"{os.getpid()} environ: ")  # the grader's /proc entry was tried and refused
    dumped = json.dumps(report) + g.header + text
    assert secret not in dumped and "GRADCHECK_SECRET" not in dumped


def test_signals_cannot_reach_the_grader(public):
    confinement = need(public, "bubblewrap", "uid")
    targets = [("os.getppid()", "signal.SIGSTOP"), ("os.getppid()", "signal.SIGKILL"), (str(os.getpid()), "0"),
               (str(os.getpid()), "signal.SIGSTOP")]
    if confinement.level == "bubblewrap":  # as plain uid 65534, kill(-1) would reach every process of nobody's
        targets.append(("-1", "signal.SIGKILL"))
    path = handin(public, f"""
        for target, sig in ({", ".join(f"({t}, {g})" for t, g in targets)},):
            try:
                os.kill(target, sig)
                notes.append(f'kill({{target}}, {{sig}}) went through')
                gained = gained or target == {os.getpid()}
            except OSError as e:
                notes.append(f'kill({{target}}, {{sig}}): {{type(e).__name__}}')
        """)
    g, _ = run(path)
    contained(g, f"kill({os.getpid()}, 0): ")  # the grader's pid is out of reach (not there, or not ours)


def test_the_separate_uid_level_keeps_the_grader_out(public):
    """Without bubblewrap, a root grader starts the worker as uid 65534: the grader's /proc and signals are refused."""
    path = handin(public / "spy", f"""
        for what in ('environ', 'mem'):
            try:
                open('/proc/{os.getpid()}/' + what, 'rb').read(100); notes.append(f'read {{what}}'); gained = True
            except OSError as e:
                notes.append(f'grader {{what}}: {{type(e).__name__}}')
        try:
            os.kill({os.getpid()}, 0); notes.append('grader reachable'); gained = True
        except OSError as e:
            notes.append(f'grader signal: {{type(e).__name__}}')
        notes.append(f'uid {{os.getuid()}}')
        """)
    python = next((p for p in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3")
                   if os.path.exists(p) and not isolation._separate_uid(p, str(path.parent))), None)
    if python is None:
        pytest.skip(f"uid {isolation.NOBODY} can run no interpreter with NumPy here: "
                    f"{isolation._separate_uid(sys.executable, str(path.parent))}")
    g, _ = run(path, replace(SHORT, isolation="uid", python=python))
    assert "isolation: rlimits + separate uid 65534" in g.header
    contained(g, "grader environ: PermissionError", "grader mem: PermissionError", "grader signal: PermissionError",
              "uid 65534")


# --- the checkout, the golden file, other hand-ins ----------------------------------------------------

def test_the_checkout_golden_files_and_other_hand_ins_cannot_be_read(tmp_path):
    need(tmp_path, "bubblewrap")
    golden = tmp_path / "fixtures" / "golden.npz"
    golden.parent.mkdir()
    freeze(str(golden), SPECS["relu"].grid(False)[:2])
    beside = tmp_path / "spy" / "golden.npz"
    beside.parent.mkdir()
    shutil.copy(golden, beside)
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "layers.py").write_text("ANSWER = 42\n")
    finder = [p for p in Path(np.__file__).parent.parent.glob("__editable__*")]
    path = handin(tmp_path / "spy", f"""
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != '_Forbid']  # the import guard, gone
        for name in ('manual_grads', 'reference', 'reference.golden'):
            try:
                __import__(name); notes.append(f'imported {{name}}'); gained = True
            except Exception as e:
                notes.append(f'import {{name}}: {{type(e).__name__}}')
        for p in ({str(ROOT / 'manual_grads' / '__init__.py')!r}, {str(golden)!r}, {str(beside)!r},
                  {str(tmp_path / 'alice' / 'layers.py')!r}, {str(ROOT)!r}):
            try:
                found = os.listdir(p) if os.path.isdir(p) else open(p, 'rb').read(10)
                notes.append(f'read {{p}}'); gained = gained or bool(found)
            except OSError as e:
                notes.append(f'{{p}}: {{type(e).__name__}}')
        """)
    g, _ = run(path)
    text = contained(g, "import manual_grads: ModuleNotFoundError", "import reference: ModuleNotFoundError",
                     f"{golden}: FileNotFoundError", f"{beside}: FileNotFoundError")
    assert "read " not in text and "imported" not in text
    if finder:  # installed editable into the runtime the worker uses: outside the sandbox, -I imports it anywhere
        outside = subprocess.run([sys.executable, "-I", "-c", "import manual_grads"], cwd="/", capture_output=True)
        assert outside.returncode == 0, outside.stderr[-500:]


def test_writes_outside_the_private_tmp_fail(public):
    need(public, "bubblewrap", "uid")
    (public / "bob").mkdir()
    (public / "bob" / "layers.py").write_text("def relu_forward(x):\n    return x, x\n")
    targets = [public / "writer" / "planted.py", public / "writer" / "hostile.py", public / "bob" / "layers.py",
               ROOT / "planted-by-a-hand-in", public / "grader-owned.txt"]
    path = handin(public / "writer", f"""
        for p in {[str(t) for t in targets]!r}:
            try:
                with open(p, 'a') as f:
                    f.write('# written by the hand-in')
                notes.append(f'wrote {{p}}'); gained = True
            except OSError as e:
                notes.append(f'{{p}}: {{type(e).__name__}}')
        with open('/tmp/scratch', 'w') as f:  # its own tmp is fine
            f.write('ok')
        notes.append('scratch ok')
        """)
    before = path.read_text()
    g, _ = run(path)
    text = contained(g, "scratch ok")
    assert "wrote " not in text
    assert path.read_text() == before and (public / "bob" / "layers.py").read_text().startswith("def relu_forward")
    assert not any(t.exists() for t in (targets[0], targets[3], targets[4]))


def test_no_network_and_no_new_namespaces(tmp_path):
    confinement = need(tmp_path, "bubblewrap")
    path = handin(tmp_path / "escaper", """
        import ctypes, socket
        for address in (('1.1.1.1', 53), ('pypi.org', 443)):
            try:
                socket.create_connection(address, timeout=2).close(); notes.append(f'reached {address}'); gained = True
            except OSError as e:
                notes.append(f'{address[0]}: {type(e).__name__}')
        for name, flag in (('user', 0x10000000), ('mount', 0x00020000)):  # unshare(2) to regain capabilities
            if ctypes.CDLL(None, use_errno=True).unshare(flag) == 0:
                notes.append(f'new {name} namespace'); gained = True
            else:
                notes.append(f'{name} namespace: errno {ctypes.get_errno()}')
        """)
    g, _ = run(path)
    text = contained(g, "1.1.1.1: OSError", "pypi.org: ", "mount namespace: errno")
    if "--disable-userns" in confinement.bwrap:
        assert "new user namespace" not in text, text[:1000]


# --- processes, disk -------------------------------------------------------------------------------------

def test_a_fork_bomb_is_bounded_and_killed(public):
    confinement = level_at(public)
    if not pids_cgroup() and (confinement.level == "rlimits" or os.geteuid() == 0 and confinement.level == "bubblewrap"):
        pytest.skip(f"no pids cgroup here, and RLIMIT_NPROC does not bind root ({confinement.describe()})")
    marker = f"bomb-{secrets.token_hex(6)}"
    path = handin(public, f"""
        forked = 0
        try:
            while forked < 1000:
                if os.fork() == 0:
                    os.execv({SLEEP!r}, ['{marker}', '300'])
                forked += 1
        except OSError as e:
            notes.append(f'forked {{forked}} before {{type(e).__name__}}')
        gained = forked >= 1000
        """)
    g, _ = run(path)
    text = contained(g, "forked ")
    forked = int(text.split("forked ")[1].split()[0])
    assert 0 < forked < SHORT.processes, text[:500]
    assert not isolation.processes_with(marker)


def test_disk_filling_is_bounded(public):
    confinement = level_at(public)
    path = handin(public, """
        big = 0
        try:
            with open('big-file', 'wb', buffering=0) as f:
                while big < 200 << 20:
                    big += f.write(b'x' * (1 << 20))
        except OSError as e:
            notes.append(f'one file: {big} bytes, then {type(e).__name__}')
        os.remove('big-file')
        total = 0
        if os.getcwd() == '/tmp':  # a private tmpfs (bubblewrap): fill it with many files
            try:
                for i in range(200):
                    with open(f'/tmp/f{i}', 'wb', buffering=0) as f:
                        total += f.write(b'x' * (1 << 20))
            except OSError as e:
                notes.append(f'many files: {total} bytes, then {type(e).__name__}')
        gained = big > (8 << 20) or total > (32 << 20)
        """)
    g, _ = run(path)
    text = contained(g, f"one file: {8 << 20} bytes, then OSError")
    if confinement.level == "bubblewrap":
        total = int(text.split("many files: ")[1].split()[0])
        assert total <= 32 << 20, text[:500]


@pytest.mark.parametrize("level", ["auto", "rlimits"])
def test_nothing_the_hand_in_started_outlives_grading(public, level):
    if (level == "rlimits" or level_at(public).level == "rlimits") and not pids_cgroup():
        pytest.skip("rlimits only and no cgroup: a setsid daemon with a cleared environment can escape")
    marker = f"daemon-{secrets.token_hex(6)}"
    prelude = f"""
        if os.fork() == 0:
            os.execv({SLEEP!r}, ['{marker}-child', '300'])
        _pid = os.fork()
        if _pid == 0:
            os.setsid()
            if os.fork() == 0:
                os.execve({SLEEP!r}, ['{marker}-daemon', '300'], {{}})
            os._exit(0)
        os.waitpid(_pid, 0)
        """
    path = handin(public, f"""
        alive = []
        for p in os.listdir('/proc'):
            try:
                alive += [p] if b'{marker}' in open(f'/proc/{{p}}/cmdline', 'rb').read() else []
            except OSError:
                pass
        notes.append(f'{{len(alive)}} of mine alive')
        """, prelude)
    g, _ = run(path, replace(SHORT, isolation=level))
    contained(g, "2 of mine alive")  # the child and the daemon ran during grading ...
    assert not isolation.processes_with(marker)  # ... and are gone once grade() returned


def test_a_killed_grader_takes_its_worker_with_it(tmp_path):
    need(tmp_path, "bubblewrap")
    marker = f"orphan-{secrets.token_hex(6)}"
    path = handin(tmp_path / "orphan", "", f"""
        if os.fork() == 0:
            os.setsid()
            os.execve({SLEEP!r}, ['{marker}', '300'], {{}})
        """)
    code = textwrap.dedent(f"""
        import sys, time
        from reference.grading.engine import plan
        from reference.grading.profiles import Profile
        from reference.grading.sandbox import Limits, SandboxedHandIn
        the_plan, _ = plan({str(path)!r}, 'native', Profile.from_dict({{'ops': {{'relu': 1}}}}, 'r'))
        handin = SandboxedHandIn(the_plan, Limits(time=5.0, memory=1 << 30))
        print('ready', flush=True)
        time.sleep(120)
        """)
    grader = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert grader.stdout.readline().strip() == "ready"
        end = time.monotonic() + 10
        while not isolation.processes_with(marker) and time.monotonic() < end:
            time.sleep(0.05)
        assert isolation.processes_with(marker)
    finally:
        grader.kill()
        grader.wait()
    end = time.monotonic() + 10
    while isolation.processes_with(marker) and time.monotonic() < end:
        time.sleep(0.05)
    assert not isolation.processes_with(marker)
    isolation.sweep_stale()  # the dead grader's cgroups and worker folder are removed by the next grader
    left = [p for _, m, c in isolation._own_cgroups() for p in Path(m, c.lstrip("/")).glob(f"gradcheck-{grader.pid}-*")]
    assert not left, left
    assert list(Path(tempfile.gettempdir()).glob(f"gradcheck-worker-{grader.pid}-*"))
    isolation._FOLDERS_SWEPT.clear()
    isolation.sweep_stale_folders()
    assert not list(Path(tempfile.gettempdir()).glob(f"gradcheck-worker-{grader.pid}-*"))


# --- time -------------------------------------------------------------------------------------------------

def test_the_breaker_stops_an_item_whose_backward_never_returns(tmp_path):
    path = tmp_path / "loops.py"
    path.write_text(RELU + textwrap.dedent("""
        def sigmoid_forward(x):
            s = 1 / (1 + np.exp(-x))
            return s, s

        def sigmoid_backward(dout, s):
            while True:
                pass
        """))
    cases = SPECS["sigmoid"].grid(False) + SPECS["relu"].grid(False)[:1]
    limits = replace(SHORT, time=1.0)
    start = time.monotonic()
    g, _ = run(path, limits, cases)
    took = time.monotonic() - start
    results = [r for r in g.results if r.case.op == "sigmoid"]
    timed_out = [r for r in results if "timed out after 1 s" in (r.error or "") and "not run" not in r.error]
    stopped = [r for r in results if "failed 3 times in a row" in (r.error or "")]
    assert len(timed_out) == BREAKER and len(stopped) == len(results) - BREAKER, [r.error for r in results]
    assert all(r.failure.lost and r.failure.exception == "TimedOut" for r in results)  # typed: the breaker's too
    assert scores(g) == {"sigmoid": 0, "relu": 1}
    assert took < BREAKER * limits.time + 15, took


def test_the_budget_ends_a_slow_hand_in(tmp_path):
    path = tmp_path / "slow.py"
    path.write_text(RELU + textwrap.dedent("""
        import time

        def sigmoid_forward(x):
            time.sleep(0.4)
            s = 1 / (1 + np.exp(-x))
            return s, s

        def sigmoid_backward(dout, s):
            return {"x": dout * s * (1 - s)}
        """))
    cases = SPECS["sigmoid"].grid(False) + SPECS["relu"].grid(False)[:2]
    limits = replace(SHORT, time=5.0, budget=2.0)
    start = time.monotonic()
    g, _ = run(path, limits, cases)
    took = time.monotonic() - start
    sigmoid = [r for r in g.results if r.case.op == "sigmoid"]
    assert any(r.ok for r in sigmoid) and any("budget exhausted" in (r.error or "") for r in sigmoid), \
        [r.error for r in sigmoid]
    assert all("budget exhausted" in (r.error or "") for r in g.results if r.case.op == "relu")
    assert all(r.failure.lost and r.failure.exception == "BudgetExhausted" for r in g.results if r.case.op == "relu")
    assert 0 < scores(g)["sigmoid"] < 1 and scores(g)["relu"] == 0
    assert took < limits.budget + 15, took


def test_the_budget_cuts_a_call_short(tmp_path):
    path = handin(tmp_path / "sleeper", "time.sleep(60)")
    start = time.monotonic()
    g, _ = run(path, replace(SHORT, time=30.0, budget=1.5))
    assert time.monotonic() - start < 20
    assert "budget exhausted" in sigmoid_text(g) and "timed out" not in sigmoid_text(g)
    assert scores(g) == {"sigmoid": 0, "relu": 0}


def test_what_the_hand_in_raised_and_where_is_typed_and_checked(tmp_path):
    """The worker says what the hand-in raised and where; the grader keeps a type name and a file:line only."""
    from reference.grading.sandbox import HandInRaised
    from reference.harness import Failure

    path = handin(tmp_path / "raiser", "raise KeyError('no such layer')")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "raise KeyError" in text)
    g, _ = run(path)
    failures = {r.failure for r in g.results if r.case.op == "sigmoid"}
    assert [(f.stage, f.kind, f.exception, f.at, f.lost) for f in failures] == [
        ("sigmoid_forward", "raised", "KeyError", f"hostile.py:{line}", False)]
    forged = HandInRaised("the hand-in raised it", "KeyError; rm -rf /\n", "\x1b[31mlayers.py:3")
    assert (forged.raised, forged.at) == ("", "")
    assert Failure.raised("sigmoid_forward", forged).exception == ""  # not the grader's class name
    own = HandInRaised("the hand-in raised it", "ОшибкаСлоя", "hw2: final/layers.py:7")
    assert (own.raised, own.at) == ("ОшибкаСлоя", "hw2: final/layers.py:7")


# --- forged answers ------------------------------------------------------------------------------------------

def test_a_forged_not_expressible_answer_is_a_failure_not_a_skip(tmp_path):
    path = handin(tmp_path / "forger", """
        raise sys._getframe(1).f_globals['NotExpressible']('this layer cannot take that configuration')
        """)
    g, _ = run(path)
    contained(g, "cannot run this case: this layer cannot take that configuration")
    sigmoid = [r for r in g.results if r.case.op == "sigmoid"]
    assert sigmoid and all(r.error and not r.skipped for r in sigmoid)


def _frame(header: bytes, blobs: bytes = b"", size: int | None = None) -> bytes:
    import struct

    body = struct.pack("<I", len(header)) + header + blobs
    return struct.pack("<Q", len(body) if size is None else size) + body


def _object_array() -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return buf.getvalue()


GARBAGE = {
    "problems is an int": (_frame(b'{"ok": true, "problems": 5, "errors": {}, "_sizes": []}'), "malformed problems"),
    "errors hold a list": (_frame(b'{"ok": true, "problems": {}, "errors": [1, 2], "_sizes": []}'), "malformed errors"),
    "ok is a string": (_frame(b'{"ok": "yes", "_sizes": []}'), "invalid answer importing the hand-in"),
    "huge error text": (_frame(json.dumps({"ok": False, "error": "\x1b[31m" + "E" * 500_000, "_sizes": []}).encode()),
                        "more characters cut"),
    "absurd frame length": (_frame(b"{}", size=1 << 62), "exceeds"),
    "header bomb": (_frame(b'{"ok": false, "error": "' + b"x" * (3 << 20) + b'", "_sizes": []}'), "a header of"),
    "nested JSON": (_frame(b"[" * 200_000), "header is not JSON"),
    "sizes that do not add up": (_frame(b'{"ok": true, "_sizes": [1000000000]}'), "array sizes do not add up"),
    "an object array": (_frame(b'{"ok": true, "_sizes": [%d]}' % len(_object_array()), _object_array()),
                        "an array does not load"),
}


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
def test_garbage_from_the_worker_is_refused(tmp_path, garbage):
    frame, expect = GARBAGE[garbage]
    path = handin(tmp_path / "liar", "notes.append('not reached')", """
        import socket as _socket
        _sock = _socket.socket(fileno=os.dup(int(sys.argv[1])))  # the worker's own socket: speak before it does
        _sock.sendall(open(os.path.join(os.path.dirname(__file__), 'frame.bin'), 'rb').read())
        """)
    (path.parent / "frame.bin").write_bytes(frame)
    g, report = run(path.parent)  # a folder hand-in, so the worker can read frame.bin
    assert scores(g) == {"sigmoid": 0, "relu": 0}
    assert expect in g.load_error, g.load_error
    assert len(g.load_error) < MAX_TEXT + 100 and "\x1b" not in g.load_error and "\x1b" not in json.dumps(report)


def test_a_frame_cut_short_is_a_lost_worker_not_a_hang():
    """The trusted-side reader on its own: a peer that closes mid-frame, or sends nothing, by the deadline."""
    from reference.grading import wire
    from reference.grading.sandbox import _read_reply

    a, b = socket.socketpair()
    b.sendall(_frame(b'{"ok": true, "_sizes": []}')[:-3])
    b.close()
    with pytest.raises(wire.ConnectionClosed, match="connection closed"):
        _read_reply(a, time.monotonic() + 5)
    c, d = socket.socketpair()
    start = time.monotonic()
    with pytest.raises(socket.timeout):
        _read_reply(c, time.monotonic() + 0.3)
    assert time.monotonic() - start < 2
    d.close()


# --- secret inputs: the seed ----------------------------------------------------------------------------------

def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "reference.grade", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_answers_precomputed_for_seed_0_gain_nothing_without_it(tmp_path):
    """A hand-in that returns stored answers for the seed-0 inputs: full marks with --seed 0, nothing otherwise."""
    from reference.harness import oracle

    (tmp_path / "rubric.toml").write_text("[ops]\nrelu = 1\n")
    folder = tmp_path / "memorizer"
    folder.mkdir()
    (folder / "layers.py").write_text("pass\n")
    the_plan, profile = plan(str(folder / "layers.py"), "native", Profile.load(str(tmp_path / "rubric.toml")))
    item = profile.items("native")[0][0]
    answers = {}
    for case in item_grid("native", item, the_plan.bindings[item.name], profile.dtypes):
        ref = oracle(case, case.seed(0))
        x = next(iter(ref.inputs.values()))
        answers[f"{x.dtype}{x.shape}{x.tobytes().hex()}"] = (ref.out.tolist(), ref.grads["x"].tolist(), str(x.dtype))
    (folder / "layers.py").write_text(textwrap.dedent(f"""
        import numpy as np
        ANSWERS = {answers!r}

        def relu_forward(x):
            key = f"{{x.dtype}}{{x.shape}}{{x.tobytes().hex()}}"
            out, dx, dtype = ANSWERS.get(key, (np.full(x.shape, np.nan).tolist(), np.full(x.shape, np.nan).tolist(), str(x.dtype)))
            return np.array(out, dtype=dtype), np.array(dx, dtype=dtype)

        def relu_backward(dout, dx):
            return {{"x": dx}}
        """))
    fixed = grade(str(folder / "layers.py"), "native", SHORT, profile, base_seed=0, the_plan=the_plan)
    assert [s.score for s in fixed.scores] == [1.0]  # the stored answers are right for seed 0 ...
    fresh = cli(str(folder / "layers.py"), "--rubric", str(tmp_path / "rubric.toml"), "--time-limit", "5",
                "--report", str(tmp_path / "fresh.json"))
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    data = json.loads((tmp_path / "fresh.json").read_text())
    assert data["score"] == 0.0 and data["max_score"] == 1.0  # ... and worth nothing under the CLI's fresh seed
    assert "\nisolation: " in data["output"]
    (tmp_path / "broken.py").write_text("def relu_forward(x):\n    return x, x\ndef relu_backward(d, c):\n    return d\n"
                                        "raise ImportError('not loadable')\n")
    again = cli(str(tmp_path / "broken.py"), "--rubric", str(tmp_path / "rubric.toml"))  # no cases run: quick
    assert again.returncode == 3, again.stdout[-2000:]
    seeds = [next(l for l in r.stdout.splitlines() if l.startswith("base seed: ")) for r in (fresh, again)]
    assert seeds[0] != seeds[1] and "base seed: 0 " not in seeds, seeds


# --- reports ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("plant", ["symlink", "directory", "symlink at the report"])
def test_a_planted_path_does_not_redirect_the_report(tmp_path, plant):
    report = tmp_path / "out" / "results.json"
    report.parent.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    if plant == "symlink":
        os.symlink(victim, str(report) + ".tmp")
    elif plant == "directory":
        os.mkdir(str(report) + ".tmp")
    else:
        os.symlink(victim, report)
    write_json(str(report), {"score": 1.0, "max_score": 2.0})
    assert victim.read_text() == "untouched"
    assert not report.is_symlink() and json.loads(report.read_text()) == {"score": 1.0, "max_score": 2.0}
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".results-")]


def test_sigterm_mid_run_writes_an_incomplete_report_and_kills_the_worker(tmp_path):
    marker = f"term-{secrets.token_hex(6)}"
    (tmp_path / "rubric.toml").write_text("[ops]\nsigmoid = 1\nrelu = 2\n")
    path = handin(tmp_path / "stuck", f"""
        if os.fork() == 0:
            os.execv({SLEEP!r}, ['{marker}', '300'])
        time.sleep(120)
        """)
    report = tmp_path / "results.json"
    proc = subprocess.Popen([sys.executable, "-m", "reference.grade", str(path), "--format", "native", "--rubric",
                             str(tmp_path / "rubric.toml"), "--time-limit", "60", "--report", str(report)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 120
        while not isolation.processes_with(marker) and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        assert isolation.processes_with(marker), "the hand-in never ran"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-2000:]
    data = json.loads(report.read_text())
    assert data["incomplete"] is True and data["score"] == 0.0 and data["max_score"] == 3.0
    assert "INCOMPLETE" in data["output"]
    assert not isolation.processes_with(marker)


def test_budget_option_is_validated():
    run_ = cli("tests/submissions/cs231n_bare_layers_numpy2", "--budget", "0")
    assert run_.returncode == 2 and "--budget must be a positive number" in run_.stderr
    assert len(run_.stderr.strip().splitlines()) == 1
