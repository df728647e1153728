"""Reading every window of an array, and the adjoint of that read, :func:`fold`.

* :func:`windows` — a read-only strided view of every window (im2col without the copy);
* :class:`Taps` — one slice of the input per kernel offset, for the per-offset loops (pooling,
  depthwise, :func:`fold`): stride phases split once so that every slice is unit-stride, optionally
  flat (one contiguous run per offset). Its zero form accumulates (``+=``) instead of reading;
* :func:`fold` — the adjoint of a window read, the one name for it: ``+=`` every window's values back
  where they came from, so overlapping windows add up. :func:`~manual_grads.columns.col2im` is fold of
  columns in im2col's layout; pooling's ``PoolGeometry.fold`` is fold with the padding cropped.
"""
from __future__ import annotations

from functools import cached_property
from math import prod
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .geometry import Pads, fitting_counts, offset_slice, padded_size, phase_shape
from .padding import pad
from .slabs import assign, contiguous, map_slabs
from .tuning import current


def windows(
    x: np.ndarray,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    count: Sequence[int] | None = None,
) -> np.ndarray:
    """Read-only view ``(*lead, *out, *kernel)`` of every (dilated) window of ``x``.

    ``view[..., t, i] = x[..., t * stride + i * dilation]`` per spatial axis.
    ``count`` limits the number of window positions per axis (default: all).
    """
    nd = len(kernel)
    lead, spatial = x.shape[:-nd], x.shape[-nd:]
    out = fitting_counts(spatial, kernel, stride, dilation, count)
    lead_strides, sp_strides = x.strides[:-nd], x.strides[-nd:]
    shape = lead + out + tuple(kernel)
    strides = lead_strides + tuple(st * s for st, s in zip(sp_strides, stride)) + tuple(st * d for st, d in zip(sp_strides, dilation))
    if not x.flags.c_contiguous or x.size == 0:
        return as_strided(x, shape=shape, strides=strides, writeable=False)
    view = np.ndarray(shape, x.dtype, buffer=x, strides=strides)  # the same view as as_strided, built faster
    view.flags.writeable = False
    return view


