"""Verification cases and the sweep that generates them.

A :class:`Case` is one op at one configuration: the shapes of its array
arguments, its keyword options, its dtype and a readable id. Its random
inputs are drawn from a seed derived from the case id and a base seed, so a
failure is reproduced by naming the same base seed and the same id.

:func:`sweep` builds a grid: the *structural* axes (kernel, stride, padding,
dilation, ...) are taken as a full product; the remaining axes (batch,
channels, bias, input size, ...) are cycled across those points by a stable
hash so every value appears often without multiplying the case count. With
``full=True`` a family moves its most important cycled axes into the product
(the big sweep, behind ``--full-grid``).
"""
from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Case:
    op: str
    shapes: Mapping[str, tuple[int, ...] | None]  # array arguments in call order; None = not passed
    config: Mapping[str, Any] = field(default_factory=dict)
    dtype: str = "float64"
    label: str = ""  # readable description of shapes and options
    inputs: str = "normal"  # how the arrays are drawn (see reference.sampling)

    @property
    def id(self) -> str:
        return f"{self.op}-{self.label}-{self.dtype}" if self.label else f"{self.op}-{self.dtype}"

    def seed(self, base: int) -> int:
        """Seed of this case's random inputs: stable across runs, machines and test selection."""
        return zlib.crc32(f"{base}:{self.id}".encode())

    def describe(self) -> str:
        shapes = ", ".join(f"{k} {tuple(v)}" if v is not None else f"{k} None" for k, v in self.shapes.items())
        opts = ", ".join(f"{k}={v!r}" for k, v in self.config.items()) or "defaults"
        return f"{self.op}({shapes}; {opts}; dtype={self.dtype})"


def _pick(values: list, key: str) -> Any:
    return values[zlib.crc32(key.encode()) % len(values)]


def sweep(structural: Mapping[str, list], cycled: Mapping[str, list], expand: Iterable[str] = ()) -> Iterator[dict]:
    """Grid points: the product of ``structural`` axes, with ``cycled`` axes spread over them.

    Cycled axes named in ``expand`` join the product instead. Every point also
    carries each dtype of :data:`DTYPES`.
    """
    expand = set(expand)
    axes = {**structural, **{k: v for k, v in cycled.items() if k in expand}}
    spread = {k: v for k, v in cycled.items() if k not in expand}
    for i, combo in enumerate(itertools.product(*axes.values())):
        point = dict(zip(axes, combo))
        for name, values in spread.items():
            point[name] = _pick(values, f"{name}:{i}")
        for dtype in DTYPES:
            yield {**point, "dtype": dtype}


def fmt(value) -> str:
    """Compact id token: 3 -> '3', (3, 2) -> '3x2', 'same' -> 'same'."""
    if isinstance(value, (tuple, list)):
        return "x".join(str(v) for v in value)
    return str(value)


def per_dim(value, nd: int) -> tuple:
    """An int (or None) for every axis, or the per-axis tuple itself."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd


def unique(cases: Iterable[Case | None]) -> list[Case]:
    """Drop invalid (None) points and duplicate ids, keeping the first."""
    seen: dict[str, Case] = {}
    for case in cases:
        if case is not None and case.id not in seen:
            seen[case.id] = case
    return list(seen.values())


GridFn = Callable[[bool], list[Case]]
