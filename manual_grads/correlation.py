"""Grouped N-d cross-correlation (what deep-learning libraries call convolution), and the filter-bank
rearrangements that turn a convolution's gradients into correlations too.

:func:`correlate` is the convolution forward, the stride-1 input gradient (the upstream gradient
correlated with :func:`flip_spatial` of :func:`swap_in_out` of the filters), the literal lecture form of
the input gradient, and transposed convolution's input gradient.
"""
from __future__ import annotations

from math import prod
from typing import Sequence

import numpy as np

from .channel_planes import depthwise_correlate
from .columns import folds_batch, im2col, map_column_blocks
from .geometry import Pads, takes_depthwise_loops, window_counts
from .gemm import matmul
from .padding import pad


def correlate(
    x: np.ndarray,
    w: np.ndarray,
    stride: Sequence[int],
    dilation: Sequence[int],
    groups: int = 1,
    count: Sequence[int] | None = None,
    cols: np.ndarray | None = None,
    pads: Pads | None = None,
) -> np.ndarray:
    """Grouped N-d cross-correlation.

    ``y[n, g*Og + o, t] = sum_{c, i} w[g*Og + o, c, i] * x[n, g*Cg + c, t*stride + i*dilation]``

    with ``x`` of shape ``(N, G*Cg, *S)`` (zero-padded by ``pads`` first, if given), ``w`` of
    shape ``(G*Og, Cg, *K)`` and ``y`` of shape ``(N, G*Og, *T)``: per-sample GEMMs over
    :func:`~manual_grads.columns.im2col`'s columns (pass ``cols`` to reuse them), or, with one channel in
    and out per group in ``Tuning.depthwise_min_groups`` groups or more (depthwise), K·K fused multiply-adds (:func:`~manual_grads.channel_planes.depthwise_correlate`).
    Without ``cols``, samples with many windows take their columns block by block
    (:func:`~manual_grads.columns.map_column_blocks`); few, the batch folded into one GEMM.
    """
    o, cg = w.shape[:2]
    og = o // groups
    if cols is None and takes_depthwise_loops((cg, og), groups):
        return depthwise_correlate(x, w, stride, dilation, count, pads)
    x = pad(x, pads) if pads and cols is None else x
    out = tuple(count) if count is not None else window_counts(x.shape[2:], w.shape[2:], stride, dilation)
    n = x.shape[0]
    if cols is None and not folds_batch(prod(out)):  # per-sample GEMMs over blocks of columns
        y = np.empty((n, groups, og, prod(out)), np.result_type(x, w))
        map_column_blocks(lambda rows, span, block: np.matmul(w.reshape(groups, og, -1), block, out=y[rows, ..., span]),
                          x, w.shape[2:], stride, dilation, groups, count, out_channels=og)
        return y.reshape((n, o) + out)
    if cols is None:
        cols = im2col(x, w.shape[2:], stride, dilation, groups, count, fold=True)
    y = matmul(w.reshape(groups, og, -1), cols)  # (N, G, Og, |T|), or folded (G, Og, N*|T|)
    if cols.ndim == 3:
        y = np.ascontiguousarray(y.reshape(o, n, prod(out)).swapaxes(0, 1))
    return y.reshape((n, o) + out)


def flip_spatial(w: np.ndarray) -> np.ndarray:
    """Reverse every spatial axis of a filter bank ``(O, C, *K)`` (the lecture's flipped filter)."""
    return w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)]


def swap_in_out(w: np.ndarray, groups: int) -> np.ndarray:
    """Filter bank ``(G*Og, Cg, *K)`` -> ``(G*Cg, Og, *K)``: exchange input and output channels per group."""
    o, cg = w.shape[:2]
    k = w.shape[2:]
    return w.reshape((groups, o // groups, cg) + k).swapaxes(1, 2).reshape((groups * cg, o // groups) + k)
