"""Nearest and (bi)linear interpolation, as separable linear maps.

Each spatial axis is resampled by a matrix A (out × in): ``Y = X ×_1 A_1 ×_2 A_2``,
so the backward is ``dX = dY ×_1 A_1ᵀ ×_2 A_2ᵀ`` — every input sample collects
the gradient of every output it contributed to, with its interpolation weight.

Source coordinates follow torch:

* scale = in/out, or 1/scale_factor when a scale factor is given (and not recomputed);
* nearest:       src = min(floor(dst * scale), in - 1)            (computed in float32, as torch does)
* nearest-exact: src = min(floor((dst + 0.5) * scale), in - 1)
* linear, align_corners=False: src = max((dst + 0.5) * scale - 0.5, 0)
* linear, align_corners=True:  src = dst * (in - 1) / (out - 1)
  then weights (1 - λ, λ) on (floor(src), floor(src) + 1), λ = src - floor(src).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .separable import along_axes

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "interpolate_backward",
    "interpolate_forward",
]

MODES = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "trilinear": 3}


def _nearest_index(dst: np.ndarray, n: int, o: int, scale_factor, exact: bool) -> np.ndarray:
    if not exact and o == n:
        return dst
    if not exact and o == 2 * n:
        return dst >> 1
    scale = np.float32(1.0 / scale_factor) if scale_factor else np.float32(n) / np.float32(o)
    src = (dst + 0.5) * np.float64(scale) if exact else dst.astype(np.float32) * scale
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n - 1)


def axis_matrix(n: int, o: int, mode: str, align_corners: bool, scale_factor, dtype) -> np.ndarray:
    """Resampling matrix (o, n) of one axis."""
    dst = np.arange(o)
    a = np.zeros((o, n), dtype=np.float64)
    if mode.startswith("nearest"):
        a[dst, _nearest_index(dst, n, o, scale_factor, mode == "nearest-exact")] = 1.0
        return a
    ftype = np.float32 if dtype == np.float32 else np.float64  # torch computes coordinates in the input's precision
    if align_corners:
        scale = ftype((n - 1) / (o - 1)) if o > 1 else ftype(0)
        src = dst.astype(ftype) * scale
    else:
        scale = ftype(1.0 / scale_factor) if scale_factor else ftype(n) / ftype(o)
        src = np.maximum(scale * (dst.astype(ftype) + ftype(0.5)) - ftype(0.5), ftype(0))
    i0 = src.astype(np.int64)
    lam = (src - i0.astype(ftype)).astype(np.float64)
    i1 = np.minimum(i0 + 1, n - 1)
    np.add.at(a, (dst, i0), 1 - lam)
    np.add.at(a, (dst, i1), lam)
    return a


@dataclass(frozen=True)
class InterpolateCache:
    matrices: tuple[np.ndarray, ...]


def interpolate_forward(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                        recompute_scale_factor=None):
    """Resample the spatial axes of x (N, C, *S) to ``size`` or by ``scale_factor``."""
    x = np.asarray(x)
    nd = x.ndim - 2
    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
    if MODES[mode] is not None and MODES[mode] != nd:
        raise ValueError(f"mode {mode!r} needs a {MODES[mode] + 2}-d input, got shape {x.shape}")
    if MODES[mode] is None and align_corners is not None:
        raise ValueError("align_corners only applies to the linear modes")
    if (size is None) == (scale_factor is None):
        raise ValueError("give exactly one of size and scale_factor")
    if size is not None:
        out = (size,) * nd if np.isscalar(size) else tuple(size)
        factors = (None,) * nd
    else:
        factors = (scale_factor,) * nd if np.isscalar(scale_factor) else tuple(scale_factor)
        out = tuple(math.floor(n * f) for n, f in zip(x.shape[2:], factors))
        if recompute_scale_factor:
            factors = (None,) * nd
    if len(out) != nd or min(out) < 1:
        raise ValueError(f"output size {out} must have {nd} positive entries")
    matrices = tuple(
        axis_matrix(n, o, mode, bool(align_corners), f, x.dtype) for n, o, f in zip(x.shape[2:], out, factors)
    )
    return along_axes(x, matrices), InterpolateCache(matrices)


def interpolate_backward(dy, cache: InterpolateCache) -> dict[str, np.ndarray]:
    """dX = dY ×_1 A_1ᵀ ×_2 A_2ᵀ ..."""
    return {"x": along_axes(np.asarray(dy), tuple(a.T for a in cache.matrices))}
