"""Confine the worker that runs a hand-in, and kill everything it started (trusted side).

Three levels; the strongest that works here is used, and every report names it
(:meth:`Confinement.describe`):

* ``bubblewrap`` -- the worker runs under ``bwrap`` in its own user, pid, mount,
  network, ipc, uts and cgroup namespaces, as uid/gid 65534 without capabilities
  and without nested user namespaces. Its file system holds only the Python
  runtime (prefixes and ``sys.path`` of the interpreter, the checkout excluded),
  ``/usr`` and the system libraries, the hand-in and the four worker files, all
  read-only, plus a private size-capped tmpfs as ``/tmp`` (its working folder).
  It sees none of the grader's processes (so cannot read ``/proc/<pid>/mem`` or
  ``environ`` of the grader, or signal it), files, golden fixtures or network.
* ``uid`` -- no bubblewrap, but the grader is root: the worker is started as
  uid/gid 65534 (nobody) in a private folder it owns, so it cannot read the
  grader's memory or environment, signal it or write its files.
* ``rlimits`` -- neither: resource limits and the tree kill only.

At every level the worker sets its rlimits before importing the hand-in
(worker.py), dies with the grader (``PR_SET_PDEATHSIG``), and -- where a cgroup
can be made beneath the grader's own (v1 memory and pids hierarchies, or v2 with
those controllers delegated) -- runs in a per-worker cgroup that caps the whole
tree's memory and process count. :func:`kill_tree` kills the worker's process
group, every process of its cgroup, its pid namespace (bubblewrap) and every
process that carries its token in its environment, and waits until they are gone.
"""
from __future__ import annotations

import ctypes
import functools
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
import contextlib

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(HERE))  # the folder holding reference/ and manual_grads/
PACKAGES = ("reference", "manual_grads")  # the grader's own: never visible to the worker
IS_CHECKOUT = any(os.path.exists(os.path.join(CHECKOUT, f)) for f in ("pyproject.toml", ".git"))
WORKER_FILES = ("worker.py", "wire.py", "loading.py", "adapters.py")
INSIDE = "/gradcheck"  # where bubblewrap mounts the worker files
HANDIN = "/handin"  # where bubblewrap mounts the hand-in (in a folder of its own name)
NOBODY = 65534
LEVELS = ("bubblewrap", "uid", "rlimits")
PR_SET_PDEATHSIG = 1
NAMESPACES = ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
              "--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "gradcheck"]
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime")

try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _PRCTL = None


