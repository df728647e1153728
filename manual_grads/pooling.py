"""Max, average and adaptive-average pooling (any N-d; 1-d and 2-d bound by name).

Max pooling (lecture, "Derivative of Max pooling"): the forward remembers the
arg-max of every window (``pidx``); the backward routes each upstream gradient
there, ``dX[pidx(t)] += dY[t]`` — ``+=`` because overlapping windows (stride <
kernel) can share a maximum. Ties: like torch, the *first* maximum in
row-major window order wins (NaN counts as the maximum).

Average pooling: ``Y[t] = sum(window t) / divisor(t)``, so every element of the
window receives ``dY[t] / divisor(t)``, again with ``+=`` over overlaps.

The max-pool forward keeps a running maximum over the kernel offsets (one
pass each, over :class:`~manual_grads.windowing.Taps`) and its backward adds dY
at the remembered offsets (masked adds). Average pooling sums each window one
axis at a time; its backward spreads each window's share over the window, one
:func:`~manual_grads.windowing.fold` (``+=``) of the share broadcast over it
(:meth:`PoolGeometry.fold_broadcast`). Where windows tile the input
(stride = kernel) no element is shared and nothing needs adding up: that fold
is a repeat, and a small max pool takes every offset at once, forward (the arg-max
of each window) and backward (dY routed in one step). Both crop the padding.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import prod

import numpy as np

from ._api import specialise
from .geometry import Pads, as_tuple, covered_size, memoised, offset_slice, padded_size, pool_output_size
from .padding import crop, pad
from .separable import along_axes
from .slabs import map_slabs
from .tuning import current
from .windowing import Taps, fold

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "adaptive_avg_pool1d_backward",
    "adaptive_avg_pool1d_forward",
    "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool2d_forward",
    "avg_pool1d_backward",
    "avg_pool1d_forward",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "max_pool1d_backward",
    "max_pool1d_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
]


@dataclass(frozen=True)
class PoolGeometry:
    """The windows of a pooling (sizes from :mod:`manual_grads.geometry`), with the reads and folds its forward
    and backward make of them."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...]  # the user's symmetric padding
    pads: Pads  # (padding, padding + room for ceil_mode's last window)
    size: tuple[int, ...]  # input spatial size
    out: tuple[int, ...]

    @classmethod
    def of(cls, x: np.ndarray, nd: int, kernel_size, stride, padding, dilation, ceil_mode) -> "PoolGeometry":
        """The windows of an ``nd``-d pooling of ``x`` (the rank checked here, the rest by :func:`_pool_geometry`)."""
        if x.ndim != nd + 2:
            raise ValueError(f"{nd}-d pooling expects input of shape (N, C, {nd} spatial dims); got shape {x.shape}")
        return _pool_geometry(tuple(x.shape[2:]), kernel_size, stride, padding, dilation, ceil_mode)

    @cached_property
    def padded(self) -> tuple[int, ...]:
        """Spatial size of the padded input (the ceil-mode room included)."""
        return padded_size(self.size, self.pads)

    @cached_property
    def tiles(self) -> bool:
        """Whether the windows tile the padded input: stride = kernel, no dilation, nothing left over — every
        element belongs to exactly one window."""
        return self.stride == self.kernel and max(self.dilation) == 1 and self.padded == tuple(
            o * k for o, k in zip(self.out, self.kernel))

    def fold(self, per_window: np.ndarray) -> np.ndarray:
        """Adjoint of this pooling's window read: the module's :func:`~manual_grads.windowing.fold` (``+=``
        per-window gradients ``(*lead, *out, *kernel)`` into the input), padding cropped. Windows that tile the
        input share no element: on small arrays (under ``Tuning.tiled_pool_max`` elements) that fold is a
        reshape (one copy, nothing to add up); on large ones the copy's short inner loops cost more than the adds."""
        if self.tiles and per_window.size < current().tiled_pool_max:
            lead = per_window.ndim - 2 * len(self.kernel)
            interleaved = per_window.transpose(self._interleaving(lead))
            return crop(interleaved.reshape(per_window.shape[:lead] + self.padded), self.pads)
        return crop(fold(per_window, self.padded, self.stride, self.dilation), self.pads)

    def tiled_windows(self, x: np.ndarray, fill: float) -> np.ndarray:
        """The windows of ``x`` padded with ``fill``, ``(*lead, *out, |K|)``, when they tile it (a copy; the
        inverse of :meth:`fold`'s reshape)."""
        lead = x.ndim - len(self.kernel)
        split = pad(x, self.pads, fill).reshape(x.shape[:lead] + tuple(a for o, k in zip(self.out, self.kernel) for a in (o, k)))
        order = self._interleaving(lead)
        windows = split.transpose(sorted(range(len(order)), key=order.__getitem__))  # (*lead, *out, *kernel)
        return windows.reshape(x.shape[:lead] + self.out + (prod(self.kernel),))

    def _interleaving(self, lead: int) -> tuple[int, ...]:
        """Axes ``(*lead, *out, *kernel)`` in the order ``(*lead, out_1, k_1, out_2, k_2, ...)``: where windows tile
        the input, that is the input's own layout."""
        nd = len(self.kernel)
        return tuple(range(lead)) + tuple(a for i in range(nd) for a in (lead + i, lead + nd + i))

    def fold_broadcast(self, share: np.ndarray) -> np.ndarray:
        """Adjoint of :meth:`window_sums`: :meth:`fold` of every window's value broadcast over the window — each
        value added onto each of its window's elements, padding cropped. Windows that tile the padded input
        (stride = kernel, nothing left over) share no element, so there each element just takes its window's
        value: a repeat along each axis."""
        nd = len(self.kernel)
        if self.tiles:
            for axis, k in zip(range(share.ndim - nd, share.ndim), self.kernel):
                share = np.repeat(share, k, axis=axis)
            return crop(share, self.pads)
        return self.fold(np.broadcast_to(share[(Ellipsis,) + (None,) * nd], share.shape + self.kernel))

    def taps(self, x: np.ndarray, fill: float = 0.0, flat: bool = False) -> Taps:
        """Every kernel offset's slice of the input padded with ``fill``, over all windows."""
        return Taps(x, self.kernel, self.stride, self.dilation, self.out, self.pads, fill, flat=flat)

    def zero_taps(self, lead: tuple[int, ...], dtype, flat: bool = False) -> Taps:
        """Zero padded-input taps to accumulate a gradient into (:meth:`Taps.array` gives the padded dX)."""
        return Taps.zeros(lead, self.padded, self.kernel, self.stride, self.dilation, self.out, dtype, flat=flat)

    def window_sums(self, x: np.ndarray) -> np.ndarray:
        """Sum of every window of the zero-padded input, one axis at a time, outermost first: a window is a box,
        so its sum is sums along each axis in turn — Σ k_i adds of strided slices instead of Π k_i, and along
        an outer axis a strided slice is whole rows."""
        total = pad(x, self.pads)
        for axis, (k, s, d, o) in enumerate(zip(self.kernel, self.stride, self.dilation, self.out), start=x.ndim - len(self.kernel)):
            slices = [total[(slice(None),) * axis + (offset_slice(i, d, o, s),)] for i in range(k)]
            total = slices[0] + slices[1] if k > 1 else slices[0].copy()
            for later in slices[2:]:
                total += later
        return total


