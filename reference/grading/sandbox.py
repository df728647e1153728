"""Run a hand-in in a worker process, behind the native op API; trust nothing it sends.

:class:`Sandbox` starts ``worker.py`` (under ``--python``'s interpreter when
given) in a fresh temporary directory with ``python -I -B``, single-threaded
BLAS, an address-space and CPU-time cap, no core dumps, and its stdout/stderr
sent to a log file. It then tells the worker what to load — the format and,
for every item, the file and names the trusted side chose. Every call has one
wall-clock deadline (for the whole reply, not per ``recv()``); a call that
times out, crashes the worker or breaks the protocol raises
:class:`SandboxError`, and the next call starts a fresh worker.

Every message from the worker is validated (types, sizes, array dtypes and
count) and every text it sends is cut to :data:`MAX_TEXT` characters and
stripped of control characters before it can reach a report or a terminal.

:meth:`SandboxedHandIn.view` gives, per item, a module-like object with
``<op>_forward`` / ``<op>_backward``, so the harness runs it exactly like
``manual_grads``.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from . import wire
from .formats import Binding

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
MAX_TEXT = 2000  # characters of any text from the worker that reaches a report
MAX_REPLY = 1 << 27  # bytes of one reply frame
FORBIDDEN = ("reference", "manual_grads")


class SandboxError(Exception):
    """The worker did not answer properly: timed out, died, sent something invalid, or the hand-in raised."""

    report_location = False  # the grader's own line is not where the problem is


class HandInRaised(SandboxError):
    """The hand-in's code raised (the worker is fine and goes on)."""