def _minimal_env() -> dict:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it."""
    path, folder = os.path.normpath(path), os.path.normpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def exposes_checkout(path: str) -> bool:
    """Binding ``path`` would show the worker the grader's own packages from inside, or the source checkout.

    In a source checkout (``pyproject.toml`` or ``.git`` beside ``reference/``), the checkout and its ancestors
    are never bound. Where the packages are installed (a wheel in site-packages, which the runtime needs), the
    folder is bound and :func:`masks` hides ``reference/`` and ``manual_grads/`` in it.
    """
    for p in {os.path.normpath(path), os.path.realpath(path)}:
        for checkout in {CHECKOUT, os.path.realpath(CHECKOUT)}:
            if any(_inside(p, os.path.join(checkout, d)) for d in PACKAGES):
                return True
            if IS_CHECKOUT and _inside(checkout, p):
                return True
    return False


def masks(bound: dict[str, str]) -> list[str]:
    """bwrap options laying an empty read-only tmpfs over the grader's packages wherever a bind shows them.

    ``bound``: host folder -> where it is mounted in the sandbox.
    """
    args = []
    for d in (os.path.join(CHECKOUT, p) for p in PACKAGES):
        for source, dest in bound.items():
            if os.path.isdir(d) and _inside(d, source) and os.path.isdir(source):
                inside = os.path.normpath(os.path.join(dest, os.path.relpath(d, source)))
                args += ["--tmpfs", inside, "--remount-ro", inside]
    return args


# --- what the interpreter needs -----------------------------------------------------------------

_QUERY = ("import json, os, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, "
          "getattr(sys, 'base_exec_prefix', sys.exec_prefix), os.path.dirname(os.path.realpath(sys.executable))]"
          " + sys.path))")


@functools.lru_cache(maxsize=8)
def runtime_paths(python: str) -> tuple[str, ...]:
    """The folders ``python -I`` runs from (prefixes, its real executable's folder, ``sys.path``), fewest covering.

    Left out: what ``/usr`` and the system folders already hold, anything that does not exist, and any
    folder that would expose the checkout (:func:`exposes_checkout`).
    RuntimeError when the interpreter cannot be asked.
    """
    try:
        out = subprocess.run([python, "-I", "-c", _QUERY], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL, env=_minimal_env())
        found = json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise RuntimeError(f"cannot ask {python} where its files are: {exc}") from None
    if not isinstance(found, list):
        raise RuntimeError(f"cannot ask {python} where its files are: {out.stderr.strip()[-200:]}")
    paths = sorted({os.path.normpath(p) for p in found if isinstance(p, str) and p and os.path.exists(p)},
                   key=lambda p: (p.count(os.sep), p))
    kept: list[str] = []
    for p in paths:
        if p == "/" or exposes_checkout(p) or _inside(p, "/usr") or any(_inside(p, k) for k in kept):
            continue
        kept.append(p)
    return tuple(kept)


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for f in SYSTEM_FILES:
        args += ["--ro-bind-try", f, f]
    return args + ["--proc", "/proc", "--dev", "/dev"]


def _tmpfs_args(size: int) -> list[str]:
    return ["--size", str(size), "--tmpfs", "/tmp", "--chdir", "/tmp"]


# --- choosing the level ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _bubblewrap(python: str) -> tuple[str, tuple[str, ...]]:
    """('' and the namespace options) when bubblewrap runs ``python`` here, else (why not, ())."""
    exe = shutil.which("bwrap")
    if not exe:
        return "bubblewrap is not installed (no bwrap on PATH; scripts/setup.sh installs it when run as root)", ()
    try:
        binds = [a for p in runtime_paths(python) for a in ("--ro-bind", p, p)]
    except RuntimeError as exc:
        return str(exc), ()
    why = ""
    for extra in (["--disable-userns"], []):  # --disable-userns needs bwrap >= 0.8 and kernel support
        options = (exe, *NAMESPACES, *extra)
        cmd = [*options, *_system_args(), *_tmpfs_args(16 << 20), *binds, "--", python, "-I", "-c", "pass"]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                                 env=_minimal_env())
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bwrap cannot run: {exc}", ()
        if run.returncode == 0:
            return "", options
        why = why or (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1][:300]
    return f"bwrap cannot make namespaces here ({why})", ()


def _drop_to_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


_NOBODY_QUERY = """
import os, sys, numpy
root = sys.argv[1]
readable = os.access(root, os.R_OK) and all(
    os.access(os.path.join(folder, f), os.R_OK) for folder, _, files in os.walk(root) for f in files + ['.'])
sys.exit(0 if readable else 3)
"""


@functools.lru_cache(maxsize=64)
def _separate_uid(python: str, root: str) -> str:
    """'' when the worker can run as uid 65534 (the grader is root, and nobody can run ``python`` and read ``root``)."""
    if not hasattr(os, "setuid") or os.geteuid() != 0:
        return "the grader is not root, so it cannot start the worker as another user"
    try:
        run = subprocess.run([python, "-I", "-c", _NOBODY_QUERY, root], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL, env=_minimal_env(), preexec_fn=_drop_to_nobody, cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        return f"uid {NOBODY} cannot run {python} ({exc})"
    if run.returncode == 3:
        return f"uid {NOBODY} cannot read the hand-in"
    if run.returncode:
        return f"uid {NOBODY} cannot run {python} with NumPy ({(run.stderr.strip().splitlines() or ['?'])[-1][:200]})"
    return ""


@dataclass(frozen=True)
class Confinement:
    """The isolation level in force for one hand-in, how to start its worker, and why no stronger level is."""

    level: str  # one of LEVELS
    why_not: str = ""  # why the stronger levels are not in force
    bwrap: tuple[str, ...] = ()  # bwrap and its namespace options (level 'bubblewrap')

    def describe(self) -> str:
        """One line for the report header (without the limits)."""
        if self.level == "bubblewrap":
            outside = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
            nested = "" if "--disable-userns" in self.bwrap else "; nested user namespaces allowed (bwrap < 0.8)"
            return (f"bubblewrap (user, pid, mount, net, ipc, uts and cgroup namespaces; uid {NOBODY} without "
                    f"capabilities, {outside} outside; sees only the Python runtime, system libraries and the "
                    f"hand-in, read-only; private /tmp; no network{nested})")
        if self.level == "uid":
            return f"rlimits + separate uid {NOBODY} (no bubblewrap: {self.why_not})"
        return f"rlimits only ({self.why_not})"

    def command(self, python: str, target: str, root: str, folder: str, worker_args: list[str],
                tmpfs_bytes: int) -> tuple[list[str], str, str, str]:
        """(argv, cwd, root, target) that start the worker ``folder/worker/worker.py`` (staged by :func:`stage`).

        The root and target returned are the hand-in's as the worker sees them: under bubblewrap the hand-in is
        mounted read-only at ``/handin/<its folder's name>`` (a one-file hand-in: only that file, so it sees none
        of the files beside it), and error messages name its files relative to that root, as everywhere.
        """
        cwd = os.path.join(folder, "work")
        if self.level != "bubblewrap":
            return [python, "-I", "-B", os.path.join(folder, "worker", "worker.py"), *worker_args], cwd, root, target
        inside_root = f"{HANDIN}/{os.path.basename(os.path.normpath(root)) or 'root'}"
        if os.path.isfile(target):
            inside_target = f"{inside_root}/{os.path.basename(target)}"
            binds = ["--ro-bind", target, inside_target]
        else:
            inside_target = os.path.join(inside_root, os.path.relpath(target, root)) if os.path.exists(target) else target
            binds = ["--ro-bind", root, inside_root]
        runtime = runtime_paths(python)
        args = [*self.bwrap, *_system_args(), *_tmpfs_args(tmpfs_bytes)]
        args += [a for p in runtime for a in ("--ro-bind", p, p)]
        args += [*binds, *masks({**{p: p for p in runtime}, binds[1]: binds[2]})]
        args += ["--ro-bind", os.path.join(folder, "worker"), INSIDE, "--remount-ro", "/"]
        argv = [*args, "--", python, "-I", "-B", f"{INSIDE}/worker.py", *worker_args]
        return argv, cwd, inside_root, os.path.normpath(inside_target)

    def stage(self, folder: str) -> None:
        """Copy the worker files into ``folder/worker`` and make ``folder/work``, readable by the worker's user."""
        os.chmod(folder, 0o755)
        os.mkdir(os.path.join(folder, "worker"), 0o755)
        for name in WORKER_FILES:
            dest = os.path.join(folder, "worker", name)
            shutil.copyfile(os.path.join(HERE, name), dest)
            os.chmod(dest, 0o644)
        work = os.path.join(folder, "work")
        os.mkdir(work, 0o700)
        if self.level == "uid":
            os.chown(work, NOBODY, NOBODY)


