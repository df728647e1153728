"""The depthwise loops: one multiply-add per kernel offset over every channel's flat run.

With one input and one output channel per group, a correlation is K·K fused multiply-adds
``y += w[:, 0, i] * taps[i]`` over flat :class:`~manual_grads.windowing.Taps`, no GEMM.
:class:`ChannelPlanes` lays the operands out for those loops (the batch inside each channel's
planes when planes are small); :func:`depthwise_correlate` is the forward, and
:mod:`manual_grads.conv`'s depthwise gradients use the same layout.
"""
from __future__ import annotations

from math import prod
from typing import Callable, TypeVar

import numpy as np

from .geometry import Pads, padded_size, phase_shape, window_counts
from .slabs import map_slabs
from .tuning import current
from .windowing import Taps

T = TypeVar("T")


class ChannelPlanes:
    """How the depthwise loops (:func:`depthwise_correlate` and the depthwise gradients) see ``(N, C, *S)``
    operands: per kernel offset, one multiply-add over every channel's flat run (:class:`Taps`, ``flat``),
    the channel's weight broadcast along it.

    Each run is one NumPy inner loop, which has a fixed cost besides its arithmetic; a run over one small
    plane (28×28) is mostly that overhead. So where a (phase) plane has fewer than ``Tuning.batch_in_plane_max``
    elements, the batch joins the planes: the operands are seen as ``(C, 1, N, *S)`` — the batch a leading
    spatial axis of kernel, stride and dilation 1 — so one run spans a channel's N planes, and slabs are
    blocks of channels rather than of samples. The sums are the same; only their layout changes.
    ``size``: the (padded) spatial size the taps read; ``out``: the window positions.
    """

    def __init__(self, batch: int, size, kernel, stride, dilation, out):
        plane = prod(phase_shape(size, stride))
        self.batch_in = batch > 1 and plane < current().batch_in_plane_max
        unit = (1,) if self.batch_in else ()
        self.kernel, self.stride, self.dilation = unit + tuple(kernel), unit + tuple(stride), unit + tuple(dilation)
        self.size = ((batch,) if self.batch_in else ()) + tuple(size)
        self.out = ((batch,) if self.batch_in else ()) + tuple(out)

    def arrange(self, a: np.ndarray) -> np.ndarray:
        """``(N, C, *S)`` as the loops see it (a view): ``(C, 1, N, *S)`` with the batch in the planes, else as it is."""
        return a.swapaxes(0, 1)[:, None] if self.batch_in else a

    def pads(self, pads: Pads | None) -> Pads | None:
        """Padding of the spatial axes, extended to the arranged ones (none along the batch)."""
        return ((0, 0),) + tuple(pads) if pads and self.batch_in else pads

    def weights(self, w: np.ndarray, rows: slice, ndim: int) -> list[np.ndarray]:
        """Per kernel offset, the filters' weights ``w[c, 0, i]`` shaped to broadcast over a slab's ``ndim``-d
        slices: along the channel axis — the first with the batch in the planes (this slab's ``rows`` of C),
        else the second (every channel)."""
        if self.batch_in:
            return [w[(rows, 0) + offset].reshape((-1,) + (1,) * (ndim - 1)) for offset in np.ndindex(*self.kernel[1:])]
        return [w[(slice(None), 0) + offset].reshape((-1,) + (1,) * (ndim - 2)) for offset in np.ndindex(*self.kernel)]

    def map(self, body: Callable[[slice], T], arranged: np.ndarray, itemsize: int) -> list[T]:
        """:func:`~manual_grads.slabs.map_slabs` over the first axis of an arranged operand whose taps read ``size``."""
        per_row = prod(arranged.shape[1:arranged.ndim - len(self.size)] + self.size) * itemsize
        return map_slabs(body, arranged.shape[0], per_row)


def depthwise_correlate(x: np.ndarray, w: np.ndarray, stride, dilation, count=None, pads: Pads | None = None) -> np.ndarray:
    """Correlation with one input and one output channel per group (depthwise), of ``pad(x, pads)``:
    K·K fused multiply-adds ``y += w[:, 0, i] * taps[i]`` over flat :class:`Taps` (laid out by
    :class:`ChannelPlanes`). Slab by slab: each slab pads (and phase-splits) its own rows and sums in
    buffers of its own, which stay in cache, then writes its rows of the result — no padded copy of the
    whole batch is ever made."""
    kernel = w.shape[2:]
    size = padded_size(x.shape[2:], pads)
    out = tuple(count) if count is not None else window_counts(size, kernel, stride, dilation)
    y = np.empty(x.shape[:2] + out, dtype=np.result_type(x, w))
    planes = ChannelPlanes(x.shape[0], size, kernel, stride, dilation, out)
    xs, ys = planes.arrange(x), planes.arrange(y)

    def slab(rows):
        taps = Taps(xs[rows], planes.kernel, planes.stride, planes.dilation, planes.out, planes.pads(pads), flat=True)
        views = [view for _, view in taps]
        weights = planes.weights(w, rows, views[0].ndim)
        total = np.multiply(views[0], weights[0], dtype=y.dtype)
        product = np.empty_like(total)
        for view, weight in zip(views[1:], weights[1:]):
            total += np.multiply(view, weight, out=product)
        ys[rows] = taps.unpack(total)
    planes.map(slab, xs, y.itemsize)
    return y