class WorkerLost(SandboxError):
    """The worker timed out, died or broke the protocol (counts towards the breaker)."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text, limit: int = MAX_TEXT) -> str:
    """Untrusted text made safe to print: a string, no control characters, at most ``limit`` characters."""
    text = _CONTROL.sub("?", str(text))
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more characters cut]"


@dataclass(frozen=True)
class Limits:
    time: float = 10.0  # seconds of wall time per call (and for importing the hand-in)
    memory: int = 4 << 30  # bytes of address space for the worker
    forbid_torch: bool = False
    cpu: int = 0  # seconds of CPU time for one worker (0: 6 x the time limit + 30)
    python: str = ""  # the interpreter that runs the hand-in ('' = this one)

    def validate(self) -> None:
        """Raise ValueError naming the option that is out of range."""
        if not (math.isfinite(self.time) and self.time > 0):
            raise ValueError(f"--time-limit must be a positive number of seconds, not {self.time!r}")
        if not (isinstance(self.memory, int) and self.memory >= 64 << 20):
            raise ValueError(f"--memory-limit must be at least 0.0625 GiB (64 MiB), not {self.memory / 2**30!r} GiB")

    @property
    def cpu_seconds(self) -> int:
        return self.cpu or int(6 * self.time + 30)


@dataclass
class Plan:
    """What the trusted side decided: the format, why, and where each item lives."""

    format: str
    target: str  # the hand-in's path (absolute) or a dotted module name
    root: str  # the folder whose files the worker may import
    why: str = ""
    bindings: dict[str, Binding] = field(default_factory=dict)


def _death(proc: subprocess.Popen) -> str:
    code = proc.poll()
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code} (os._exit or an exit from native code in the hand-in)"


def _strings(value, what: str, limit: int = 500) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > limit or not all(isinstance(k, str) for k in value):
        raise wire.WireError(f"malformed {what}")
    return {clean(k, 300): clean(v) for k, v in value.items()}


def _arrays(arrays: list, count: int, what: str) -> list:
    if not isinstance(arrays, list) or len(arrays) != count:
        raise wire.WireError(f"{what}: expected {count} arrays, got {len(arrays) if isinstance(arrays, list) else '?'}")
    for a in arrays:
        if a is not None and (not isinstance(a, np.ndarray) or a.dtype.kind not in "biufc" or a.dtype.hasobject):
            raise wire.WireError(f"{what}: not a numeric array ({getattr(a, 'dtype', type(a).__name__)})")
    return arrays


class Sandbox:
    def __init__(self, plan: Plan, limits: Limits = Limits()):
        self.plan = plan
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
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
        forbidden = FORBIDDEN + (("torch",) if self.limits.forbid_torch else ())
        self.proc = subprocess.Popen(
            [self.limits.python or sys.executable, "-I", "-B", WORKER, str(child.fileno()), str(self.limits.memory),
             str(self.limits.cpu_seconds), ",".join(forbidden)],
            pass_fds=[child.fileno()], cwd=self.tmp, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        child.close()
        self.sock = parent
        request = {"cmd": "load", "format": self.plan.format, "root": self.plan.root, "target": self.plan.target,
                   "bindings": {item: b.to_wire() for item, b in self.plan.bindings.items() if not b.problem}}
        try:
            wire.send(self.sock, request)
            hello, _ = self._receive("importing the hand-in")
            if not isinstance(hello.get("ok"), bool):
                raise WorkerLost("the worker sent an invalid answer importing the hand-in")
            self.hello = {"ok": hello["ok"], "error": clean(hello.get("error", "")),
                          "problems": _strings(hello.get("problems", {}), "problems"),
                          "errors": _strings(hello.get("errors", {}), "errors")} if hello["ok"] else \
                {"ok": False, "error": clean(hello.get("error", "the hand-in could not be loaded")), "problems": {}, "errors": {}}
        except (SandboxError, wire.WireError, OSError) as exc:
            self.hello = {"ok": False, "error": clean(exc), "problems": {}, "errors": {}}
        return self.hello

    def close(self):
        if self.sock is not None:
            self.sock.close()
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and everything it started in its session
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.proc = self.sock = self.tmp = None

    # -- calls ------------------------------------------------------------------------
    def _receive(self, during: str):
        deadline = time.monotonic() + self.limits.time
        try:
            return wire.recv(self.sock, deadline=deadline, max_frame=MAX_REPLY)
        except socket.timeout:
            self.close()
            raise WorkerLost(f"timed out after {self.limits.time:g} s {during} (infinite loop?)") from None
        except (wire.WireError, OSError) as exc:
            unreadable = "exceeds" in str(exc) or "malformed" in str(exc)
            if self.proc is not None and not unreadable:
                try:
                    self.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
                reason = f"the worker {_death(self.proc)} {during}"
            else:
                reason = f"the worker sent an unreadable answer {during}: {clean(exc, 300)}"
            self.close()
            raise WorkerLost(reason) from None

    def call(self, header: dict, arrays: list, during: str, replies: int):
        if self.proc is None:
            self.start()
            if not self.hello.get("ok"):
                raise WorkerLost(self.hello.get("error") or "the hand-in could not be loaded")
        try:
            wire.send(self.sock, header, arrays)
        except OSError:
            reason = f"the worker {_death(self.proc)} before {during}"
            self.close()
            raise WorkerLost(reason) from None
        reply, out = self._receive(during)
        if reply.get("ok") is not True:
            raise HandInRaised(f"the hand-in raised {clean(reply.get('error', 'an error'))}")
        try:
            return reply, _arrays(out, replies if replies >= 0 else len(out), during)
        except wire.WireError as exc:
            self.close()
            raise WorkerLost(f"the worker sent an invalid answer {during}: {exc}") from None


@dataclass(frozen=True)
class _Handle:
    item: str
    handle: int
    generation: int


BREAKER = 3  # consecutive timeouts/crashes after which an item's remaining cases fail without running


class SandboxedHandIn:
    """A sandboxed hand-in: one worker, a module-like :meth:`view` per item.

    After :data:`BREAKER` consecutive timeouts or crashes in one item (counted
    until a whole case -- forward and backward -- succeeds), its further calls
    fail at once with the same reason, so an endless loop costs a few time
    limits, not one per case.
    """

    def __init__(self, plan: Plan, limits: Limits = Limits()):
        self.plan = plan
        self.sandbox = Sandbox(plan, limits)
        self.strikes: dict[str, list[str]] = {}
        hello = self.sandbox.start()
        self.load_error = "" if hello.get("ok") else hello.get("error", "the hand-in could not be loaded")
        self.problems = {**{i: b.problem for i, b in plan.bindings.items() if b.problem}, **hello.get("problems", {})}
        self.file_errors = hello.get("errors", {})
        self.format = plan.format

    def problem(self, item: str) -> str:
        """Why ``item`` cannot be graded at all ('' when it can)."""
        return self.load_error or self.problems.get(item, "")

    def view(self, item: str, op: str):
        return _ItemView(self, item, op)

    def _guarded(self, item, call):
        strikes = self.strikes.setdefault(item, [])
        if len(strikes) >= BREAKER:
            raise WorkerLost(f"not run: {item} failed {BREAKER} times in a row ({strikes[-1]})")
        try:
            return call()
        except WorkerLost as exc:
            strikes.append(str(exc))
            raise

    def forward(self, item, op, *arrays, **config):
        def call():
            reply, out = self.sandbox.call({"cmd": "forward", "item": item, "op": op, "config": wire.to_json(config)},
                                           [None if a is None else np.asarray(a) for a in arrays], f"in {item} forward",
                                           1 + len(arrays))
            if not isinstance(reply.get("handle"), int):
                raise WorkerLost(f"the worker sent an invalid answer in {item} forward")
            _write_back(arrays, out[1:])
            return out[0], _Handle(item, reply["handle"], self.sandbox.generation)
        return self._guarded(item, call)

    def backward(self, item, op, dy, cache):
        if not isinstance(cache, _Handle) or cache.generation != self.sandbox.generation:
            raise WorkerLost("the worker was restarted after the forward (an earlier call failed); its cache is gone")

        def call():
            reply, out = self.sandbox.call({"cmd": "backward", "item": item, "op": op, "handle": cache.handle},
                                           [np.asarray(dy)], f"in {item} backward", -1)
            names = reply.get("names")
            if not (isinstance(names, list) and all(isinstance(n, str) and len(n) < 40 for n in names)
                    and len(names) == len(out) - 1 and len(names) < 16):
                raise WorkerLost(f"the worker sent an invalid answer in {item} backward")
            _write_back([dy], out[-1:])
            return dict(zip(names, out[:-1]))
        grads = self._guarded(item, call)
        self.strikes[item] = []
        return grads

    def close(self):
        self.sandbox.close()


class _ItemView:
    """``<op>_forward`` / ``<op>_backward`` of one item, for reference.harness.run_case."""

    def __init__(self, handin: SandboxedHandIn, item: str, op: str):
        self.__name__ = f"{os.path.basename(str(handin.plan.target).rstrip('/'))}: {item}"
        setattr(self, f"{op}_forward", lambda *a, **k: handin.forward(item, op, *a, **k))
        setattr(self, f"{op}_backward", lambda dy, cache: handin.backward(item, op, dy, cache))


def _write_back(originals, returned):
    """Mirror in-place modifications made in the worker onto the caller's arrays (so they are detected)."""
    for original, after in zip(originals, returned):
        if isinstance(original, np.ndarray) and after is not None and after.shape == original.shape \
                and not np.array_equal(original, after, equal_nan=True):
            np.copyto(original, after, casting="unsafe")
