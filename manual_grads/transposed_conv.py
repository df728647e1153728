"""Transposed convolution ("upsampling by a learned filter"), 1-d and 2-d (any N-d).

A transposed convolution *is* the input-gradient map of a convolution: with
``conv(Y; W)`` the convolution whose filters are ``W``,

    forward   Y  = crop( upsample_s(X) (*) W ) + b      (conv's dX formula, X in place of dZ)
    backward  dX = pad(dY) ⋆ W, at stride s              (conv's forward)
              dW = pad(dY) ⋆ X                           (conv's filter gradient, roles exchanged)
              db = sum_{n,t} dY

so every piece below is one of :mod:`manual_grads.conv`'s: its input gradient (the forward), its
correlation (dX) and its filter gradient (dW), the last two over one im2col of pad(dY) (depthwise: the depthwise loops, no im2col).
Weights have torch's layout ``(C_in, C_out / groups, *K)``.
"""
from __future__ import annotations

from dataclasses import dataclass

from math import prod

import numpy as np

from ._api import specialise
from .columns import folds_batch, im2col
from .conv import ConvGeometry, add_bias, bias_grad, conv_filter_grad, conv_input_grad
from .correlation import correlate
from .geometry import as_tuple, covered_size
from .padding import pad

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "conv_transpose1d_backward",
    "conv_transpose1d_forward",
    "conv_transpose2d_backward",
    "conv_transpose2d_forward",
]


@dataclass(frozen=True)
class ConvTransposeCache:
    x: np.ndarray
    w: np.ndarray
    has_bias: bool
    geometry: ConvGeometry  # of the convolution this layer is the transpose of


def conv_transpose_forward(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1, *, nd: int):
    """Transposed convolution forward; output size (L-1)s - 2p + d(k-1) + output_padding + 1."""
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != nd + 2 or w.ndim != nd + 2:
        raise ValueError(f"conv_transpose{nd}d expects x (N, C_in, {nd} dims) and w (C_in, C_out/groups, {nd} dims); got {x.shape}, {w.shape}")
    s, p = as_tuple(stride, nd, "stride"), as_tuple(padding, nd, "padding")
    d, op = as_tuple(dilation, nd, "dilation"), as_tuple(output_padding, nd, "output_padding")
    if any(o >= max(si, di) or o < 0 for o, si, di in zip(op, s, d)):
        raise ValueError(f"output_padding {op} must be non-negative and smaller than stride {s} or dilation {d}")
    out = tuple(covered_size(n, k, si, di) - 2 * pi + oi for n, si, pi, di, k, oi in zip(x.shape[2:], s, p, d, w.shape[2:], op))
    if min(out) < 1:
        raise ValueError(f"transposed convolution output size {out} is empty (padding {p} too large)")
    geo = ConvGeometry.of((x.shape[0], w.shape[1] * groups) + out, w.shape, s, p, d, groups)
    y = add_bias(conv_input_grad(x, w, geo), b)
    return y, ConvTransposeCache(x, w, b is not None, geo)


def conv_transpose_backward(dy, cache: ConvTransposeCache) -> dict[str, np.ndarray]:
    """dX = pad(dY) ⋆ W (a convolution); dW = pad(dY) ⋆ X; db = Σ dY."""
    dy = np.asarray(dy)
    geo = cache.geometry
    count = cache.x.shape[2:]
    if geo.depthwise:  # each slab pads its own rows of dY
        grads = {"x": correlate(dy, cache.w, geo.stride, geo.dilation, geo.groups, count, pads=geo.pads),
                 "w": conv_filter_grad(cache.x, dy, geo, pads=geo.pads)}
    else:  # the windows of pad(dY) are read by both gradients: gather them once
        dy_padded = pad(dy, geo.pads)
        cols = im2col(dy_padded, geo.kernel, geo.stride, geo.dilation, geo.groups, count,
                      fold=folds_batch(prod(count)))
        grads = {"x": correlate(dy_padded, cache.w, geo.stride, geo.dilation, geo.groups, count, cols),
                 "w": conv_filter_grad(cache.x, dy_padded, geo, cols)}
    if cache.has_bias:
        grads["b"] = bias_grad(dy)
    return grads


conv_transpose1d_forward = specialise(conv_transpose_forward, "conv_transpose1d", nd=1)
conv_transpose2d_forward = specialise(conv_transpose_forward, "conv_transpose2d", nd=2)
conv_transpose1d_backward = conv_transpose2d_backward = conv_transpose_backward
