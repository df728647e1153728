"""Run a hand-in in a confined worker process, behind the native op API; trust nothing it sends.

:class:`Sandbox` starts ``worker.py`` (under ``--python``'s interpreter when
given) with ``python -I -B``, confined as tightly as this machine allows
(:mod:`.isolation`: bubblewrap namespaces as uid 65534 with a read-only view of
only the runtime and the hand-in; else another uid; else rlimits only), in a
per-worker cgroup where one can be made, with single-threaded BLAS, a minimal
environment, rlimits on address space, processes, file size, open files and CPU
time, and no core dumps. It then tells the worker what to load -- the format
and, for every item, the file and names the trusted side chose. Every call has
one wall-clock deadline (for the whole reply, not per ``recv()``), cut short by
what is left of the hand-in's time budget; a call that times out, crashes the
worker or breaks the protocol raises :class:`WorkerLost`, and the next call
starts a fresh worker. Closing (or restarting) a worker kills its whole tree:
process group, pid namespace, cgroup, and anything carrying its token.

Every message from the worker is validated (frame and header sizes, types,
array dtypes and count) and every text it sends is cut to :data:`MAX_TEXT`
characters and stripped of control characters before it can reach a report or
a terminal.

:meth:`SandboxedHandIn.view` gives, per item, a module-like object with
``<op>_forward`` / ``<op>_backward``, so the harness runs it exactly like
``manual_grads``.
"""
from __future__ import annotations

import atexit
import io
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field

import numpy as np

from . import isolation, wire
from .formats import Binding
import contextlib

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
MAX_TEXT = 2000  # characters of any text from the worker that reaches a report
MAX_REPLY = 1 << 27  # bytes of one reply frame
MAX_HEADER = 1 << 20  # bytes of a reply's JSON header (arrays travel as .npy, not JSON)
FORBIDDEN = ("reference", "manual_grads")
STARTUP = 5.0  # seconds added to the time limit for a worker's start (interpreter, NumPy, the hand-in's imports)


# Below this address space a correct hand-in fails for want of memory (measured: at 0.1 GiB a correct cs231n
# hand-in lost 10 of 18 points to MemoryError, at 0.15 GiB none), so a smaller limit is refused as a usage error.
MIN_MEMORY = 1 << 28  # 0.25 GiB
MIN_TIME = 0.5  # seconds per call: below it a correct hand-in's cases time out (at 1 ms: 7.8 of 18 points)


class SandboxError(Exception):
    """The worker did not answer properly: timed out, died, sent something invalid, or the hand-in raised.

    The attributes are what reference.harness.Failure records: ``lost`` (nothing was learnt about the layer),
    and, for :class:`HandInRaised`, ``raised`` and ``at`` (what the hand-in raised and where; '' when unknown)."""

    report_location = False  # the grader's own line is not where the problem is
    lost = False
    raised = None  # None: the exception is the grader's own (its class names what happened); see HandInRaised
    at = ""


class HandInRaised(SandboxError):
    """The hand-in's code raised (the worker is fine and goes on): ``raised`` is its exception's type name and
    ``at`` its ``file:line`` in the hand-in, as the worker said them (checked: a name, a short path and a line)."""

    def __init__(self, message: str, raised: str = "", at: str = ""):
        super().__init__(message)
        self.raised = raised if _is_name(raised) else ""
        self.at = clean(at, 300) if isinstance(at, str) and _PLACE.fullmatch(at) else ""


class WorkerLost(SandboxError):
    """The worker timed out, died or broke the protocol (counts towards the breaker)."""

    lost = True


class TimedOut(WorkerLost):
    """The worker did not answer within the time limit of one call (it is killed)."""


class BudgetExhausted(SandboxError):
    """The hand-in's time budget (``--budget``) is used up: this and every later call fail without running."""

    lost = True


_PLACE = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]{1,300}:\d{1,9}")  # file:line, no control characters


