"""Zero-insertion upsampling and decimating downsampling by an integer factor (11-785's resampling layers).

    upsample:    Y[f*t] = X[t], zeros between; length f(L-1)+1    backward: dX = dY[::f]   (decimate)
    downsample:  Y[t] = X[f*t]; length ceil(L/f)                   backward: dX = dY with f-1 zeros inserted
                                                                     (padded back to the input length)

Each is the adjoint of the other — the lecture's stride handling in conv
backprop, as layers of their own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._api import specialise
from .geometry import as_tuple
from .padding import decimate, zero_upsample

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "downsample1d_backward",
    "downsample1d_forward",
    "downsample2d_backward",
    "downsample2d_forward",
    "upsample1d_backward",
    "upsample1d_forward",
    "upsample2d_backward",
    "upsample2d_forward",
]


@dataclass(frozen=True)
class ResampleCache:
    factor: tuple[int, ...]
    size: tuple[int, ...]  # input spatial size


def _checked(x, factor, nd: int, name: str):
    x = np.asarray(x)
    if x.ndim != nd + 2:
        raise ValueError(f"{name}{nd}d expects input of shape (N, C, {nd} spatial dims); got {x.shape}")
    factor = as_tuple(factor, nd, "factor")
    if min(factor) < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    return x, factor


def upsample_forward(x, factor, *, nd: int):
    """Zero-insertion upsampling by ``factor``."""
    x, factor = _checked(x, factor, nd, "upsample")
    return zero_upsample(x, factor).copy(), ResampleCache(factor, x.shape[2:])


def upsample_backward(dy, cache: ResampleCache) -> dict[str, np.ndarray]:
    """dX = decimate(dY): only the positions that carried an input sample receive gradient."""
    return {"x": decimate(np.asarray(dy), cache.factor).copy()}


def downsample_forward(x, factor, *, nd: int):
    """Keep every ``factor``-th sample."""
    x, factor = _checked(x, factor, nd, "downsample")
    return decimate(x, factor).copy(), ResampleCache(factor, x.shape[2:])


def downsample_backward(dy, cache: ResampleCache) -> dict[str, np.ndarray]:
    """dX = zero_upsample(dY) to the input size: the dropped samples get zero gradient."""
    return {"x": zero_upsample(np.asarray(dy), cache.factor, size=cache.size).copy()}


upsample1d_forward = specialise(upsample_forward, "upsample1d", nd=1)
upsample2d_forward = specialise(upsample_forward, "upsample2d", nd=2)
downsample1d_forward = specialise(downsample_forward, "downsample1d", nd=1)
downsample2d_forward = specialise(downsample_forward, "downsample2d", nd=2)
upsample1d_backward = upsample2d_backward = upsample_backward
downsample1d_backward = downsample2d_backward = downsample_backward