def choose(python: str, root: str, wanted: str = "auto") -> Confinement:
    """The strongest level that works for ``python`` and the hand-in at ``root`` (``wanted``: at most this one)."""
    if wanted not in ("auto",) + LEVELS:
        raise ValueError(f"isolation must be auto or one of {', '.join(LEVELS)}, not {wanted!r}")
    reasons = []
    if wanted in ("auto", "bubblewrap"):
        why, options = _bubblewrap(python)
        if not why:
            return Confinement("bubblewrap", bwrap=options)
        reasons.append(why)
    else:
        reasons.append("bubblewrap not wanted")
    if wanted != "rlimits":
        why = _separate_uid(python, os.path.abspath(root))
        if not why:
            return Confinement("uid", "; ".join(reasons))
        reasons.append(f"no separate uid: {why}")
    else:
        reasons.append("no separate uid: not wanted")
    return Confinement("rlimits", "no bubblewrap: " + "; ".join(reasons))


# --- cgroups ---------------------------------------------------------------------------------------

def _own_cgroups() -> list[tuple[str, str, str]]:
    """(controller, mount point, own path) for the memory and pids controllers: v1 hierarchies, else v2."""
    mounts = {}
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                _, point, kind, options = line.split()[:4]
                if kind == "cgroup":
                    for c in ("memory", "pids"):
                        if c in options.split(","):
                            mounts.setdefault(c, point)
                elif kind == "cgroup2":
                    mounts.setdefault("v2", point)
        with open("/proc/self/cgroup") as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return []
    found = []
    for _, controllers, path in lines:
        for c in controllers.split(","):
            if c in ("memory", "pids") and c in mounts:
                found.append((c, mounts[c], path))
    if not found and "v2" in mounts:
        path = next((p for _, c, p in lines if c == ""), None)
        if path is not None:
            found.append(("v2", mounts["v2"], path))
    return found