def fold(
    cols: np.ndarray,
    size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> np.ndarray:
    """Adjoint of :func:`windows` (and of :class:`Taps`' read): add every window's values back where they came from.

    ``cols`` has shape ``(*lead, *out, *kernel)``; the result ``(*lead, *size)``
    accumulates with ``+=``, so positions shared by overlapping windows receive
    the sum of their contributions. One add per kernel offset, into zero :class:`Taps`,
    slab by slab over the first lead axis.
    """
    nd = len(size)
    kernel = cols.shape[-nd:]
    lead = cols.shape[: cols.ndim - 2 * nd]
    target = Taps.zeros(lead, size, kernel, stride, dilation, cols.shape[-2 * nd:-nd], cols.dtype)
    pieces = [(view, cols[(Ellipsis,) + offset]) for offset, view in target]

    def slab(rows):
        for view, values in pieces:
            view[rows] += values[rows]
    if lead:
        map_slabs(slab, lead[0], target.data.nbytes // max(lead[0], 1))
    else:
        slab(Ellipsis)
    return target.array()


class Taps:
    """Every kernel offset's slice of an array: ``taps[i][..., t] = x[..., t*stride + i*dilation]``, shape ``(*lead, *out)``.

    The per-offset loops of the sliding-window layers (max/average pooling,
    depthwise convolution, :func:`fold`) read or accumulate one such slice per kernel
    offset. A plain strided slice (``x[..., i*d::s]``) does not vectorise when
    ``s > 1``, so the array is kept split into its stride phases —
    ``phase[a] = x[..., a::s]`` for every residue ``a``, one contiguous array —
    and offset ``i`` is the unit-stride slice ``phase[(i*d) % s][..., (i*d)//s :][:out]``.
    With stride 1 the array is used as it is; an array small enough to stay in
    cache (fewer than ``Tuning.phase_split_min`` elements) is never split or flattened:
    its slices are strided.

    ``flat=True`` goes one step further for element-wise loops: each (phase)
    plane is seen as one flat vector, and offset ``i`` as one contiguous run of
    it, ``span`` long, that holds the window positions ``t`` (at flat position
    ``sum_k t_k * row_stride_k``) and, between rows, positions of no window. The
    loops then run over long contiguous vectors instead of short rows;
    :meth:`pack` and :meth:`unpack` convert ``(*lead, *out)`` arrays to and from
    that layout (positions of no window: ``fill``, ignored on unpacking).

    ``Taps(x, ..., pads=, value=)`` reads ``pad(x, pads, value)``; when it is split into
    stride phases, they are written straight from ``x`` (the padded array is never built).
    ``Taps.zeros(...)`` is the adjoint: :meth:`add` (``taps[i] += values``) accumulates, so
    overlapping windows add up, and :meth:`array` interleaves the phases back into one array.
    """

    def __init__(self, x: np.ndarray, kernel, stride, dilation, count=None, pads: Pads | None = None, value: float = 0.0,
                 *, flat: bool = False):
        nd = len(kernel)
        self.kernel, self.stride, self.dilation = tuple(kernel), tuple(stride), tuple(dilation)
        self.flat = flat
        self.phased = max(self.stride) > 1
        if x is None:  # Taps.zeros: the caller sets size and data
            return
        self.size = padded_size(x.shape[-nd:], pads)
        self.out = fitting_counts(self.size, self.kernel, self.stride, self.dilation, count)
        # small arrays stay in cache: plain (strided) slices cost less than splitting or flattening
        whole = x.size < current().phase_split_min
        self.flat = flat and not whole
        self.phased = self.phased and not whole
        data = _split_phases(x, self.stride, pads, value) if self.phased else pad(x, pads, value, parallel=True) if pads else x
        self.data = contiguous(data) if flat else data

    @classmethod
    def zeros(cls, lead, size, kernel, stride, dilation, out, dtype, *, flat: bool = False) -> "Taps":
        """Zero taps of an array of shape ``(*lead, *size)``, to accumulate into."""
        taps = cls(None, kernel, stride, dilation, flat=flat)
        taps.size = tuple(size)
        taps.out = fitting_counts(taps.size, taps.kernel, taps.stride, taps.dilation, out)
        whole = prod(lead) * prod(size) < current().phase_split_min
        taps.flat = flat and not whole
        taps.phased = taps.phased and not whole
        shape = tuple(stride) + phase_shape(size, stride) if taps.phased else taps.size
        taps.data = np.zeros(tuple(lead) + shape, dtype)
        return taps

    # --- the flat layout -------------------------------------------------------------------
    @cached_property
    def _row_strides(self) -> tuple[int, ...]:
        plane = self.data.shape[-len(self.kernel):]
        return tuple(prod(plane[k + 1:]) for k in range(len(plane)))

    @cached_property
    def span(self) -> int:
        """Length of one offset's flat run: from the first window position to the last."""
        return sum((o - 1) * st for o, st in zip(self.out, self._row_strides)) + 1

    def _windows_of(self, run: np.ndarray) -> np.ndarray:
        """The window positions ``(*lead, *out)`` of a flat-layout array ``(*lead, span)``, as a view."""
        step = run.strides[-1]
        return as_strided(run, shape=run.shape[:-1] + self.out,
                          strides=run.strides[:-1] + tuple(st * step for st in self._row_strides))

    def pack(self, values: np.ndarray, fill=0) -> np.ndarray:
        """``(*lead, *out)`` values in this layout (flat: a new ``(*lead, span)`` array, ``fill`` between rows)."""
        if not self.flat:
            return values
        lead = values.shape[: values.ndim - len(self.out)]
        run = np.empty(lead + (self.span,), dtype=values.dtype)
        return assign(run, [(self._windows_of, values)], fill=fill, lead=len(lead))

    def unpack(self, run: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`pack`: the ``(*lead, *out)`` window positions (a view)."""
        return self._windows_of(run) if self.flat else run

    def __getitem__(self, offset: tuple[int, ...]) -> np.ndarray:
        if not (self.phased or self.flat):  # the data as it is: offset i of every window
            return self.data[(Ellipsis,) + tuple(map(list.__getitem__, self._slices, offset))]
        starts = [i * d for i, d in zip(offset, self.dilation)]
        nd = len(starts)
        plane = self.data
        if self.phased:
            phase = tuple(r % s for r, s in zip(starts, self.stride))
            plane, starts = self.data[(Ellipsis,) + phase + (slice(None),) * nd], [r // s for r, s in zip(starts, self.stride)]
        if not self.flat:
            return plane[(Ellipsis,) + tuple(slice(r, r + o) for r, o in zip(starts, self.out))]
        first = sum(r * st for r, st in zip(starts, self._row_strides))
        return plane.reshape(plane.shape[: plane.ndim - nd] + (prod(plane.shape[plane.ndim - nd:]),))[..., first:first + self.span]

    @cached_property
    def _slices(self) -> list[list[slice]]:
        """Per axis, per kernel index ``i``: the slice of the unsplit data holding every window's element ``i``."""
        return [[offset_slice(i, d, o, s) for i in range(k)]
                for k, d, o, s in zip(self.kernel, self.dilation, self.out, self.stride)]

    def add(self, offset: tuple[int, ...], values: np.ndarray) -> None:
        """``taps[offset] += values``: the lecture's '+=' onto every window's element at this offset."""
        view = self[offset]
        view += values

    def __iter__(self):
        """(offset, slice) for every kernel offset, in row-major order."""
        for offset in np.ndindex(*self.kernel):
            yield offset, self[offset]

    def array(self, out: np.ndarray | None = None) -> np.ndarray:
        """The (padded) array these taps are slices of, shape ``(*lead, *size)`` (phases interleaved back),
        written into ``out`` if given. For zero taps, after :meth:`add`: the fold of what was added."""
        if self.phased:
            return _merge_phases(self.data, self.stride, self.size, out=out)
        if out is None:
            return self.data
        out[...] = self.data
        return out


def _phase_slices(size, stride, pads=None):
    """Per stride phase ``a``: (a, slice of the unpadded array, slice of the phase) with
    ``phase[a][j'] = pad(x)[a + j'*s]``; ``pads`` are the (before, after) zeros of ``pad(x)``."""
    pads = pads or ((0, 0),) * len(size)
    for phase in np.ndindex(*stride):
        first = tuple((a - lo) % s for a, (lo, _), s in zip(phase, pads, stride))  # first x index in this phase
        counts = tuple(len(range(j, n, s)) for j, n, s in zip(first, size, stride))
        starts = tuple((j + lo) // s for j, (lo, _), s in zip(first, pads, stride))
        yield (phase, tuple(slice(j, None, s) for j, s in zip(first, stride)),
               tuple(slice(b, b + c) for b, c in zip(starts, counts)))


def _split_phases(x: np.ndarray, stride, pads: Pads | None = None, value: float = 0.0) -> np.ndarray:
    """``pad(x, pads, value)`` split into ``(*lead, *stride, *ceil(padded/stride))``, ``out[..., a, :] = pad(x)[..., a::s]``,
    written straight from ``x`` (the padded array is never built); the ragged tail is ``value`` too."""
    nd = len(stride)
    size, lead = x.shape[-nd:], x.shape[:-nd]
    padded = padded_size(size, pads)
    shape = lead + tuple(stride) + phase_shape(padded, stride)
    exact = padded == size and not any(n % s for n, s in zip(size, stride))
    pieces = [((Ellipsis,) + phase + target, x[(Ellipsis,) + source]) for phase, source, target in _phase_slices(size, stride, pads)]
    return assign(np.empty(shape, x.dtype), pieces, fill=None if exact else value, lead=len(lead))


def _merge_phases(phased: np.ndarray, stride, size, out: np.ndarray | None = None) -> np.ndarray:
    """Adjoint (and inverse) of :func:`_split_phases` without padding: interleave the phases into ``(*lead, *size)``
    (into ``out``, if given)."""
    nd = len(stride)
    lead = phased.shape[: phased.ndim - 2 * nd]
    pieces = [((Ellipsis,) + target, phased[(Ellipsis,) + phase + source]) for phase, target, source in _phase_slices(size, stride)]
    return assign(np.empty(lead + tuple(size), phased.dtype) if out is None else out, pieces, lead=len(lead))
