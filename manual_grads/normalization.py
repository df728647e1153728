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

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "batch_norm2d_backward",
    "batch_norm2d_forward",
]

_AXES = (0, 2, 3)  # the axes a channel's statistics run over: batch, height, width


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


def _channel_sum(a: np.ndarray) -> np.ndarray:
    """Σ over a channel's M elements, shaped (1, C, 1, 1)."""
    return a.sum(axis=_AXES, keepdims=True)


def _check(x: np.ndarray, w, b) -> None:
    if x.ndim != 4:
        raise ValueError(f"batch_norm2d expects input of shape (N, C, H, W); got shape {x.shape}")
    if _count(x) == 1:  # an empty batch (M = 0) is allowed, as in torch
        raise ValueError(f"batch_norm2d needs more than 1 value per channel in training mode; got shape {x.shape}")
    for name, v in (("w", w), ("b", b)):
        if v is not None and np.shape(v) != (x.shape[1],):
            raise ValueError(f"batch_norm2d {name} must have shape ({x.shape[1]},); got {np.shape(v)}")


def batch_norm2d_forward(x, w=None, b=None, eps: float = 1e-5):
    """Y = γ·(X − μ)/σ + β with the batch mean μ and biased variance of each channel, σ = sqrt(var + eps)."""
    x = np.asarray(x)
    _check(x, w, b)
    m = x.dtype.type(max(_count(x), 1))  # M = 0: every sum is empty (0), the output empty
    centred = x - _channel_sum(x) / m
    var = _channel_sum(centred * centred) / m
    inv_sigma = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype, copy=False)
    x_hat = centred * inv_sigma
    w = None if w is None else np.asarray(w)
    y = x_hat if w is None else x_hat * _per_channel(w)
    if b is not None:
        y = y + _per_channel(np.asarray(b))
    return y.astype(x.dtype, copy=False), BatchNormCache(x_hat, inv_sigma, w, b is not None)


def batch_norm2d_backward(dy, cache: BatchNormCache) -> dict[str, np.ndarray]:
    """dX = (γ/σ)/M · (M·dY − ΣdY − X̂·Σ(dY·X̂)); dγ = Σ dY·X̂ and dβ = Σ dY, per channel."""
    dy = np.asarray(dy)
    x_hat, dtype = cache.x_hat, cache.x_hat.dtype
    m = dtype.type(max(_count(x_hat), 1))  # M = 0: dX is empty and dγ, dβ are zeros
    sum_dy = _channel_sum(dy)
    sum_dy_xhat = _channel_sum(dy * x_hat)
    scale = cache.inv_sigma if cache.w is None else cache.inv_sigma * _per_channel(cache.w)
    dx = (scale / m) * (m * dy - sum_dy - x_hat * sum_dy_xhat)
    grads = {"x": dx.astype(dtype, copy=False)}
    if cache.w is not None:
        grads["w"] = sum_dy_xhat.reshape(-1).astype(dtype, copy=False)
    if cache.has_b:
        grads["b"] = sum_dy.reshape(-1).astype(dtype, copy=False)
    return grads