_SERIAL = itertools.count(1)
_SWEPT: set[str] = set()


def _write(path: str, value) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def _pids_in(folder: str) -> list[int]:
    try:
        with open(os.path.join(folder, "cgroup.procs")) as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def sweep_stale() -> None:
    """Empty and remove the cgroups beside this process's own that graders which died left behind."""
    for _, mount, path in _own_cgroups():
        _sweep_stale(os.path.join(mount, path.lstrip("/")), again=True)


def _sweep_stale(parent: str, again: bool = False) -> None:
    """Empty and remove cgroups in ``parent`` left by graders that died (gradcheck-<pid>-<n>, <pid> gone).

    Done once per folder and process (at its first cgroup there), or ``again``.
    """
    if parent in _SWEPT and not again:
        return
    _SWEPT.add(parent)
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "gradcheck" and parts[1].isdigit() and not _alive(int(parts[1])):
            group = Cgroup([os.path.join(parent, name)], "")
            group.kill()
            group.remove()


_FOLDERS_SWEPT: list[bool] = []


def sweep_stale_folders() -> None:
    """Remove the worker folders (``gradcheck-worker-<pid>-*`` in the temp folder) of graders that died unclean.

    Done once per process; only folders this user owns, whose grader ``<pid>`` is gone.
    """
    if _FOLDERS_SWEPT:
        return
    _FOLDERS_SWEPT.append(True)
    import tempfile

    base = tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        parts = name.split("-")
        if len(parts) == 4 and parts[:2] == ["gradcheck", "worker"] and parts[2].isdigit() and not _alive(int(parts[2])):
            path = os.path.join(base, name)
            try:
                if os.lstat(path).st_uid == os.geteuid() and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


class Cgroup:
    """A per-worker cgroup beneath the grader's own, capping the tree's memory and process count.

    :meth:`create` never fails: where no cgroup can be made, ``folders`` is empty and ``why`` says why.
    """

    def __init__(self, folders: list[str], why: str, memory: int = 0, pids: int = 0):
        self.folders, self.why, self.memory, self.pids = folders, why, memory, pids

    @classmethod
    def create(cls, memory: int, pids: int) -> Cgroup:
        folders, limited, why = [], set(), ""
        name = f"gradcheck-{os.getpid()}-{next(_SERIAL)}"
        for controller, mount, path in _own_cgroups():
            parent = os.path.join(mount, path.lstrip("/"))
            if controller == "v2":
                try:
                    with open(os.path.join(parent, "cgroup.subtree_control")) as f:
                        delegated = set(f.read().split()) & {"memory", "pids"}
                except OSError:
                    delegated = set()
                if not delegated:
                    why = why or "cgroup v2 without the memory and pids controllers delegated"
                    continue
            _sweep_stale(parent)
            folder = os.path.join(parent, name)
            try:
                os.mkdir(folder, 0o755)
            except OSError as exc:
                why = why or f"cannot make a cgroup in {parent} ({exc.strerror})"
                continue
            try:
                if controller in ("memory", "v2") and os.path.exists(os.path.join(folder, "memory.limit_in_bytes")):
                    _write(os.path.join(folder, "memory.limit_in_bytes"), memory)
                    if os.path.exists(os.path.join(folder, "memory.memsw.limit_in_bytes")):
                        _write(os.path.join(folder, "memory.memsw.limit_in_bytes"), memory)  # no swapping around it
                    limited.add("memory")
                if controller == "v2" and os.path.exists(os.path.join(folder, "memory.max")):
                    _write(os.path.join(folder, "memory.max"), memory)
                    if os.path.exists(os.path.join(folder, "memory.swap.max")):
                        _write(os.path.join(folder, "memory.swap.max"), 0)
                    limited.add("memory")
                if controller in ("pids", "v2") and os.path.exists(os.path.join(folder, "pids.max")):
                    _write(os.path.join(folder, "pids.max"), pids)
                    limited.add("pids")
            except OSError as exc:
                why = why or f"cannot set limits in {folder} ({exc.strerror})"
                os.rmdir(folder)
                continue
            folders.append(folder)
        if not folders and not why:
            why = "no memory or pids cgroup controller here"
        return cls(folders, why, memory if "memory" in limited else 0, pids if "pids" in limited else 0)

    def join(self) -> None:
        """Move the calling process into every folder (runs in the child, before exec)."""
        for folder in self.folders:
            try:
                fd = os.open(os.path.join(folder, "cgroup.procs"), os.O_WRONLY)
                try:
                    os.write(fd, str(os.getpid()).encode())
                finally:
                    os.close(fd)
            except OSError:
                pass  # holds() tells the parent

    def holds(self, pid: int) -> bool:
        return bool(self.folders) and all(pid in _pids_in(f) for f in self.folders)

    def processes(self) -> set[int]:
        return {p for f in self.folders for p in _pids_in(f)}

    def kill(self, timeout: float = 5.0) -> None:
        """SIGKILL every process in the cgroup until none is left (or ``timeout`` passes)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pids = self.processes()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self) -> None:
        for folder in self.folders:
            for _ in range(200):
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy while the last processes exit
                    time.sleep(0.01)
        self.folders = []

    def describe(self) -> str:
        parts = ([f"memory {self.memory / 2**30:g} GiB"] if self.memory else []) + \
                ([f"{self.pids} processes"] if self.pids else [])
        return f"cgroup for the whole tree: {', '.join(parts)}" if parts else f"no cgroup limits ({self.why})"


# --- starting and killing ----------------------------------------------------------------------------

def tasks_of(uid: int) -> int:
    """How many tasks (threads) the real uid ``uid`` runs now: RLIMIT_NPROC counts them all, system-wide."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    count += int(fields.get("Threads", "1"))
            except (OSError, ValueError, KeyError):
                pass
    return count


