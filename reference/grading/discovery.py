"""What a hand-in holds, read from its source text without running any of it (the trusted side).

The grader never lets the worker decide what is graded: it parses the hand-in's
``.py`` files with :mod:`ast` (bounded in size and count), decides the format
with a reason a TA can read, and for every class or function name the course
expects picks the definition whose signature fits the course's API — not the
last one imported (HW1/HW3 leftovers beside HW2P1 files define a second ``ReLU``,
an autograd ``Conv1d`` with another constructor).
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field

MAX_FILES = 400  # .py files read from one hand-in
MAX_FILE_BYTES = 2 << 20  # larger files are not parsed (nobody writes 2 MB of layer code)
SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", "node_modules", "venv", ".venv", "env", "site-packages"}


@dataclass(frozen=True)
class Definition:
    """A top-level class or function in a hand-in file."""

    name: str
    file: str  # relative to the hand-in root, with '/'
    line: int
    params: tuple[str, ...] = ()  # constructor (class) or function parameters, without self
    required: tuple[str, ...] = ()  # of those, the ones without a default
    methods: dict = field(default_factory=dict, hash=False, compare=False)  # name -> parameters without self
    bases: tuple[str, ...] = ()
    returns_dict: bool = False  # a function with `return {...}` (the native API's backward returns a dict)


@dataclass
class HandIn:
    """Everything read from a hand-in's files."""

    root: str
    files: list[str] = field(default_factory=list)  # relative paths of the .py files read
    classes: dict[str, list[Definition]] = field(default_factory=dict)
    functions: dict[str, list[Definition]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # file -> why it could not be parsed
    skipped: int = 0  # files beyond MAX_FILES

    def classes_named(self, name: str) -> list[Definition]:
        return self.classes.get(name, [])


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef, drop_self: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    args = fn.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    defaults = len(args.defaults)
    required = positional[: len(positional) - defaults] if defaults else list(positional)
    kwonly = [a.arg for a in args.kwonlyargs]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    names = positional + kwonly + ([f"*{args.vararg.arg}"] if args.vararg else []) + ([f"**{args.kwarg.arg}"] if args.kwarg else [])
    if drop_self and positional:
        names = names[1:]
        required = [r for r in required if r != positional[0]]
    return tuple(names), tuple(required)


def _read(root: str, rel: str, handin: HandIn) -> None:
    path = os.path.join(root, rel)
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            handin.unreadable[rel] = f"larger than {MAX_FILE_BYTES >> 20} MB"
            return
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), filename=rel)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None)
        handin.unreadable[rel] = f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}" + (f" (line {line})" if line else "")
        return
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            methods = {}
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    methods[item.name] = _params(item, drop_self=True)
            params, required = methods.get("__init__", ((), ()))
            bases = tuple(b.id if isinstance(b, ast.Name) else getattr(b, "attr", "?") for b in node.bases)
            handin.classes.setdefault(node.name, []).append(
                Definition(node.name, rel, node.lineno, params, required, methods, bases))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params, required = _params(node, drop_self=False)
            returns_dict = any(isinstance(n, ast.Return) and isinstance(n.value, (ast.Dict, ast.DictComp))
                               for n in ast.walk(node))
            handin.functions.setdefault(node.name, []).append(
                Definition(node.name, rel, node.lineno, params, required, returns_dict=returns_dict))


def read_handin(root: str) -> HandIn:
    """Parse every .py file under ``root`` (a folder or one file)."""
    root = os.path.abspath(root)
    if os.path.isfile(root):
        handin = HandIn(os.path.dirname(root))
        rel = os.path.basename(root)
        handin.files.append(rel)
        _read(handin.root, rel, handin)
        return handin
    handin = HandIn(root)
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(".py") or os.path.islink(os.path.join(folder, name)):
                continue
            if len(handin.files) >= MAX_FILES:
                handin.skipped += 1
                continue
            rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            handin.files.append(rel)
            _read(root, rel, handin)
    _inherit_methods(handin)
    return handin


def _inherit_methods(handin: HandIn) -> None:
    """Give each class the methods (and constructor) of same-hand-in base classes it does not override."""
    for defs in handin.classes.values():
        for d in defs:
            seen, todo = {d.name}, list(d.bases)
            while todo:
                base = todo.pop(0)
                if base in seen or base not in handin.classes:
                    continue
                seen.add(base)
                b = next((c for c in handin.classes[base] if c.file == d.file), handin.classes[base][0])
                for m, sig in b.methods.items():
                    d.methods.setdefault(m, sig)
                todo += list(b.bases)
            if "__init__" in d.methods and not d.params:
                object.__setattr__(d, "params", d.methods["__init__"][0])
                object.__setattr__(d, "required", d.methods["__init__"][1])


# --- picking the definition that fits an API ------------------------------------------------

def fit(defn: Definition, accepts: dict[str, tuple[str, ...]], forward_arity: int | None = 1) -> int | None:
    """How well a class fits an API; None when it cannot be used at all.

    ``accepts`` maps each constructor argument the grader can pass to its accepted
    spellings; a required constructor parameter the grader cannot fill, or a
    ``forward`` that needs more than ``forward_arity`` arguments (an autograd
    layer's ``forward(x, autograd_engine)``), rules the class out.
    """
    spellings = {s for names in accepts.values() for s in names}
    if any(r not in spellings for r in defn.required if not r.startswith("*")):
        return None
    if "forward" not in defn.methods or "backward" not in defn.methods:
        return None
    fparams, frequired = defn.methods["forward"]
    if forward_arity is not None and len([p for p in frequired if not p.startswith("*")]) > forward_arity:
        return None
    if forward_arity and not fparams:
        return None
    bparams, brequired = defn.methods["backward"]
    if len([p for p in brequired if not p.startswith("*")]) > 1:
        return None
    matched = sum(any(s in defn.params for s in names) for names in accepts.values())
    return 10 * matched + ("/mytorch/" in f"/{defn.file}") + (not defn.file.startswith(("hw1", "hw3")))


def best(defs: list[Definition], accepts: dict[str, tuple[str, ...]], forward_arity: int | None = 1) -> Definition | None:
    """The definition that fits best (the last file's on a tie, as an import would leave it)."""
    scored = [(s, i, d) for i, d in enumerate(defs) if (s := fit(d, accepts, forward_arity)) is not None]
    return max(scored, key=lambda t: (t[0], t[1]))[2] if scored else None
