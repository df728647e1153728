"""Arguments and geometry of the sliding-window layers, each formula written once.

* :func:`as_tuple`, :func:`resolve_padding` — user arguments to per-axis tuples;
* :func:`padded_size`, :func:`extent`, :func:`covered_size`, :func:`output_size`, :func:`window_counts`,
  :func:`fitting_counts`, :func:`pool_output_size`, :func:`offset_slice`, :func:`phase_shape` — the sizes every
  layer works out: the padded input, the dilated kernel's extent, the input that ``o`` windows cover, the window
  positions per axis (checked to fit), pooling's ceil-mode rule, the samples one kernel offset reads, the planes
  of the stride phases;
* :func:`memoised` — a layer's geometry worked out once per shapes and arguments;
* :class:`ConvGeometry` — everything a convolution's backward needs to know about its shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil, floor
from typing import Callable, Sequence, TypeVar, Union

import numpy as np

from .tuning import current

IntOrTuple = Union[int, Sequence[int]]
Pads = tuple[tuple[int, int], ...]
T = TypeVar("T")


def memoised(function: Callable[..., T]) -> Callable[..., T]:
    """``function(*args)``, remembered for hashable arguments (ints, strings, None, tuples of them), keyed on
    their values and their repr, so ``2``, ``2.0`` and ``True`` stay apart; unhashable ones (a list, an array)
    are computed afresh. For the geometry of a layer call: the same shapes and arguments
    come back every step, and working them out costs more than a small layer's arithmetic. The results
    must be immutable; errors are raised again on every call (they are not remembered). At most
    ``Tuning.memo_size`` results are kept: past that, the memory starts afresh."""
    remembered: dict = {}

    def cached(*args):
        key = (args, repr(args))  # the repr keeps 2, 2.0, True and np.int64(2) apart, which compare equal
        try:
            return remembered[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable argument (a list, an array)
            return function(*args)
        if len(remembered) >= current().memo_size:
            remembered.clear()
        result = remembered[key] = function(*args)
        return result

    cached.__name__, cached.__qualname__, cached.__doc__ = function.__name__, function.__qualname__, function.__doc__
    cached.__wrapped__ = function
    return cached


def as_tuple(value: IntOrTuple, ndim: int, name: str) -> tuple[int, ...]:
    """Broadcast an int (or a length-``ndim`` sequence) to a tuple of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * ndim
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of {ndim} ints, got {value!r}") from None
    if len(items) == 1:
        items = items * ndim
    if len(items) != ndim or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name} must be an int or a sequence of {ndim} ints, got {value!r}")
    return tuple(int(v) for v in items)


def resolve_padding(padding, kernel: Sequence[int], dilation: Sequence[int]) -> Pads:
    """Per-dimension ``(before, after)`` zero padding.

    ``padding`` is an int, a per-dimension tuple, ``'valid'`` (no padding) or
    ``'same'`` (output size = input size at stride 1; when the total
    ``dilation * (kernel - 1)`` is odd, the extra zero goes after, as in torch).
    """
    ndim = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * ndim
        if padding == "same":
            totals = [extent(k, d) - 1 for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    sizes = as_tuple(padding, ndim, "padding")
    if any(p < 0 for p in sizes):
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return tuple((p, p) for p in sizes)


def padded_size(size: Sequence[int], pads: Pads | None) -> tuple[int, ...]:
    """Spatial size after padding by ``pads`` (``(before, after)`` per axis; None: none)."""
    if not pads:
        return tuple(size)
    return tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))


def extent(kernel: int, dilation: int) -> int:
    """Samples one window spans along an axis: ``d(k - 1) + 1``."""
    return dilation * (kernel - 1) + 1


def covered_size(count: int, kernel: int, stride: int, dilation: int) -> int:
    """Input length that ``count`` windows cover, from the first window's start to the last one's end:
    ``(count - 1) s + d(k - 1) + 1`` (the inverse of :func:`output_size` where the stride divides)."""
    return (count - 1) * stride + extent(kernel, dilation)


def output_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    """Number of window positions along one axis: ``floor((L - d(k-1) - 1) / s) + 1``."""
    return (size - extent(kernel, dilation)) // stride + 1


def window_counts(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                  dilation: Sequence[int]) -> tuple[int, ...]:
    """Window positions per axis (:func:`output_size`); below 1 where the kernel does not fit."""
    return tuple(output_size(n, k, s, d) for n, k, s, d in zip(size, kernel, stride, dilation))