@memoised
def _pool_geometry(size: tuple[int, ...], kernel_size, stride, padding, dilation, ceil_mode) -> PoolGeometry:
    """Windows of a pooling of an input of spatial ``size`` (worked out once per arguments: :func:`memoised`)."""
    nd = len(size)
    kernel = as_tuple(kernel_size, nd, "kernel_size")
    stride = kernel if stride is None or stride == () else as_tuple(stride, nd, "stride")
    dilation = as_tuple(dilation, nd, "dilation")
    padding = as_tuple(padding, nd, "padding")
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"kernel, stride, dilation must be >= 1 and padding >= 0; got {kernel}, {stride}, {dilation}, {padding}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"padding {padding} must be at most half the kernel size {kernel}")
    out = tuple(pool_output_size(n, k, s, d, p, ceil_mode) for n, k, s, d, p in zip(size, kernel, stride, dilation, padding))
    if min(out) < 1:
        raise ValueError(f"pooling window {kernel} (dilation {dilation}) does not fit input {size} with padding {padding}")
    pads = tuple(  # after: the padding, or more where ceil mode's last window overhangs it
        (p, max(p, covered_size(o, k, s, d) - n - p))
        for n, k, s, d, p, o in zip(size, kernel, stride, dilation, padding, out)
    )
    return PoolGeometry(kernel, stride, dilation, padding, pads, size, out)


def sum_taps(taps: Taps) -> np.ndarray:
    """Sum over the kernel offsets of their slices — every window's sum, one add per offset."""
    slices = iter(taps)
    total = next(slices)[1].copy()
    for _, view in slices:
        total += view
    return total


