"""Import a hand-in's files the way each course's own runner does (runs inside the worker).

* **mytorch** (11-785): the runner puts ``mytorch/`` (and ``mytorch/nn/``) on
  ``sys.path`` and imports files by bare name (``from resampling import *``);
  packages with ``__init__.py`` and relative imports (``from .resampling import *``)
  are imported as packages.
* **cs231n**: ``layers.py`` is imported as ``cs231n.layers`` (whatever the
  folder is called), so both ``from cs231n.im2col import *`` and
  ``from .fast_layers import ...`` work, with or without ``__init__.py``.

Each file is imported on its own: one that fails (or a broken ``__init__.py``)
costs only the items defined in it, and the error names the file and line **in
the hand-in**. Standard library only: the worker loads this file by path.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import traceback
import types

RELATIVE_IMPORT = re.compile(rb"^\s*from\s+\.", re.M)
ERROR_CHARS = 2000  # an error description is cut to this length (the trusted side cuts again)


def _innermost(exc: BaseException, root: str) -> tuple[traceback.FrameSummary | None, bool]:
    """The innermost frame of ``exc`` inside the hand-in (None if none), and whether it has frames at all."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename:
        frames.append(traceback.FrameSummary(exc.filename, exc.lineno or 0, "", line=(exc.text or "").strip()))
    inside = [f for f in frames if f.filename and _within(f.filename, root)]
    return (inside[-1] if inside else None), bool(frames)


def located(exc: BaseException, root: str) -> str:
    """``file:line`` (relative to ``root``) of the innermost frame of ``exc`` inside the hand-in, or ''."""
    f, _ = _innermost(exc, root)
    return _place(f, root) if f else ""


def _place(f: traceback.FrameSummary, root: str) -> str:
    return f"{os.path.relpath(f.filename, root)}:{f.lineno}"


def describe(exc: BaseException, root: str) -> str:
    """``Type: message (at file:line: `code`)``, located at the innermost frame inside the hand-in."""
    f, has_frames = _innermost(exc, root)
    message = f"{type(exc).__name__}: {exc}"
    hint = _hint(exc)
    if f:
        code = (f.line or "").strip()
        message += f" (at {_place(f, root)}" + (f": `{code[:120]}`" if code else "") + ")"
    elif has_frames:
        message += " (in the grader's adapter, called from the hand-in's layer)"
    return (message + (f" — {hint}" if hint else ""))[:ERROR_CHARS]


def _hint(exc: BaseException) -> str:
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        if top in ("reference", "manual_grads", "torch"):
            return ""
        return (f"needs {top}, which the grading interpreter ({sys.executable}, NumPy "
                f"{_numpy_version()}) lacks: install it there or pass --python")
    if isinstance(exc, AttributeError) and "numpy" in str(exc) and any(
            name in str(exc) for name in ("'pad'", "'asscalar'", "'float'", "'int'", "'bool'", "'object'", "'product'")):
        return (f"written for NumPy 1.x (this interpreter has NumPy {_numpy_version()}, where that name is gone): "
                "pass --python with an interpreter that has NumPy 1.x")
    return ""


def _numpy_version() -> str:
    numpy = sys.modules.get("numpy")
    return getattr(numpy, "__version__", "?")