def fitting_counts(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                   count: Sequence[int] | None = None) -> tuple[int, ...]:
    """Window positions per axis: ``count``, or all of them (:func:`window_counts`); ValueError unless at
    least one window fits and ``count`` asks for no more than fit."""
    full = window_counts(size, kernel, stride, dilation)
    out = full if count is None else tuple(count)
    if any(o <= 0 for o in out) or any(o > f for o, f in zip(out, full)):
        raise ValueError(
            f"window of size {tuple(kernel)} (dilation {tuple(dilation)}, stride {tuple(stride)}) "
            f"does not fit input of spatial size {tuple(size)}"
        )
    return out


def pool_output_size(size: int, kernel: int, stride: int, dilation: int, padding: int, ceil_mode: bool) -> int:
    """Windows of a pooling along one axis of length ``size`` padded by ``padding`` on both sides:
    ``floor`` (or with ``ceil_mode`` ``ceil``) of ``(size + 2p - d(k-1) - 1) / s``, plus 1 — in ceil mode
    without a last window that would start past the input and its left padding (torch's rule)."""
    span = size + 2 * padding - extent(kernel, dilation)
    out = (ceil(span / stride) if ceil_mode else floor(span / stride)) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:  # the last window must start inside the input or left padding
        out -= 1
    return out


def offset_slice(offset: int, dilation: int, count: int, stride: int) -> slice:
    """Along one axis, the samples kernel offset ``offset`` reads in ``count`` windows: ``x[t*s + i*d]``, t < count."""
    start = offset * dilation
    return slice(start, start + covered_size(count, 1, stride, 1), stride)


def phase_shape(size: Sequence[int], stride: Sequence[int]) -> tuple[int, ...]:
    """Spatial shape of one stride phase ``x[..., a::s]`` of a ``size`` array, the longest: ``ceil(n / s)``."""
    return tuple(-(-n // s) for n, s in zip(size, stride))


def takes_depthwise_loops(channels_per_group: tuple[int, int], groups: int) -> bool:
    """One input and one output channel per group, in ``Tuning.depthwise_min_groups`` groups or more: every
    product is K·K fused multiply-adds, which the depthwise loops take instead of GEMMs over im2col columns."""
    return tuple(channels_per_group) == (1, 1) and groups >= current().depthwise_min_groups


@dataclass(frozen=True)
class ConvGeometry:
    """Everything the backward needs to know about a convolution's shape."""

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: Pads
    groups: int
    kernel: tuple[int, ...]
    padded: tuple[int, ...]  # spatial size of the padded input
    channels_per_group: tuple[int, int] = (0, 0)  # (C_in / groups, C_out / groups)

    @property
    def depthwise(self) -> bool:
        """Whether this convolution takes the depthwise loops (:func:`takes_depthwise_loops`)."""
        return takes_depthwise_loops(self.channels_per_group, self.groups)

    @staticmethod
    @memoised
    def of(x_shape: tuple, w_shape: tuple, stride, padding, dilation, groups) -> "ConvGeometry":
        """Geometry of a convolution of an input of ``x_shape`` with filters of ``w_shape`` (worked out once per
        shapes and arguments: :func:`memoised`)."""
        nd = len(w_shape) - 2
        if len(x_shape) != nd + 2:
            raise ValueError(f"input must have shape (N, C, {nd} spatial dims) to match a {nd}-d filter bank; got shape {x_shape}")
        stride = as_tuple(stride, nd, "stride")
        dilation = as_tuple(dilation, nd, "dilation")
        if min(stride) < 1 or min(dilation) < 1:
            raise ValueError(f"stride and dilation must be >= 1, got stride={stride}, dilation={dilation}")
        if not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"groups must be a positive int, got {groups!r}")
        o, cg = w_shape[:2]
        if x_shape[1] != cg * groups or o % groups:
            raise ValueError(
                f"channels do not fit groups={groups}: input has {x_shape[1]} channels, "
                f"filters have shape {tuple(w_shape)} (need C_in = groups * {cg} and C_out divisible by groups)"
            )
        kernel = tuple(w_shape[2:])
        pads = resolve_padding(padding, kernel, dilation)
        if padding == "same" and max(stride) > 1:
            raise ValueError("padding='same' is only defined for stride 1")
        padded = padded_size(x_shape[2:], pads)
        if any(t < 1 for t in window_counts(padded, kernel, stride, dilation)):
            raise ValueError(
                f"kernel {kernel} with dilation {dilation} does not fit the padded input {padded}"
            )
        return ConvGeometry(stride, dilation, pads, int(groups), kernel, padded, (cg, o // groups))