def first_max(candidate: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Where a later window element replaces the running maximum: only if strictly greater (or NaN),
    so of equal maxima the first in row-major window order wins — torch's rule."""
    better = candidate > best
    if np.isnan(candidate).any():
        better |= np.isnan(candidate) & ~np.isnan(best)
    return better


@dataclass(frozen=True)
class MaxPoolCache:
    argmax: np.ndarray  # (N, C, *out), unsigned: index of the maximum within each flattened window (the lecture's pidx)
    geometry: PoolGeometry


def max_pool_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, nd: int):
    """Y[t] = max(window t); remembers the arg-max of every window (a running maximum over the kernel offsets)."""
    x = np.asarray(x)
    geo = PoolGeometry.of(x, nd, kernel_size, stride, padding, dilation, ceil_mode)
    index_type = np.min_scalar_type(prod(geo.kernel))
    if geo.tiles and x.size < current().tiled_pool_max:  # small, every element in one window: all offsets at once
        windows = geo.tiled_windows(x, -np.inf)  # (N, C, *out, |K|)
        where = np.argmax(windows, axis=-1)  # pidx, by first_max's rule: the first of equal maxima (or the first NaN)
        flat = windows.reshape(-1, windows.shape[-1])
        y = flat[np.arange(flat.shape[0]), where.reshape(-1)].reshape(where.shape)
        return y, MaxPoolCache(where.astype(index_type), geo)
    y = np.empty(x.shape[:2] + geo.out, dtype=x.dtype)
    argmax = np.empty(y.shape, dtype=index_type)

    def slab(rows):  # its own padded rows, running maximum and offset: they stay in cache
        taps = geo.taps(x[rows], -np.inf, flat=True)
        slices = [view for _, view in taps]
        best = slices[0].copy()
        where = np.zeros(best.shape, argmax.dtype)
        step = np.empty_like(where)
        for k, candidate in enumerate(slices[1:], start=1):
            better = first_max(candidate, best)
            np.maximum(best, candidate, out=best)
            # where = k if better else unchanged: max(where, k * better), since every earlier offset is < k
            # (arithmetic, which vectorises; a masked copy does not)
            np.maximum(where, np.multiply(better, argmax.dtype.type(k), out=step), out=where)
        y[rows], argmax[rows] = taps.unpack(best), taps.unpack(where)
    map_slabs(slab, x.shape[0], x.nbytes // max(x.shape[0], 1))
    return y, MaxPoolCache(argmax, geo)


def max_pool_backward(dy, cache: MaxPoolCache) -> dict[str, np.ndarray]:
    """dX[pidx(t)] += dY[t]: each upstream gradient goes to its window's remembered maximum (one masked add per offset)."""
    dy = np.asarray(dy)
    geo = cache.geometry
    if geo.tiles and cache.argmax.size * prod(geo.kernel) < current().tiled_pool_max:
        # small, and every element in one window: dY to the window's arg-max, zeros elsewhere, put back in place
        # in one step (on large arrays the loop below is faster)
        chosen = cache.argmax[..., None] == np.arange(prod(geo.kernel), dtype=cache.argmax.dtype)
        per_window = np.where(chosen, dy[..., None], dy.dtype.type(0))
        return {"x": geo.fold(per_window.reshape(dy.shape + geo.kernel))}
    dx_padded = np.empty(dy.shape[:2] + geo.padded, dtype=dy.dtype)
    finite = bool(np.isfinite(dy).all())

    def slab(rows):  # accumulates into zero taps of its own rows, which stay in cache
        dxp = geo.zero_taps(dy[rows].shape[:2], dy.dtype, flat=True)
        dy_runs = dxp.pack(dy[rows])  # zeros between rows: they add nothing
        pidx = dxp.pack(cache.argmax[rows], fill=prod(geo.kernel))  # between rows: no offset's index
        routed = np.empty_like(dy_runs)
        for k, (_, target) in enumerate(dxp):
            chosen = pidx == k
            if finite:  # dY where chosen, else 0 — as a product, which vectorises (but 0·inf would be NaN)
                np.multiply(dy_runs, chosen, out=routed)
            else:
                routed[...] = 0
                np.copyto(routed, dy_runs, where=chosen)
            target += routed  # '+=': overlapping windows add up
        dxp.array(out=dx_padded[rows])
    map_slabs(slab, dy.shape[0], dx_padded.nbytes // max(dy.shape[0], 1))
    return {"x": crop(dx_padded, geo.pads)}


@dataclass(frozen=True)
class AvgPoolCache:
    divisor: np.ndarray  # broadcastable to (N, C, *out)
    geometry: PoolGeometry


def _divisor(geo: PoolGeometry, count_include_pad: bool, divisor_override, dtype) -> np.ndarray:
    """Per-window divisor: the window's element count, with or without the zero padding (never the ceil overhang)."""
    if divisor_override:
        return np.asarray(divisor_override, dtype=dtype)
    mask = np.ones(())  # 1 where an element counts, in padded coordinates
    for n, p, total in zip(geo.size, geo.padding, geo.padded):
        counts = np.zeros(total)
        counts[slice(0, n + 2 * p) if count_include_pad else slice(p, p + n)] = 1
        mask = np.multiply.outer(mask, counts)
    return sum_taps(Taps(mask, geo.kernel, geo.stride, geo.dilation, geo.out)).astype(dtype)


def avg_pool_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                     divisor_override=None, *, nd: int):
    """Y[t] = sum(window t) / divisor(t)."""
    x = np.asarray(x)
    geo = PoolGeometry.of(x, nd, kernel_size, stride, padding, 1, ceil_mode)
    divisor = _divisor(geo, count_include_pad, divisor_override, x.dtype)
    y = geo.window_sums(x) / divisor
    return y.astype(x.dtype, copy=False), AvgPoolCache(divisor, geo)


def avg_pool_backward(dy, cache: AvgPoolCache) -> dict[str, np.ndarray]:
    """dX[window t] += dY[t] / divisor(t): each gradient is spread evenly over its window."""
    dy = np.asarray(dy)
    geo = cache.geometry
    share = (dy / cache.divisor).astype(dy.dtype, copy=False)
    return {"x": geo.fold_broadcast(share)}


def adaptive_bins(size: int, out: int) -> np.ndarray:
    """Averaging matrix (out, size): bin i covers [floor(i*size/out), ceil((i+1)*size/out))."""
    a = np.zeros((out, size))
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        a[i, start:end] = 1.0 / (end - start)
    return a


@dataclass(frozen=True)
class AdaptiveCache:
    matrices: tuple[np.ndarray, ...]


def adaptive_avg_pool_forward(x, output_size, *, nd: int):
    """Y = X ×_1 A_1 ×_2 A_2 ..., A_i averaging adaptive bins; output_size 1 is global average pooling."""
    x = np.asarray(x)
    if x.ndim != nd + 2:
        raise ValueError(f"{nd}-d adaptive pooling expects input of shape (N, C, {nd} spatial dims); got {x.shape}")
    sizes = (output_size,) * nd if output_size is None or np.isscalar(output_size) else tuple(output_size)
    out = tuple(n if o is None else o for n, o in zip(x.shape[2:], sizes))
    if len(sizes) != nd or min(out) < 1:
        raise ValueError(f"output_size must be {nd} positive ints (or None to keep a size); got {output_size!r}")
    matrices = tuple(adaptive_bins(n, o) for n, o in zip(x.shape[2:], out))
    return along_axes(x, matrices), AdaptiveCache(matrices)


def adaptive_avg_pool_backward(dy, cache: AdaptiveCache) -> dict[str, np.ndarray]:
    """dX = dY ×_1 A_1ᵀ ×_2 A_2ᵀ ...: each bin's gradient spread evenly over the bin."""
    return {"x": along_axes(np.asarray(dy), tuple(a.T for a in cache.matrices))}


max_pool1d_forward = specialise(max_pool_forward, "max_pool1d", nd=1)
max_pool2d_forward = specialise(max_pool_forward, "max_pool2d", nd=2)
avg_pool1d_forward = specialise(avg_pool_forward, "avg_pool1d", nd=1)
avg_pool2d_forward = specialise(avg_pool_forward, "avg_pool2d", nd=2)
adaptive_avg_pool1d_forward = specialise(adaptive_avg_pool_forward, "adaptive_avg_pool1d", nd=1)
adaptive_avg_pool2d_forward = specialise(adaptive_avg_pool_forward, "adaptive_avg_pool2d", nd=2)
max_pool1d_backward = max_pool2d_backward = max_pool_backward
avg_pool1d_backward = avg_pool2d_backward = avg_pool_backward
adaptive_avg_pool1d_backward = adaptive_avg_pool2d_backward = adaptive_avg_pool_backward
