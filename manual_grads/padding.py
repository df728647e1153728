"""Zeros around and between samples, and their adjoints.

* :func:`pad` and its adjoint :func:`crop` — the lecture's "the zero padding regions must be deleted
  before further backprop";
* :func:`zero_upsample` — ``factor - 1`` zeros between samples (the lecture's "upsampling derivative
  map by S") — and its adjoint :func:`decimate`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .geometry import Pads, covered_size, padded_size
from .slabs import assign


def pad(x: np.ndarray, pads: Pads, value: float = 0.0, *, parallel: bool = False) -> np.ndarray:
    """Pad the trailing ``len(pads)`` (spatial) axes of ``x`` with ``value`` (zeros by default).

    A negative width removes that many samples instead (a crop). ``parallel``: copy in slabs on
    every core (:func:`~manual_grads.slabs.assign`) — the element-wise loops ask for it; a convolution's
    padding does not."""
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        x = crop(x, tuple((max(-lo, 0), max(-hi, 0)) for lo, hi in pads))
        pads = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pads)
    if not any(lo or hi for lo, hi in pads):
        return x
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + padded_size(x.shape[lead:], pads)
    inside = (Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[lead:], pads))
    return assign(np.empty(shape, dtype=x.dtype), [(inside, x)], fill=value, lead=lead if parallel else 0)


def crop(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Adjoint of :func:`pad`: delete the padded borders of the spatial axes."""
    return x[(Ellipsis,) + tuple(slice(lo, n - hi) for n, (lo, hi) in zip(x.shape[-len(pads):], pads))]


def zero_upsample(x: np.ndarray, factor: Sequence[int], size: Sequence[int] | None = None) -> np.ndarray:
    """Insert ``factor - 1`` zeros between neighbouring samples of the spatial axes.

    The result has ``(n - 1) * factor + 1`` samples per axis, or ``size`` when
    given (trailing zeros added). This is the adjoint of :func:`decimate`.
    """
    spatial = x.shape[-len(factor):]
    natural = tuple(covered_size(n, 1, f, 1) for n, f in zip(spatial, factor))
    size = natural if size is None else tuple(size)
    if size == spatial:
        return x
    out = np.zeros(x.shape[: x.ndim - len(factor)] + size, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(0, m, f) for m, f in zip(natural, factor))] = x
    return out


def decimate(x: np.ndarray, factor: Sequence[int]) -> np.ndarray:
    """Keep every ``factor``-th sample of the spatial axes, starting at 0."""
    return x[(Ellipsis,) + tuple(slice(None, None, f) for f in factor)]
