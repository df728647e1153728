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
    label: str = ""  # readable description of shapes and options (see case_label)
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


def _named(prefix: str) -> Callable[[Any], str]:
    return lambda value: f"{prefix}{fmt(value)}"


def _counts(prefix: str) -> Callable[[Any], str]:
    """'c3' for a count, 'c3o2' for an (in, out) pair."""
    return lambda value: f"{prefix}{value[0]}o{value[1]}" if isinstance(value, tuple) else f"{prefix}{value}"


def _flag(on: str, off: str = "") -> Callable[[Any], str]:
    return lambda value: on if value else off


# The token of every case axis and option, in label order. Besides config keys, the axes a family passes:
# group (transform group), batch, channels (C or (C_in, C_out)), multiplier (depthwise m, or (m, C_out) of the
# pointwise step), x (the spatial size, or the whole shape of an activation), kernel, bias, affine, inputs (sampling).
LABEL_TOKENS: dict[str, Callable[[Any], str]] = {
    "group": str,
    "batch": _named("n"),
    "channels": _counts("c"),
    "multiplier": _counts("m"),
    "groups": _named("g"),
    "x": _named("x"),
    "kernel": _named("k"),
    "kernel_size": _named("k"),
    "stride": lambda value: _named("stride")("k" if value is None else value),  # None: the kernel size
    "padding": _named("pad"),
    "output_padding": _named("outpad"),
    "ceil_mode": _flag("ceil", "floor"),
    "dilation": _named("dil"),
    "count_include_pad": _flag("countpad", "excludepad"),
    "divisor_override": _named("div"),
    "bias": _flag("bias", "nobias"),
    "output_size": lambda value: _named("out")(value) + ("-global" if value == 1 else ""),
    "factor": _named("factor"),
    "mode": str,
    "size": _named("size"),
    "scale_factor": _named("scalefactor"),
    "recompute_scale_factor": _flag("recompute"),
    "align_corners": _named("aligncorners"),
    "negative_slope": _named("negative_slope"),
    "beta": _named("beta"),
    "threshold": _named("threshold"),
    "alpha": _named("alpha"),
    "approximate": _named("approximate"),
    "inputs": _named("in"),
}


def label_token(key: str, tokens: Mapping[str, Callable[[Any], str]] | None = None) -> Callable[[Any], str]:
    """The token function of ``key``: a family's own (``tokens``), else :data:`LABEL_TOKENS`', else the key
    followed by the value (``eps=0.1`` -> 'eps0.1')."""
    return {**LABEL_TOKENS, **(tokens or {})}.get(key) or _named(key)


def case_label(config: Mapping[str, Any], tokens: Mapping[str, Callable[[Any], str]] | None = None, **axes: Any) -> str:
    """The label of a case with options ``config`` and drawn ``axes``: their tokens joined by '-'.

    Tokens follow :data:`LABEL_TOKENS` order, then the family's own ``tokens`` (for axes or options only it has),
    then any other key with the generic token of :func:`label_token`, so no option is ever missing from the id.
    A token that is empty (a flag that is off without an 'off' word) is left out.
    """
    values = {**axes, **config}
    order = list({**LABEL_TOKENS, **(tokens or {})}) + [key for key in values if key not in LABEL_TOKENS
                                                         and key not in (tokens or {})]
    labels = (label_token(key, tokens)(values[key]) for key in order if key in values)
    return "-".join(t for t in labels if t)


def ceil_div(a: int, b: int) -> int:
    """The ceiling of a / b for integers."""
    return -(-a // b)


def window_span(kernel: int, dilation: int = 1, count: int = 1, stride: int = 1) -> int:
    """Input length that ``count`` windows of a dilated kernel, ``stride`` apart, cover: (count - 1) s + d (k - 1) + 1."""
    return (count - 1) * stride + dilation * (kernel - 1) + 1


def pooled_length(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output length of pooling along one axis (torch's rule).

    (n + 2p - (d (k - 1) + 1)) / s windows after the first, rounded down, or up with
    ``ceil_mode``, where a last window starting in the right padding is dropped.
    """
    reach = n + 2 * p - window_span(k, d)
    out = (ceil_div(reach, s) if ceil_mode else reach // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pad_totals(padding, kernel: tuple, dilation) -> tuple:
    """Padding of each axis, both sides together: 2 q for q per side, d (k - 1) for 'same', 0 for 'valid'."""
    nd = len(kernel)
    if padding == "same":
        return tuple(d * (k - 1) for k, d in zip(kernel, per_dim(dilation, nd)))
    if padding == "valid":
        return (0,) * nd
    return tuple(2 * q for q in per_dim(padding, nd))


def fitted(size, kernel: tuple, dilation=1, padding=0) -> tuple:
    """``size`` with each axis grown until the padded input holds one dilated kernel window.

    Axes already large enough are kept, so the drawn sizes' variety (their remainders
    modulo the stride) survives. ``kernel`` is per axis; the other arguments may be.
    """
    nd = len(kernel)
    totals = _pad_totals(padding, kernel, dilation)
    return tuple(max(n, window_span(k, d) - t) for n, k, d, t in zip(per_dim(size, nd), kernel, per_dim(dilation, nd), totals))


def unique(cases: Iterable[Case | None]) -> list[Case]:
    """Drop invalid (None) points and repeated cases, keeping the first.

    Two different cases with one id are an error: they would share their seed and
    their golden fixture.
    """
    seen: dict[str, Case] = {}
    for case in cases:
        if case is None:
            continue
        first = seen.setdefault(case.id, case)
        if first != case:
            raise ValueError(f"two different cases share the id {case.id}: {first.describe()} and {case.describe()}")
    return list(seen.values())