def _is_name(value) -> bool:
    """A (dotted) Python identifier of at most 100 characters: what a class name can be, and nothing else."""
    return isinstance(value, str) and 0 < len(value) <= 100 and all(p.isidentifier() for p in value.split("."))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text, limit: int = MAX_TEXT) -> str:
    """Untrusted text made safe to print: a string, no control characters, at most ``limit`` characters."""
    text = _CONTROL.sub("?", str(text))
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more characters cut]"


@dataclass(frozen=True)
class Limits:
    time: float = 10.0  # seconds of wall time per call (for starting a worker and importing the hand-in: + STARTUP)
    memory: int = 4 << 30  # bytes of address space per worker process, and of memory for its whole cgroup
    forbid_torch: bool = False
    cpu: int = 0  # seconds of CPU time for one worker (0: 6 x the time limit + 30)
    python: str = ""  # the interpreter that runs the hand-in ('' = this one)
    budget: float = 120.0  # seconds the hand-in's workers may take in all: starts, imports, calls (not the grader's work)
    processes: int = 64  # processes (tasks) of the worker's tree: cgroup pids.max and RLIMIT_NPROC
    file_size: int = 64 << 20  # bytes of any one file the worker writes (RLIMIT_FSIZE); its private /tmp: 4 x this
    open_files: int = 256  # file descriptors per worker process (RLIMIT_NOFILE)
    isolation: str = "auto"  # 'auto' (the strongest that works), or at most 'bubblewrap', 'uid', 'rlimits'

    def validate(self) -> None:
        """Raise ValueError naming the option that is out of range."""
        if not (math.isfinite(self.time) and self.time >= MIN_TIME):
            raise ValueError(f"--time-limit must be at least {MIN_TIME:g} s (one reply of a correct layer, with the "
                             f"worker's round trip, can take that long on a busy machine), not {self.time!r}")
        if not (isinstance(self.memory, int) and self.memory >= MIN_MEMORY):
            raise ValueError(f"--memory-limit must be at least {MIN_MEMORY / 2**30:g} GiB (the worker, NumPy and the "
                             f"largest graded case need that much), not {self.memory / 2**30:.3g} GiB")
        if not (isinstance(self.budget, (int, float)) and math.isfinite(self.budget) and self.budget > 0):
            raise ValueError(f"--budget must be a positive number of seconds, not {self.budget!r}")
        if not (self.processes >= 8 and self.file_size >= 1 << 20 and self.open_files >= 32):
            raise ValueError("processes >= 8, file_size >= 1 MiB and open_files >= 32 are needed to run Python at all")
        if self.isolation not in ("auto",) + isolation.LEVELS:
            raise ValueError(f"isolation must be auto or one of {', '.join(isolation.LEVELS)}, not {self.isolation!r}")

    @property
    def cpu_seconds(self) -> int:
        return self.cpu or int(6 * self.time + 30)

    def describe(self) -> str:
        """The per-process rlimits, for the report header."""
        return (f"rlimits: address space {self.memory / 2**30:g} GiB per process, files {self.file_size / 2**20:g} MiB, "
                f"{self.open_files} open files, CPU {self.cpu_seconds} s, no core dumps, {self.processes} more processes "
                f"(RLIMIT_NPROC, which does not bind root); {self.time:g} s per call, budget {self.budget:g} s")


@dataclass
class Plan:
    """What the trusted side decided: the format, why, and where each item lives."""

    format: str
    target: str  # the hand-in's path (absolute) or a dotted module name
    root: str  # the folder whose files the worker may import
    why: str = ""
    bindings: dict[str, Binding] = field(default_factory=dict)


def _death(proc: subprocess.Popen, wrapped: bool = False) -> str:
    """How the worker ended. ``wrapped``: ``proc`` is bwrap, which exits with 128 + N when the worker got signal N."""
    code = proc.poll()
    if code is None:
        return "stopped answering"
    if wrapped and 128 < code < 128 + 65:
        code = 128 - code
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code} (os._exit or an exit from native code in the hand-in)"


