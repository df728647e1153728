"""2-d batch normalisation in training mode: per-channel statistics of the batch.

Forward, for each channel c over its M = N·H·W elements (batch and spatial axes)::

    μ = mean(x),  var = mean((x − μ)²)  (biased),  σ = sqrt(var + eps)
    x̂ = (x − μ) / σ,  y = γ·x̂ + β        (γ = w, β = b; without them y = x̂)

Backward (sums over the same M elements of a channel)::

    dβ = Σ dy
    dγ = Σ dy·x̂
    dx = (γ/σ) / M · (M·dy − Σ dy − x̂·Σ(dy·x̂))     (γ = 1 without an affine w)

μ and σ depend on every element of the channel, hence the two subtracted terms: the
mean's share of dy and the part along x̂ that rescaling by σ takes away. Everything is
computed in the input's dtype; running statistics (evaluation mode) are not modelled. As in
torch, M = 1 is an error and an empty batch (M = 0) gives an empty output and zero dγ, dβ.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .slabs import map_slabs

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "batch_norm2d_backward",
    "batch_norm2d_forward",
]

@dataclass(frozen=True)
class BatchNormCache:
    x_hat: np.ndarray  # (x − μ) / σ, shape of x
    inv_sigma: np.ndarray  # 1 / σ per channel, shaped (1, C, 1, 1)
    w: Optional[np.ndarray]  # γ (C,), or None without an affine scale
    has_b: bool  # whether β was passed (so db is returned)


def _per_channel(v: np.ndarray) -> np.ndarray:
    """A (C,) vector shaped (1, C, 1, 1) to broadcast over x."""
    return v.reshape(1, -1, 1, 1)


def _count(x: np.ndarray) -> int:
    """M = N·H·W, the number of elements a channel's statistics run over."""
    return x.shape[0] * x.shape[2] * x.shape[3]


def _channel_sums(body, x: np.ndarray) -> np.ndarray:
    """Σ over the batch slabs of ``body(rows)`` (each a per-channel partial sum, shaped (C,)), added in slab order
    (so the same on any number of threads), shaped (1, C, 1, 1)."""
    parts = map_slabs(body, x.shape[0], x[:1].nbytes) or [np.zeros(x.shape[1], x.dtype)]  # an empty batch: 0
    return np.sum(parts, axis=0, dtype=x.dtype).reshape(1, -1, 1, 1)


def _summed(a: np.ndarray) -> np.ndarray:
    """Σ of ``a`` (N, C, H, W) over its batch and spatial axes, per channel."""
    return _flat(a).sum(axis=(0, 2))


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ of ``a · b`` over the batch and spatial axes, per channel (without the product's temporary)."""
    return np.einsum("ncs,ncs->c", _flat(a), _flat(b))


def _flat(a: np.ndarray) -> np.ndarray:
    """``a`` (N, C, H, W) as (N, C, H·W)."""
    n, c, h, w = a.shape
    return a.reshape(n, c, h * w)


def _check(x: np.ndarray, w, b) -> None:
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"batch_norm2d expects a floating-point input; got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"batch_norm2d expects input of shape (N, C, H, W); got shape {x.shape}")
    if _count(x) == 1:  # an empty batch (M = 0) is allowed, as in torch
        raise ValueError(f"batch_norm2d needs more than 1 value per channel in training mode; got shape {x.shape}")
    for name, v in (("w", w), ("b", b)):
        if v is not None and np.shape(v) != (x.shape[1],):
            raise ValueError(f"batch_norm2d {name} must have shape ({x.shape[1]},); got {np.shape(v)}")


def batch_norm2d_forward(x, w=None, b=None, eps: float = 1e-5):
    """Y = γ·(X − μ)/σ + β with the batch mean μ and biased variance of each channel, σ = sqrt(var + eps).

    Slab by slab of the batch on the slab pool (:func:`manual_grads.slabs.map_slabs`): Σx, then Σ(x − μ)², then
    x̂ and Y."""
    x = np.asarray(x)
    _check(x, w, b)
    dtype = x.dtype
    m = float(max(_count(x), 1))  # M = 0: every sum is empty (0), the output empty
    mean = _channel_sums(lambda rows: _summed(x[rows]), x) / m

    def squares(rows):
        centred = x[rows] - mean
        return _dot(centred, centred)

    var = _channel_sums(squares, x) / m
    inv_sigma = (1 / np.sqrt(var + dtype.type(eps))).astype(dtype, copy=False)
    gamma = None if w is None else _per_channel(np.asarray(w)).astype(dtype, copy=False)
    beta = None if b is None else _per_channel(np.asarray(b)).astype(dtype, copy=False)
    x_hat, y = np.empty_like(x), np.empty_like(x)

    def normalise(rows):
        x_hat_rows, y_rows = x_hat[rows], y[rows]
        np.multiply(np.subtract(x[rows], mean, out=x_hat_rows), inv_sigma, out=x_hat_rows)
        if gamma is None:
            y_rows[...] = x_hat_rows
        else:
            np.multiply(x_hat_rows, gamma, out=y_rows)
        if beta is not None:
            y_rows += beta

    map_slabs(normalise, x.shape[0], x[:1].nbytes)
    return y, BatchNormCache(x_hat, inv_sigma, None if w is None else np.asarray(w), b is not None)


def batch_norm2d_backward(dy, cache: BatchNormCache) -> dict[str, np.ndarray]:
    """dX = (γ/σ)/M · (M·dY − ΣdY − X̂·Σ(dY·X̂)); dγ = Σ dY·X̂ and dβ = Σ dY, per channel.

    dX is evaluated as (γ/σ)·dY − (γ/σ)/M·ΣdY − ((γ/σ)/M·Σ(dY·X̂))·X̂ (the same terms, each per-channel factor
    applied once), slab by slab of the batch on the slab pool."""
    dy = np.asarray(dy)
    x_hat, dtype = cache.x_hat, cache.x_hat.dtype
    m = float(max(_count(x_hat), 1))  # M = 0: dX is empty and dγ, dβ are zeros
    sum_dy = _channel_sums(lambda rows: _summed(dy[rows]), dy)
    sum_dy_xhat = _channel_sums(lambda rows: _dot(dy[rows], x_hat[rows]), dy)
    scale = cache.inv_sigma if cache.w is None else cache.inv_sigma * _per_channel(cache.w)
    along_x_hat, offset = (scale / m * sum_dy_xhat).astype(dtype), (scale / m * sum_dy).astype(dtype)
    scale = scale.astype(dtype, copy=False)
    dx = np.empty(x_hat.shape, dtype)

    def gradient(rows):
        np.multiply(dy[rows], scale, out=dx[rows])
        dx[rows] -= offset
        dx[rows] -= x_hat[rows] * along_x_hat

    map_slabs(gradient, dy.shape[0], dy[:1].nbytes)
    grads = {"x": dx}
    if cache.w is not None:
        grads["w"] = sum_dy_xhat.reshape(-1).astype(dtype, copy=False)
    if cache.has_b:
        grads["b"] = sum_dy.reshape(-1).astype(dtype, copy=False)
    return grads
