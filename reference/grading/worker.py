"""The worker process that runs untrusted layer code (started by reference.grading.sandbox; never imported).

It closes every inherited file descriptor but the socket, sets its limits
(address space, processes, file size, open files, CPU time, no core dumps),
asks to be killed when its parent dies, sends its output to /dev/null, then
waits for the grader's load request (format, hand-in root,
and for each item the file and names the trusted side chose), imports those
files the course's way (loading.py), then answers forward and backward
requests over a socket (wire.py: JSON + .npy, no pickle). It holds the caches;
it never receives expected values. ``reference`` and ``manual_grads`` are not
importable here, and neither is ``torch`` when forbidden. Anything the hand-in
raises, SystemExit and KeyboardInterrupt included, is answered as an error and
the worker goes on. Standard library and NumPy only; runs under any Python
>= 3.8 the grader is pointed at with ``--python``.

    python -I -B worker.py FD MEMORY_BYTES CPU_SECONDS FORBIDDEN [PROCESSES FILE_BYTES OPEN_FILES]

(0 for a limit: not set). The trusted side confines the process further
(reference/grading/isolation.py: bubblewrap namespaces, another uid, cgroups).
"""
import importlib.abc
import os
import resource
import signal
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class _Forbid(importlib.abc.MetaPathFinder):
    def __init__(self, names):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"importing {fullname.split('.')[0]} is forbidden in graded code")
        return None


def _load_sibling(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_grader_{name}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _limit(memory: int, cpu: int, processes: int = 0, file_bytes: int = 0, open_files: int = 0) -> None:
    """Hard rlimits for this process and all it starts (a limit of 0 is not set)."""
    for which, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_NPROC, processes),
                         (resource.RLIMIT_FSIZE, file_bytes), (resource.RLIMIT_NOFILE, open_files)):
        if value:
            resource.setrlimit(which, (value, value))
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the file-size limit fails (EFBIG) instead of killing


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: SIGKILL when the parent (the grader, or bubblewrap's init) dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _close_inherited(keep: int) -> None:
    """Close every file descriptor above 2 but ``keep`` (nothing of the grader's leaks to the hand-in)."""
    top = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    top = 65536 if top == resource.RLIM_INFINITY or top > 65536 else top
    os.closerange(3, keep)
    os.closerange(keep + 1, top)


def _adapter(adapters, loading, request):
    """The adapter for the request's format, and per item '' or why it cannot be called."""
    fmt, root, bindings = request["format"], request["root"], request["bindings"]
    loader = loading.Loader(root, fmt)
    problems = {}
    if fmt == "native":
        import importlib

        target = request["target"]
        try:
            if os.path.exists(target):
                rel = os.path.relpath(target, loader.root) if os.path.isfile(target) else None
                module = loader.load(rel) if rel else loader.load_folder(target)
            else:
                module = importlib.import_module(target)
        except BaseException as exc:  # noqa: B902
            module, loader.errors[target] = None, f"cannot import {target}: {loading.describe(exc, loader.root)}"
        for item in bindings:
            if module is None:
                problems[item] = next(iter(loader.errors.values()), "the hand-in could not be imported")
            elif not (callable(getattr(module, f"{item}_forward", None)) and callable(getattr(module, f"{item}_backward", None))):
                missing = [f"{item}_{p}" for p in ("forward", "backward") if not callable(getattr(module, f"{item}_{p}", None))]
                problems[item] = f"not implemented: {', '.join(missing)} not found"
        return adapters.NativeAdapter(module), problems, loader
    found = {}
    for item, where in bindings.items():
        values = [loader.attribute(where["file"], name) for name in where["names"]]
        if all(v is not None for v in values):
            found[item] = values[0] if fmt == "mytorch" else tuple(values)
        else:
            problems[item] = loader.errors.get(where["file"]) or next(
                (loader.errors[k] for k in loader.errors if k.startswith(where["file"] + ":")), "not found once imported")
    adapter = adapters.MytorchAdapter(found) if fmt == "mytorch" else adapters.Cs231nAdapter(found)
    return adapter, problems, loader


def main():
    fd, memory, cpu, forbidden = sys.argv[1:5]
    processes, file_bytes, open_files = (int(v) for v in (sys.argv[5:8] + ["0", "0", "0"])[:3])
    _die_with_parent()
    _close_inherited(int(fd))
    sock = socket.socket(fileno=int(fd))
    wire = _load_sibling("wire")
    loading = _load_sibling("loading")
    adapters = _load_sibling("adapters")
    _limit(int(memory), int(cpu), processes, file_bytes, open_files)
    sys.meta_path.insert(0, _Forbid(set(forbidden.split(",")) - {""}))
    sys.stdout.flush()
    sink = os.open(os.devnull, os.O_WRONLY)  # what the hand-in prints goes nowhere (and fills no disk)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(sink)

    try:
        request, _ = wire.recv(sock)
        adapter, problems, loader = _adapter(adapters, loading, request)
        wire.send(sock, {"ok": True, "problems": problems, "errors": loader.errors})
    except BaseException as exc:  # noqa: B902 - a failed import is an answer, not a crash
        wire.send(sock, {"ok": False, "error": f"cannot import the hand-in: {loading.describe(exc, os.getcwd())}"})
        return

    caches, next_handle = {}, 0
    while True:
        try:
            header, arrays = wire.recv(sock)
        except wire.WireError:
            return  # the grader closed the connection
        try:
            item, op = header["item"], header["op"]
            if header["cmd"] == "forward":
                returned = adapter.forward(item, op, *arrays, **wire.from_json(header["config"]))
                if not (isinstance(returned, tuple) and len(returned) == 2):
                    raise TypeError(f"the forward must return (output, cache); got {type(returned).__name__}")
                out, cache = returned
                caches[next_handle] = cache
                reply = ({"ok": True, "handle": next_handle}, [_array(out, "output")] + list(arrays))
                next_handle += 1
            elif header["cmd"] == "backward":
                dy = arrays[0]
                grads = adapter.backward(item, op, dy, caches.pop(header["handle"]))
                names = [k for k, v in grads.items() if v is not None and isinstance(k, str)]
                reply = ({"ok": True, "names": names}, [_array(grads[k], k) for k in names] + [dy])
            else:
                reply = ({"ok": False, "error": f"unknown command {header.get('cmd')!r}"}, [])
        except adapters.NotExpressible as exc:
            reply = ({"ok": False, "error": f"cannot run this case: {exc}", "raised": "NotExpressible"}, [])
        except BaseException as exc:  # noqa: B902 - SystemExit/KeyboardInterrupt from the hand-in too
            reply = ({"ok": False, "error": loading.describe(exc, loader.root), "raised": type(exc).__name__,
                      "at": loading.located(exc, loader.root)}, [])
        wire.send(sock, *reply)


def _array(value, what):
    import numpy as np

    try:
        a = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"{what} is not an array: {type(value).__name__} ({exc})") from None
    if a.dtype == object:
        raise TypeError(f"{what} is not a numeric array ({type(value).__name__})")
    return a


if __name__ == "__main__":
    main()