def nproc_limit(confinement: Confinement, processes: int) -> int:
    """RLIMIT_NPROC for the worker: ``processes`` more than its uid outside already runs (0: root, never enforced)."""
    outside = NOBODY if confinement.level == "uid" else os.geteuid()
    return 0 if outside == 0 else tasks_of(outside) + processes


def preexec(confinement: Confinement, cgroup: Cgroup, grader: int):
    """The function run in the child before exec: join the cgroup, drop to nobody (level 'uid'), die with the grader."""
    drop = confinement.level == "uid"

    def run():
        cgroup.join()
        if drop:
            _drop_to_nobody()
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid: a uid change clears it
        if os.getppid() != grader:  # the grader died before the line above
            os._exit(70)
    return run


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (bubblewrap's: the pid namespace's init)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        pass
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def marked(token: str) -> list[int]:
    """Processes whose environment carries ``GRADCHECK_WORKER=<token>`` (those this process may read)."""
    needle = f"GRADCHECK_WORKER={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                pass
    return found


def kill_tree(proc: subprocess.Popen, cgroup: Cgroup, token: str, inits: list[int]) -> None:
    """Kill the worker and everything it started, and wait until they are gone.

    The process group of ``proc`` (bwrap or the worker), the pid namespaces whose init is in ``inits``
    (killing a namespace's init kills all of it), every process in ``cgroup``, and every process with
    ``token`` in its environment (for hand-ins that left the group with setsid).
    """
    for kill in (lambda: os.killpg(proc.pid, signal.SIGKILL), lambda: proc.kill()):
        with contextlib.suppress(OSError):
            kill()
    for pid in inits:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    cgroup.kill()
    if not cgroup.folders:
        for _ in range(3):
            stray = marked(token)
            if not stray:
                break
            for pid in stray:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    end = time.monotonic() + 5
    while any(_alive(p) for p in inits) and time.monotonic() < end:
        time.sleep(0.005)


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker`` (for tests and checks)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read() and _alive(int(entry)):
                        found.append(int(entry))
            except OSError:
                pass
    return found


if __name__ == "__main__":  # python -m reference.grading.isolation: which level works here, and why
    print(choose(sys.executable, os.getcwd()).describe())
    group = Cgroup.create(1 << 30, 64)
    print(group.describe())
    group.remove()
