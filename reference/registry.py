"""Every op the harness verifies, by name: the ``SPECS`` of every module in reference/families/, discovered.

Adding a family is adding its file there (its ``SPECS`` list of OpSpec); nothing else lists ops.
"""
from __future__ import annotations

import importlib
import pkgutil

from . import families as _families
from .spec import OpSpec


def _discover() -> dict[str, OpSpec]:
    specs: dict[str, OpSpec] = {}
    for info in sorted(pkgutil.iter_modules(_families.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_families.__name__}.{info.name}")
        for spec in getattr(module, "SPECS", ()):
            if spec.name in specs:
                raise ValueError(f"op {spec.name} is declared twice (reference/families/{info.name}.py)")
            specs[spec.name] = spec
    return specs


SPECS: dict[str, OpSpec] = _discover()


def families() -> list[str]:
    return sorted({s.family for s in SPECS.values()})


def ops_of(family: str) -> tuple[str, ...]:
    """The ops of one family, in registry order."""
    return tuple(name for name, s in SPECS.items() if s.family == family)