def _within(path: str, root: str) -> bool:
    path, root = os.path.abspath(path), os.path.abspath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class Loader:
    """Imports files of one hand-in, remembering what failed and why."""

    def __init__(self, root: str, fmt: str):
        self.root = os.path.abspath(root if os.path.isdir(root) else os.path.dirname(root))
        self.fmt = fmt
        self.modules: dict[str, types.ModuleType] = {}  # relative file -> module
        self.errors: dict[str, str] = {}  # relative file -> error description
        self._setup_path()

    # -- sys.path as the course's runner sets it ------------------------------------------
    def _setup_path(self):
        dirs = []
        for folder, subdirs, files in os.walk(self.root):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "__")))
            if any(f.endswith(".py") for f in files):
                dirs.append(folder)
        mytorch = [d for d in dirs if os.path.basename(d) == "mytorch"]
        # mytorch/ first, then its sub-folders (mytorch/nn), then the rest, shallow before deep
        order = sorted(dirs, key=lambda d: (not any(_within(d, m) for m in mytorch), d.count(os.sep), d))
        for d in reversed(order):
            sys.path.insert(0, d)
        for m in mytorch:  # `from mytorch.nn.conv import ...` from the hand-in's root
            sys.path.insert(len(order), os.path.dirname(m))

    # -- one file -------------------------------------------------------------------------
    def load(self, rel: str) -> types.ModuleType | None:
        """The module of one file (imported once), or None with the reason in ``errors``."""
        if rel in self.modules or rel in self.errors:
            return self.modules.get(rel)
        path = os.path.join(self.root, rel)
        try:
            with open(path, "rb") as f:
                relative = bool(RELATIVE_IMPORT.search(f.read()))
            package = self._package_of(path) if relative or self.fmt == "cs231n" else None
            module = self._import_in_package(path, package) if package else self._import_bare(path)
        except BaseException as exc:  # noqa: B902 - SystemExit/KeyboardInterrupt at import are failures too
            self.errors[rel] = f"{rel} failed to import: {describe(exc, self.root)}"
            return None
        self.modules[rel] = module
        return module

    def _import_bare(self, path: str) -> types.ModuleType:
        stem = os.path.splitext(os.path.basename(path))[0]
        existing = sys.modules.get(stem)
        if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") == path:
            return existing
        name = stem if existing is None else "_handin_" + re.sub(r"\W", "_", os.path.relpath(path, self.root))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module

    def _package_of(self, path: str) -> tuple[str, list[str]]:
        """(dotted package name, its folders from the top) for a file that needs its package."""
        folder = os.path.dirname(path)
        chain = [folder]
        while os.path.exists(os.path.join(os.path.dirname(chain[0]), "__init__.py")) and _within(
                os.path.dirname(chain[0]), self.root) and os.path.dirname(chain[0]) != chain[0]:
            chain.insert(0, os.path.dirname(chain[0]))
        names = [os.path.basename(d) for d in chain]
        if self.fmt == "cs231n":
            names[0] = "cs231n"  # `from cs231n.im2col import *` whatever the folder is called
        names = [re.sub(r"\W", "_", n) or "handin" for n in names]
        return ".".join(names), chain

    def _import_in_package(self, path: str, package: tuple[str, list[str]]) -> types.ModuleType:
        dotted, chain = package
        parts = dotted.split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            folder = chain[depth - 1]
            current = sys.modules.get(name)
            if current is not None and folder in list(getattr(current, "__path__", [])):
                continue
            self._ensure_package(name, folder)
        stem = os.path.splitext(os.path.basename(path))[0]
        return importlib.import_module(f"{dotted}.{stem}")

    def _ensure_package(self, name: str, folder: str) -> None:
        """Import a package from ``folder`` under ``name``; if its __init__.py fails, a stand-in package."""
        init = os.path.join(folder, "__init__.py")
        if os.path.exists(init):
            spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[folder])
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
                return
            except BaseException as exc:  # noqa: B902
                rel = os.path.relpath(init, self.root)
                self.errors[rel] = f"{rel} failed to import (its package's other files are imported on their own): " \
                                   f"{describe(exc, self.root)}"
        module = types.ModuleType(name)
        module.__path__ = [folder]
        module.__package__ = name
        sys.modules[name] = module
        if "." in name:
            setattr(sys.modules[name.rsplit(".", 1)[0]], name.rsplit(".", 1)[1], module)

    def load_folder(self, folder: str) -> types.ModuleType:
        """A native hand-in folder: its package (``__init__.py``), else its ``layers.py`` / only module."""
        folder = os.path.abspath(folder)
        if os.path.exists(os.path.join(folder, "__init__.py")):
            sys.path.insert(0, os.path.dirname(folder))
            return importlib.import_module(os.path.basename(folder))
        candidates = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
        chosen = next((f for f in ("layers.py", "submission.py") if f in candidates), None)
        if chosen is None and len(candidates) == 1:
            chosen = candidates[0]
        if chosen is None:
            raise ImportError(f"folder {os.path.basename(folder)} has no __init__.py and no single module to load ({candidates})")
        module = self.load(os.path.relpath(os.path.join(folder, chosen), self.root))
        if module is None:
            raise ImportError(next(iter(self.errors.values())))
        return module

    # -- what the grader asked for ----------------------------------------------------------
    def attribute(self, rel: str, name: str):
        """``name`` as defined in file ``rel`` (None, with the reason in ``errors``, when it cannot be had)."""
        module = self.load(rel)
        if module is None:
            return None
        value = getattr(module, name, None)
        if value is None:
            self.errors.setdefault(f"{rel}:{name}", f"{rel} defines no {name} once imported")
        return value
