"""Run an untrusted implementation in a worker process, behind the native op API.

:class:`Sandbox` starts ``reference/worker.py`` in a fresh temporary directory
with ``python -I``, single-threaded BLAS, an address-space (memory) cap, and
its stdout/stderr sent to a log file (so nothing it prints reaches the
grader's output). Every call has a wall-time limit; a call that times out,
crashes the worker (segfault, ``os._exit``, memory kill) or breaks the
protocol raises :class:`SandboxError` naming what happened, and the next call
starts a fresh worker — the grading run goes on.

:class:`SandboxedImplementation` looks like a module with ``<op>_forward`` and
``<op>_backward``, so the harness runs it exactly like ``manual_grads``.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

from . import wire
from .adapters import NotExpressible

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


class SandboxError(Exception):
    """The worker did not answer: timed out, died, or sent something unreadable."""

    report_location = False  # the grader's own line is not where the problem is


@dataclass(frozen=True)
class Limits:
    time: float = 10.0  # seconds of wall time per call (and for importing the submission)
    memory: int = 4 << 30  # bytes of address space for the worker
    forbid_torch: bool = False


def _death(proc: subprocess.Popen) -> str:
    code = proc.poll()
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code} (os._exit or an exit from native code in the submission)"


class Sandbox:
    def __init__(self, target: str, fmt: str = "auto", limits: Limits = Limits()):
        self.target = os.path.abspath(target) if os.path.exists(target) else target
        self.fmt = fmt
        self.limits = limits
        self.generation = 0  # bumped at each (re)start: caches of an older worker are gone
        self.proc = self.sock = self.tmp = None
        self.hello: dict = {}

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> dict:
        self.close()
        self.generation += 1
        self.tmp = tempfile.mkdtemp(prefix="gradcheck-worker-")
        parent, child = socket.socketpair()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.tmp, "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", WORKER, str(child.fileno()), self.target, self.fmt, str(self.limits.memory), "0",
             "1" if self.limits.forbid_torch else "0"],
            pass_fds=[child.fileno()], cwd=self.tmp, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        child.close()
        self.sock = parent
        try:
            self.hello, _ = self._receive("importing the submission")
        except SandboxError as exc:
            self.hello = {"ok": False, "error": str(exc)}
        return self.hello

    def close(self):
        if self.sock is not None:
            self.sock.close()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.proc = self.sock = self.tmp = None

    def output_tail(self, chars: int = 600) -> str:
        """The end of what the submission printed (shown indented, never as the grader's own lines)."""
        try:
            with open(os.path.join(self.tmp, "submission-output.log"), errors="replace") as f:
                return f.read()[-chars:]
        except (OSError, TypeError):
            return ""

    # -- calls ------------------------------------------------------------------------
    def _receive(self, during: str):
        self.sock.settimeout(self.limits.time)
        try:
            return wire.recv(self.sock)
        except socket.timeout:
            self.close()
            raise SandboxError(f"timed out after {self.limits.time:g} s {during} (infinite loop?)") from None
        except (wire.WireError, OSError) as exc:
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
                reason = f"the worker {_death(self.proc)} {during}"
            else:
                reason = f"the worker was gone {during}"
            if "exceeds" in str(exc) or "malformed" in str(exc):
                reason = f"the worker sent an unreadable answer {during}: {exc}"
            self.close()
            raise SandboxError(reason) from None

    def call(self, header: dict, arrays: list, during: str):
        if self.proc is None:
            self.start()
            if not self.hello.get("ok"):
                raise SandboxError(self.hello.get("error", "the submission could not be loaded"))
        try:
            wire.send(self.sock, header, arrays)
        except OSError:
            reason = f"the worker {_death(self.proc)} before {during}"
            self.close()
            raise SandboxError(reason) from None
        reply, out = self._receive(during)
        if reply.get("not_expressible"):
            raise NotExpressible(reply["not_expressible"])
        if not reply.get("ok"):
            raise SandboxError(f"the submission raised {reply.get('error', 'an error')}")
        return reply, out


@dataclass(frozen=True)
class _Handle:
    op: str
    handle: int
    generation: int


BREAKER = 3  # consecutive timeouts/crashes after which an op's remaining cases fail without running


class SandboxedImplementation:
    """A module-like view of a sandboxed submission: ``<op>_forward`` / ``<op>_backward``.

    After :data:`BREAKER` consecutive timeouts or crashes in one op, its further
    calls fail at once with the same reason, so an endless loop costs a few time
    limits, not one per case.
    """

    def __init__(self, target: str, fmt: str = "auto", limits: Limits = Limits()):
        self.sandbox = Sandbox(target, fmt, limits)
        self.strikes: dict[str, list[str]] = {}
        hello = self.sandbox.start()
        self.functions = set(hello.get("functions", ()))
        self.format = hello.get("format", fmt)
        self.load_error = "" if hello.get("ok") else hello.get("error", "")
        self.__name__ = os.path.basename(str(target).rstrip("/")) + (f" ({self.load_error})" if self.load_error else "")

    def __getattr__(self, name: str):
        for suffix, method in (("_forward", self._forward), ("_backward", self._backward)):
            if name.endswith(suffix) and name in self.__dict__.get("functions", ()):
                op = name[: -len(suffix)]
                return lambda *args, **kwargs: self._guarded(op, method, *args, **kwargs)
        raise AttributeError(name)

    def _guarded(self, op, method, *args, **kwargs):
        strikes = self.strikes.setdefault(op, [])
        if len(strikes) >= BREAKER:
            raise SandboxError(f"not run: {op} failed {BREAKER} times in a row ({strikes[-1]})")
        try:
            result = method(op, *args, **kwargs)
        except SandboxError as exc:
            if not str(exc).startswith("the submission raised"):  # a timeout or a dead worker
                strikes.append(str(exc))
            raise
        strikes.clear()
        return result

    def _forward(self, op, *arrays, **config):
        reply, out = self.sandbox.call({"cmd": "forward", "op": op, "config": wire.to_json(config)},
                                       [None if a is None else np.asarray(a) for a in arrays], f"in {op}_forward")
        _write_back(arrays, out[1:])
        return out[0], _Handle(op, reply["handle"], self.sandbox.generation)

    def _backward(self, op, dy, cache):
        if not isinstance(cache, _Handle) or cache.generation != self.sandbox.generation:
            raise SandboxError("the worker was restarted after the forward (an earlier call failed); its cache is gone")
        reply, out = self.sandbox.call({"cmd": "backward", "op": op, "handle": cache.handle}, [np.asarray(dy)],
                                       f"in {op}_backward")
        _write_back([dy], out[-1:])
        return dict(zip(reply["names"], out[:-1]))

    def close(self):
        self.sandbox.close()


def _write_back(originals, returned):
    """Mirror in-place modifications made in the worker onto the caller's arrays (so they are detected)."""
    for original, after in zip(originals, returned):
        if isinstance(original, np.ndarray) and after is not None and after.shape == original.shape \
                and not np.array_equal(original, after, equal_nan=True):
            np.copyto(original, after, casting="unsafe")
