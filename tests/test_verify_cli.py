"""The verifier's command line: paths as --impl, one-line errors, Ctrl-C keeps the finished table; the thread rule."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from reference import threads

ROOT = Path(__file__).parent.parent


def verify(*args, **kw):
    return subprocess.run([sys.executable, "-m", "reference.verify", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, **kw)


def test_impl_takes_a_path(tmp_path):
    (tmp_path / "mine.py").write_text("from manual_grads import relu_forward, relu_backward\n")
    run = verify("--impl", str(tmp_path / "mine.py"), "--op", "relu")
    assert run.returncode == 0 and "6 passed, 0 failed" in run.stdout, run.stdout + run.stderr


def test_an_unimportable_impl_is_one_line_and_exit_2(tmp_path):
    run = verify("--impl", str(tmp_path / "missing.py"))
    assert run.returncode == 2 and "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_ctrl_c_prints_what_was_finished(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "reference.verify", "--family", "activation", "--family", "conv", "--full-grid"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().startswith("verifying")  # started (torch loaded, signals handled)
    time.sleep(3)  # activations (~0.1 s) are done; the full conv grid takes minutes
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "relu" in out and "INTERRUPTED after" in out and "interrupted:" in err, (out, err)
    assert " passed, 0 failed in " not in out  # no closing line that reads as a verdict


def test_one_thread_rule_divides_the_cores():
    n = threads.cores()
    assert threads.share(1) == n and threads.share(n) == 1 and threads.share(10 * n) == 1
    env = threads.environment(3, base={"PATH": "/bin"})
    assert {env[v] for v in threads.VARIABLES} == {"3"} and env["PATH"] == "/bin"


def test_list_cases_prints_the_grid_as_a_table():
    from reference.registry import SPECS

    run = verify("--list-cases", "--op", "conv2d")
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0 and lines[0].split()[:3] == ["op", "dtype", "inputs"]
    assert lines[-1] == f"{len(SPECS['conv2d'].grid(False))} cases" and len(lines) == len(SPECS["conv2d"].grid(False)) + 2
