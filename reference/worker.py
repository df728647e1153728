"""The worker process that runs untrusted layer code (started by reference.sandbox; never imported).

It loads the submission through reference/adapters.py, then answers forward
and backward requests over a socket (reference/wire.py: JSON + .npy, no
pickle). It holds the caches; it never receives expected values. Limits are
set on itself before the submission is imported: address space (memory) and
CPU time. ``reference`` is not importable here, and neither is ``torch`` when
forbidden. Anything the submission raises, SystemExit and KeyboardInterrupt
included, is answered as an error and the worker goes on.

    python -I worker.py FD TARGET FORMAT MEMORY_BYTES CPU_SECONDS FORBID_TORCH
"""
import importlib.abc
import os
import resource
import socket
import sys
import traceback

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


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def main():
    fd, target, fmt, memory, cpu, forbid_torch = sys.argv[1:7]
    sock = socket.socket(fileno=int(fd))
    wire = _load_sibling("wire")
    adapters = _load_sibling("adapters")
    if int(memory):
        resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
    if int(cpu):
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 5))
    sys.meta_path.insert(0, _Forbid({"reference"} | ({"torch"} if forbid_torch == "1" else set())))
    log = open("submission-output.log", "w")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)

    try:
        fmt, impl = adapters.load(target, fmt)
        functions = sorted(n for n in dir(impl) if n.endswith(("_forward", "_backward")) and callable(getattr(impl, n)))
        wire.send(sock, {"ok": True, "format": fmt, "functions": functions})
    except BaseException as exc:  # noqa: B902 - a failed import is an answer, not a crash
        wire.send(sock, {"ok": False, "error": f"cannot import submission: {_describe(exc)}"})
        return

    caches, next_handle = {}, 0
    while True:
        try:
            header, arrays = wire.recv(sock)
        except wire.WireError:
            return  # the grader closed the connection
        try:
            if header["cmd"] == "forward":
                call = [None if a is None else a for a in arrays]
                out, cache = getattr(impl, header["op"] + "_forward")(*call, **wire.from_json(header["config"]))
                caches[next_handle] = cache
                reply = ({"ok": True, "handle": next_handle}, [_array(out, "output")] + call)
                next_handle += 1
            elif header["cmd"] == "backward":
                dy = arrays[0]
                grads = getattr(impl, header["op"] + "_backward")(dy, caches.pop(header["handle"]))
                if not isinstance(grads, dict):
                    raise TypeError(f"{header['op']}_backward must return a dict {{input name: gradient}}; got {type(grads).__name__}")
                names = [k for k, v in grads.items() if v is not None]
                reply = ({"ok": True, "names": names}, [_array(grads[k], k) for k in names] + [dy])
            else:
                reply = ({"ok": False, "error": f"unknown command {header.get('cmd')!r}"}, [])
        except adapters.NotExpressible as exc:
            reply = ({"ok": False, "not_expressible": str(exc)}, [])
        except BaseException as exc:  # noqa: B902 - SystemExit/KeyboardInterrupt from the submission too
            reply = ({"ok": False, "error": _describe(exc)}, [])
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
