"""Depthwise convolution and the depthwise-separable block (lecture, "Depth-wise Convolution").

Depthwise: one K×K filter per input channel (``groups = C_in``; with a channel
multiplier m, C_out = m·C_in) — a grouped convolution, so forward and backward
are :mod:`manual_grads.conv`'s.

Separable block: depthwise K×K, then pointwise 1×1 mixing the channels.
Parameters: I·K·K + I·O instead of a conventional convolution's I·O·K·K
(m = 1, no bias); see :func:`separable_parameter_count`. Backward is the chain
rule through the two convolutions: dZ₁ = pointwise's dX, then depthwise's.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from ._api import specialise
from .conv import ConvCache, conv_backward, conv_forward

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "conventional_parameter_count",
    "depthwise_conv1d_backward",
    "depthwise_conv1d_forward",
    "depthwise_conv2d_backward",
    "depthwise_conv2d_forward",
    "separable_conv1d_backward",
    "separable_conv1d_forward",
    "separable_conv2d_backward",
    "separable_conv2d_forward",
    "separable_parameter_count",
]


def depthwise_conv_forward(x, w, b=None, stride=1, padding=0, dilation=1, *, nd: int):
    """Depthwise convolution; w has shape (m·C_in, 1, *K)."""
    x, w = np.asarray(x), np.asarray(w)
    if w.ndim != nd + 2 or w.shape[1] != 1 or x.ndim != nd + 2 or w.shape[0] % x.shape[1]:
        raise ValueError(
            f"depthwise_conv{nd}d expects x (N, C, {nd} dims) and w (m*C, 1, {nd} dims); got {x.shape}, {w.shape}"
        )
    return conv_forward(x, w, b, stride, padding, dilation, groups=x.shape[1])


@dataclass(frozen=True)
class SeparableCache:
    depthwise: ConvCache
    pointwise: ConvCache


def separable_conv_forward(x, w_dw, w_pw, b_dw=None, b_pw=None, stride=1, padding=0, dilation=1, *, nd: int):
    """Depthwise (w_dw: (m·C, 1, *K)) then pointwise (w_pw: (O, m·C, 1, ...)) convolution."""
    w_pw = np.asarray(w_pw)
    if w_pw.ndim != nd + 2 or w_pw.shape[2:] != (1,) * nd:
        raise ValueError(f"pointwise filters must have shape (C_out, C_mid, {', '.join(['1'] * nd)}); got {w_pw.shape}")
    z, dw_cache = depthwise_conv_forward(x, w_dw, b_dw, stride, padding, dilation, nd=nd)
    y, pw_cache = conv_forward(z, w_pw, b_pw)
    return y, SeparableCache(dw_cache, pw_cache)


def separable_conv_backward(dy, cache: SeparableCache) -> dict[str, np.ndarray]:
    """Chain rule: (dZ, dW_pw, db_pw) = pointwise backward of dY; (dX, dW_dw, db_dw) = depthwise backward of dZ."""
    pw = conv_backward(dy, cache.pointwise)
    dw = conv_backward(pw["x"], cache.depthwise)
    grads = {"x": dw["x"], "w_dw": dw["w"], "w_pw": pw["w"]}
    grads.update({f"b_{k}": g["b"] for k, g in (("dw", dw), ("pw", pw)) if "b" in g})
    return grads


def conventional_parameter_count(c_in: int, c_out: int, kernel: tuple[int, ...]) -> int:
    """I·O·K·K weights of a full convolution (no bias)."""
    return c_in * c_out * prod(kernel)


def separable_parameter_count(c_in: int, c_out: int, kernel: tuple[int, ...]) -> int:
    """I·K·K + I·O weights of a depthwise-separable block (multiplier 1, no bias)."""
    return c_in * prod(kernel) + c_in * c_out


depthwise_conv1d_forward = specialise(depthwise_conv_forward, "depthwise_conv1d", nd=1)
depthwise_conv2d_forward = specialise(depthwise_conv_forward, "depthwise_conv2d", nd=2)
separable_conv1d_forward = specialise(separable_conv_forward, "separable_conv1d", nd=1)
separable_conv2d_forward = specialise(separable_conv_forward, "separable_conv2d", nd=2)
depthwise_conv1d_backward = depthwise_conv2d_backward = conv_backward
separable_conv1d_backward = separable_conv2d_backward = separable_conv_backward