def _strings(value, what: str, limit: int = 500) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > limit or not all(isinstance(k, str) for k in value):
        raise wire.MalformedFrame(f"malformed {what}")
    return {clean(k, 300): clean(v) for k, v in value.items()}


def _arrays(arrays: list, count: int, what: str) -> list:
    if not isinstance(arrays, list) or len(arrays) != count:
        raise wire.MalformedFrame(f"{what}: expected {count} arrays, got {len(arrays) if isinstance(arrays, list) else '?'}")
    for a in arrays:
        if a is not None and (not isinstance(a, np.ndarray) or a.dtype.kind not in "biufc" or a.dtype.hasobject):
            raise wire.MalformedFrame(f"{what}: not a numeric array ({getattr(a, 'dtype', type(a).__name__)})")
    return arrays


def _read_reply(sock: socket.socket, deadline: float) -> tuple[dict, list]:
    """One frame from the worker by ``deadline``: like wire.recv, but the JSON header is capped at :data:`MAX_HEADER`
    bytes (a frame of nothing but JSON would cost the grader many times its size) and the array sizes are checked
    against the frame before anything is parsed. WireError on anything malformed, socket.timeout at the deadline."""
    (size,) = struct.unpack("<Q", wire._recv_exactly(sock, 8, deadline))
    if size > MAX_REPLY:
        raise wire.FrameTooLarge(f"frame of {size} bytes exceeds the {MAX_REPLY}-byte limit")
    body = wire._recv_exactly(sock, size, deadline)
    if size < 4:
        raise wire.MalformedFrame("malformed frame: shorter than its header length")
    (head_len,) = struct.unpack("<I", body[:4])
    if head_len > MAX_HEADER or 4 + head_len > size:
        raise wire.MalformedFrame(f"malformed frame: a header of {head_len} bytes (at most {MAX_HEADER}, inside the frame)")
    try:
        header = json.loads(body[4:4 + head_len])
    except (ValueError, RecursionError) as exc:
        raise wire.MalformedFrame(f"malformed frame: header is not JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise wire.MalformedFrame("malformed frame: header is not an object")
    sizes = header.pop("_sizes", None)
    if not (isinstance(sizes, list) and len(sizes) <= 64 and all(type(n) is int and n >= 0 for n in sizes)
            and 4 + head_len + sum(sizes) == size):
        raise wire.MalformedFrame("malformed frame: array sizes do not add up to the frame")
    arrays, offset = [], 4 + head_len
    for n in sizes:
        try:
            arrays.append(np.load(io.BytesIO(body[offset:offset + n]), allow_pickle=False) if n else None)
        except Exception as exc:  # noqa: BLE001 - anything np.load raises on bytes from the untrusted side
            raise wire.MalformedFrame(f"malformed frame: an array does not load ({type(exc).__name__})") from None
        offset += n
    return header, arrays


_LIVE: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """When the grader exits, no worker outlives it (on a kill, PR_SET_PDEATHSIG does the same)."""
    for sandbox in list(_LIVE):
        sandbox.close()


class Sandbox:
    """One hand-in's worker: started confined, restarted after a failure, killed with its whole tree on close.

    ``spent`` is the wall time the hand-in's workers have taken (starts, imports and calls); once it reaches
    ``limits.budget`` every call raises :class:`BudgetExhausted`.
    """

    def __init__(self, plan: Plan, limits: Limits = Limits()):
        self.plan = plan
        self.limits = limits
        self.generation = 0  # bumped at each (re)start: caches of an older worker are gone
        self.proc = self.sock = self.tmp = None
        self.cgroup = isolation.Cgroup([], "not started")
        self.token, self.inits = "", []
        self.hello: dict = {}
        self.spent = 0.0
        self.confinement: isolation.Confinement | None = None
        self.cgroup_text = ""

    @property
    def python(self) -> str:
        return self.limits.python or sys.executable

    @property
    def wrapped(self) -> bool:
        """The process started is bwrap, not the worker itself."""
        return self.confinement is not None and self.confinement.level == "bubblewrap"

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.limits.budget

    def describe(self) -> str:
        """The isolation in force, for the report: level, cgroup limits, rlimits."""
        if self.confinement is None:
            return "not started"
        return f"{self.confinement.describe()}; {self.cgroup_text or self.cgroup.describe()}; {self.limits.describe()}"

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> dict:
        self.close()
        self.generation += 1
        began = time.monotonic()
        try:
            self.hello = self._start()
        finally:
            self.spent += time.monotonic() - began
        return self.hello

    def _start(self) -> dict:
        if self.confinement is None:
            self.confinement = isolation.choose(self.python, self.plan.root, self.limits.isolation)
        isolation.sweep_stale_folders()
        self.tmp = tempfile.mkdtemp(prefix=f"gradcheck-worker-{os.getpid()}-")
        self.confinement.stage(self.tmp)
        self.cgroup = isolation.Cgroup.create(self.limits.memory, self.limits.processes)
        self.token = secrets.token_hex(12)
        parent, child = socket.socketpair()
        home = "/tmp" if self.confinement.level == "bubblewrap" else os.path.join(self.tmp, "work")
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "LANG": "C.UTF-8",
               "GRADCHECK_WORKER": self.token}
        forbidden = FORBIDDEN + (("torch",) if self.limits.forbid_torch else ())
        worker_args = [str(child.fileno()), str(self.limits.memory), str(self.limits.cpu_seconds), ",".join(forbidden),
                       str(isolation.nproc_limit(self.confinement, self.limits.processes)), str(self.limits.file_size),
                       str(self.limits.open_files)]
        argv, cwd, root, target = self.confinement.command(self.python, str(self.plan.target), self.plan.root, self.tmp,
                                                           worker_args, max(4 * self.limits.file_size, 16 << 20))
        launcher = os.path.join(self.tmp, "launcher.log")  # bwrap's own complaints; the worker's output is discarded
        try:
            with open(launcher, "wb") as log:
                self.proc = subprocess.Popen(
                    argv, pass_fds=[child.fileno()], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
                    preexec_fn=isolation.preexec(self.confinement, self.cgroup, os.getpid()))
        except (OSError, subprocess.SubprocessError) as exc:
            parent.close()
            return {"ok": False, "error": clean(f"could not start the worker: {exc}"), "problems": {}, "errors": {}}
        finally:
            child.close()
        _LIVE.add(self)
        self.sock = parent
        joined = not self.cgroup.folders or self.cgroup.holds(self.proc.pid)
        self.cgroup_text = self.cgroup.describe() if joined else \
            f"no cgroup limits (the worker could not join {self.cgroup.folders[0]})"
        request = {"cmd": "load", "format": self.plan.format, "root": root, "target": target,
                   "bindings": {item: b.to_wire() for item, b in self.plan.bindings.items() if not b.problem}}
        try:
            wire.send(self.sock, request)
            hello, _ = self._receive("importing the hand-in", STARTUP)
            if self.confinement.level == "bubblewrap":
                self.inits = isolation.children(self.proc.pid)
            return self._hello(hello)
        except (SandboxError, wire.WireError, OSError) as exc:
            self.close()
            return {"ok": False, "error": clean(exc), "problems": {}, "errors": {}}

    @staticmethod
    def _hello(hello: dict) -> dict:
        """The worker's answer to the load request, validated (WorkerLost when it is not one)."""
        if not isinstance(hello.get("ok"), bool):
            raise WorkerLost("the worker sent an invalid answer importing the hand-in")
        if not hello["ok"]:
            return {"ok": False, "error": clean(hello.get("error", "the hand-in could not be loaded")), "problems": {},
                    "errors": {}}
        try:
            return {"ok": True, "error": clean(hello.get("error", "")),
                    "problems": _strings(hello.get("problems", {}), "problems"),
                    "errors": _strings(hello.get("errors", {}), "errors")}
        except wire.WireError as exc:
            raise WorkerLost(f"the worker sent an invalid answer importing the hand-in: {exc}") from None

    def _launcher_said(self) -> str:
        """What bwrap (or Python before the worker took over its stderr) printed, cut; '' when nothing."""
        try:
            with open(os.path.join(self.tmp, "launcher.log"), "rb") as f:
                text = f.read(4000).decode("utf-8", "replace").strip()
        except (OSError, TypeError):
            return ""
        return f" ({clean(text.splitlines()[-1], 300)})" if text else ""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        if self.proc is not None:
            inits = self.inits or (isolation.children(self.proc.pid) if self.confinement.level == "bubblewrap" else [])
            isolation.kill_tree(self.proc, self.cgroup, self.token, inits)
        self.cgroup.remove()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.proc = self.sock = self.tmp = None
        self.inits = []
        _LIVE.discard(self)

    # -- calls ------------------------------------------------------------------------
    def _receive(self, during: str, allowance: float = 0.0):
        """The worker's reply within the time limit (+ ``allowance``), cut short by what is left of the budget."""
        left = self.limits.budget - self.spent
        limit = min(self.limits.time + allowance, left)
        try:
            return _read_reply(self.sock, time.monotonic() + max(limit, 0))
        except socket.timeout:
            self.close()
            if left < self.limits.time + allowance:
                raise BudgetExhausted(f"budget exhausted {during}: the hand-in used up its {self.limits.budget:g} s "
                                      "time budget (--budget)") from None
            raise TimedOut(f"timed out after {self.limits.time + allowance:g} s {during} (infinite loop?)") from None
        except (wire.WireError, OSError) as exc:
            unreadable = isinstance(exc, (wire.FrameTooLarge, wire.MalformedFrame))
            if self.proc is not None and not unreadable:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=2)
                said = self._launcher_said() if self.proc.poll() is not None else ""
                reason = f"the worker {_death(self.proc, self.wrapped)} {during}{said}"
            else:
                reason = f"the worker sent an unreadable answer {during}: {clean(exc, 300)}"
            self.close()
            raise WorkerLost(reason) from None

    def call(self, header: dict, arrays: list, during: str, replies: int):
        if self.exhausted:
            raise BudgetExhausted(f"budget exhausted: the hand-in used up its {self.limits.budget:g} s time budget "
                                  f"(--budget); not run ({during})")
        if self.proc is None:
            self.start()
            if not self.hello.get("ok"):
                raise WorkerLost(self.hello.get("error") or "the hand-in could not be loaded")
        began = time.monotonic()
        try:
            try:
                wire.send(self.sock, header, arrays)
            except OSError:
                reason = f"the worker {_death(self.proc, self.wrapped)} before {during}"
                self.close()
                raise WorkerLost(reason) from None
            reply, out = self._receive(during)
        finally:
            self.spent += time.monotonic() - began
        if reply.get("ok") is not True:
            raise HandInRaised(f"the hand-in raised {clean(reply.get('error', 'an error'))}", reply.get("raised", ""),
                               reply.get("at", ""))
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
    until a whole case -- forward and backward -- succeeds, whatever the
    forward did), its further calls fail at once with the same reason, so an
    endless loop costs a few time limits, not one per case. Once the hand-in's
    time budget (``limits.budget``) is used up, every further call fails with
    "budget exhausted" without running.
    """

    def __init__(self, plan: Plan, limits: Limits = Limits()):
        self.plan = plan
        self.sandbox = Sandbox(plan, limits)
        self.strikes: dict[str, list[tuple[type, str]]] = {}  # item -> the WorkerLost class and text of each strike
        hello = self.sandbox.start()
        self.isolation = self.sandbox.describe()
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
            kind, last = strikes[-1]
            raise kind(f"not run: {item} failed {BREAKER} times in a row ({last})")
        try:
            return call()
        except WorkerLost as exc:
            strikes.append((type(exc), str(exc)))
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
