"""Every op the harness verifies, by name: the ``SPECS`` of every module in reference/families/, discovered.

Adding a family is adding its file there (its ``SPECS`` list of OpSpec). Apart from the course formats
(reference/grading/formats.py and course_grids.py: a course's layer names mapped to ops) and the
rubrics (reference/grading/profiles/*.toml: points per op), nothing else lists ops.
"""
from __future__ import annotations

import importlib
import pkgutil

from . import families as _families
from .spec import OpSpec


def _discover() -> tuple[dict[str, OpSpec], dict[str, str]]:
    specs: dict[str, OpSpec] = {}
    files: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(_families.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_families.__name__}.{info.name}")
        for spec in getattr(module, "SPECS", ()):
            if spec.name in specs:
                raise ValueError(f"op {spec.name} is declared twice (reference/families/{info.name}.py)")
            specs[spec.name], files[spec.name] = spec, f"reference/families/{info.name}.py"
    return specs, files


SPECS, _FILES = _discover()


def family_file(op: str) -> str:
    """The family file that declares ``op`` (``reference/families/<module>.py``), for messages that say which file
    to edit; the placeholder ``reference/families/<family>.py`` for an op not declared yet."""
    return _FILES.get(op, "reference/families/<family>.py")


def families() -> list[str]:
    return sorted({s.family for s in SPECS.values()})


def ops_of(family: str) -> tuple[str, ...]:
    """The ops of one family, in registry order."""
    return tuple(name for name, s in SPECS.items() if s.family == family)
