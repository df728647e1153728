"""Shared mechanics of every sliding-window layer, written once.

All arrays are channels-first: ``(N, C, *spatial)``. Every layer module builds
its forward and backward from these pieces:

* :func:`as_tuple`, :func:`resolve_padding` — normalise user arguments;
* :func:`pad`, :func:`crop` — zero padding and its adjoint (the lecture's
  "the zero padding regions must be deleted before further backprop");
* :func:`zero_upsample` — insert ``factor - 1`` zeros between samples (the
  lecture's "upsampling derivative map by S") and its adjoint :func:`decimate`;
* :func:`windows` — a read-only strided view of every window (im2col without
  the copy);
* :class:`Taps` — one slice of the input per kernel offset, for the per-offset
  loops (pooling, depthwise, col2im): stride phases split once so every slice is
  unit-stride, optionally flat (one contiguous run per offset); its zero form
  accumulates (``+=``) and is the adjoint; :func:`~manual_grads.slabs.map_slabs` runs such
  loops over cache-sized slabs of the batch, on every core;
* :func:`fold` — the adjoint of :func:`windows` (col2im): ``+=`` every window
  back in place, so overlapping windows accumulate;
* :func:`im2col` — the windows copied once into GEMM columns, and its adjoint :func:`col2im`;
* :func:`correlate` — grouped N-d cross-correlation as per-sample GEMMs over
  those columns (K·K fused multiply-adds over :class:`Taps` when each group has one
  channel, laid out by :class:`ChannelPlanes`); the conv forward, its input gradient and
  its filter gradient are all calls to it;
* :func:`along_axes` — a separable linear map, one matrix per spatial axis
  (interpolation, adaptive pooling); its adjoint uses the transposes.
"""
from __future__ import annotations

from functools import cached_property, reduce
from math import prod
from typing import Callable, Sequence, TypeVar, Union

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import slabs
from . import gemm
from .gemm import matmul
from .slabs import assign, contiguous, map_pieces, map_slabs

IntOrTuple = Union[int, Sequence[int]]
Pads = tuple[tuple[int, int], ...]
T = TypeVar("T")
P = TypeVar("P")


def memoised(function: Callable[..., T]) -> Callable[..., T]:
    """``function(*args)``, remembered for hashable arguments (ints, strings, None, tuples of them), keyed on
    their values and their repr, so ``2``, ``2.0`` and ``True`` stay apart; unhashable ones (a list, an array)
    are computed afresh. For the geometry of a layer call: the same shapes and arguments
    come back every step, and working them out costs more than a small layer's arithmetic. The results
    must be immutable; errors are raised again on every call (they are not remembered)."""
    remembered: dict = {}

    def cached(*args):
        key = (args, repr(args))  # the repr keeps 2, 2.0, True and np.int64(2) apart, which compare equal
        try:
            return remembered[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable argument (a list, an array)
            return function(*args)
        if len(remembered) >= MEMO_SIZE:
            remembered.clear()
        result = remembered[key] = function(*args)
        return result

    cached.__name__, cached.__qualname__, cached.__doc__ = function.__name__, function.__qualname__, function.__doc__
    cached.__wrapped__ = function
    return cached


def as_tuple(value: IntOrTuple, ndim: int, name: str) -> tuple[int, ...]:
    """Broadcast an int (or a length-``ndim`` sequence) to a tuple of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * ndim
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of {ndim} ints, got {value!r}") from None
    if len(items) == 1:
        items = items * ndim
    if len(items) != ndim or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name} must be an int or a sequence of {ndim} ints, got {value!r}")
    return tuple(int(v) for v in items)


def resolve_padding(padding, kernel: Sequence[int], dilation: Sequence[int]) -> Pads:
    """Per-dimension ``(before, after)`` zero padding.

    ``padding`` is an int, a per-dimension tuple, ``'valid'`` (no padding) or
    ``'same'`` (output size = input size at stride 1; when the total
    ``dilation * (kernel - 1)`` is odd, the extra zero goes after, as in torch).
    """
    ndim = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * ndim
        if padding == "same":
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    sizes = as_tuple(padding, ndim, "padding")
    if any(p < 0 for p in sizes):
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return tuple((p, p) for p in sizes)


def pad(x: np.ndarray, pads: Pads, value: float = 0.0, *, parallel: bool = False) -> np.ndarray:
    """Pad the trailing ``len(pads)`` (spatial) axes of ``x`` with ``value`` (zeros by default).

    A negative width removes that many samples instead (a crop). ``parallel``: copy in slabs on
    every core — for the element-wise loops; a convolution's padding measured no faster that way."""
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        x = crop(x, tuple((max(-lo, 0), max(-hi, 0)) for lo, hi in pads))
        pads = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pads)
    if not any(lo or hi for lo, hi in pads):
        return x
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pads))
    inside = (Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[lead:], pads))
    return assign(np.empty(shape, dtype=x.dtype), [(inside, x)], fill=value, lead=lead if parallel else 0)


def crop(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Adjoint of :func:`pad`: delete the padded borders of the spatial axes."""
    return x[(Ellipsis,) + tuple(slice(lo, n - hi) for n, (lo, hi) in zip(x.shape[-len(pads):], pads))]


def zero_upsample(x: np.ndarray, factor: Sequence[int], size: Sequence[int] | None = None) -> np.ndarray:
    """Insert ``factor - 1`` zeros between neighbouring samples of the spatial axes.

    The result has ``(n - 1) * factor + 1`` samples per axis, or ``size`` when
    given (trailing zeros added). This is the adjoint of :func:`decimate`.
    """
    spatial = x.shape[-len(factor):]
    natural = tuple((n - 1) * f + 1 for n, f in zip(spatial, factor))
    size = natural if size is None else tuple(size)
    if size == spatial:
        return x
    out = np.zeros(x.shape[: x.ndim - len(factor)] + size, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(0, (n - 1) * f + 1, f) for n, f in zip(spatial, factor))] = x
    return out


def decimate(x: np.ndarray, factor: Sequence[int]) -> np.ndarray:
    """Keep every ``factor``-th sample of the spatial axes, starting at 0."""
    return x[(Ellipsis,) + tuple(slice(None, None, f) for f in factor)]


def output_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    """Number of window positions along one axis: ``floor((L - d(k-1) - 1) / s) + 1``."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


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
    full = tuple(output_size(n, k, s, d) for n, k, s, d in zip(spatial, kernel, stride, dilation))
    out = full if count is None else tuple(count)
    if any(o <= 0 for o in out) or any(o > f for o, f in zip(out, full)):
        raise ValueError(
            f"window of size {tuple(kernel)} (dilation {tuple(dilation)}, stride {tuple(stride)}) "
            f"does not fit input of spatial size {tuple(spatial)}"
        )
    lead_strides, sp_strides = x.strides[:-nd], x.strides[-nd:]
    shape = lead + out + tuple(kernel)
    strides = lead_strides + tuple(st * s for st, s in zip(sp_strides, stride)) + tuple(st * d for st, d in zip(sp_strides, dilation))
    if not x.flags.c_contiguous or x.size == 0:
        return as_strided(x, shape=shape, strides=strides, writeable=False)
    view = np.ndarray(shape, x.dtype, buffer=x, strides=strides)  # the same view as as_strided, built in 1/3 the time
    view.flags.writeable = False
    return view


def fold(
    cols: np.ndarray,
    size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> np.ndarray:
    """Adjoint of :func:`windows` (col2im): add every window's values back where they came from.

    ``cols`` has shape ``(*lead, *out, *kernel)``; the result ``(*lead, *size)``
    accumulates with ``+=``, so positions shared by overlapping windows receive
    the sum of their contributions. One add per kernel offset (see :class:`Taps`).
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
    return target.assemble()


class Taps:
    """Every kernel offset's slice of an array: ``taps[i][..., t] = x[..., t*stride + i*dilation]``, shape ``(*lead, *out)``.

    The per-offset loops of the sliding-window layers (max/average pooling,
    depthwise convolution, col2im) read or accumulate one such slice per kernel
    offset. A plain strided slice (``x[..., i*d::s]``) does not vectorise when
    ``s > 1``, so the array is kept split into its stride phases —
    ``phase[a] = x[..., a::s]`` for every residue ``a``, one contiguous array —
    and offset ``i`` is the unit-stride slice ``phase[(i*d) % s][..., (i*d)//s :][:out]``.
    With stride 1 the array is used as it is; an array small enough to stay in
    cache (< ``PHASE_SPLIT_MIN`` elements) is never split or flattened: its slices are strided.

    ``flat=True`` goes one step further for element-wise loops: each (phase)
    plane is seen as one flat vector, and offset ``i`` as one contiguous run of
    it, ``span`` long, that holds the window positions ``t`` (at flat position
    ``sum_k t_k * row_stride_k``) and, between rows, positions of no window. The
    loops then run over long contiguous vectors instead of short rows;
    :meth:`pack` and :meth:`unpack` convert ``(*lead, *out)`` arrays to and from
    that layout (positions of no window: ``fill``, ignored on unpacking).

    ``Taps(x, ..., pads=, value=)`` reads ``pad(x, pads, value)`` (with stride > 1
    the padded array is never built); ``Taps.zeros(...)`` is the adjoint: :meth:`add`
    (``taps[i] += values``) accumulates, so overlapping windows add up, and
    :meth:`assemble` interleaves the phases back into one array.
    """

    def __init__(self, x: np.ndarray, kernel, stride, dilation, count=None, pads: Pads | None = None, value: float = 0.0,
                 *, flat: bool = False):
        nd = len(kernel)
        self.kernel, self.stride, self.dilation = tuple(kernel), tuple(stride), tuple(dilation)
        self.flat = flat
        self.phased = max(self.stride) > 1
        if x is None:  # Taps.zeros: the caller sets size and data
            return
        self.size = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[-nd:], pads)) if pads else tuple(x.shape[-nd:])
        self._set_out(count)
        # small arrays stay in cache: plain (strided) slices cost less than splitting or flattening
        self.flat = flat and x.size >= PHASE_SPLIT_MIN
        self.phased = self.phased and x.size >= PHASE_SPLIT_MIN
        data = _split_phases(x, self.stride, pads, value) if self.phased else pad(x, pads, value, parallel=True) if pads else x
        self.data = contiguous(data) if flat else data

    def _set_out(self, count):
        full = tuple(output_size(n, k, s, d) for n, k, s, d in zip(self.size, self.kernel, self.stride, self.dilation))
        self.out = full if count is None else tuple(count)
        if any(o <= 0 for o in self.out) or any(o > f for o, f in zip(self.out, full)):
            raise ValueError(
                f"window of size {self.kernel} (dilation {self.dilation}, stride {self.stride}) "
                f"does not fit input of spatial size {self.size}"
            )

    @classmethod
    def zeros(cls, lead, size, kernel, stride, dilation, out, dtype, *, flat: bool = False) -> "Taps":
        """Zero taps of an array of shape ``(*lead, *size)``, to accumulate into."""
        taps = cls(None, kernel, stride, dilation, flat=flat)
        taps.size = tuple(size)
        taps._set_out(out)
        taps.flat = flat and prod(lead) * prod(size) >= PHASE_SPLIT_MIN
        taps.phased = taps.phased and prod(lead) * prod(size) >= PHASE_SPLIT_MIN
        spatial = tuple(-(-n // s) for n, s in zip(size, stride)) if taps.phased else ()
        taps.data = np.zeros(tuple(lead) + (tuple(stride) + spatial if taps.phased else taps.size), dtype)
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
        return [[slice(i * d, i * d + (o - 1) * s + 1, s) for i in range(k)]
                for k, d, o, s in zip(self.kernel, self.dilation, self.out, self.stride)]

    def add(self, offset: tuple[int, ...], values: np.ndarray) -> None:
        """``taps[offset] += values``: the lecture's '+=' onto every window's element at this offset."""
        view = self[offset]
        view += values

    def __iter__(self):
        """(offset, slice) for every kernel offset, in row-major order."""
        for offset in np.ndindex(*self.kernel):
            yield offset, self[offset]

    def assemble(self, out: np.ndarray | None = None) -> np.ndarray:
        """The (padded) array these taps are slices of, shape ``(*lead, *size)`` (phases interleaved back),
        written into ``out`` if given."""
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
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads)) if pads else size
    shape = lead + tuple(stride) + tuple(-(-n // s) for n, s in zip(padded, stride))
    exact = padded == size and not any(n % s for n, s in zip(size, stride))
    pieces = [((Ellipsis,) + phase + target, x[(Ellipsis,) + source]) for phase, source, target in _phase_slices(size, stride, pads)]
    return assign(np.empty(shape, x.dtype), pieces, fill=None if exact else value, lead=len(lead))


def _merge_phases(phased: np.ndarray, stride, size, pads: Pads | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """Adjoint (and inverse) of :func:`_split_phases`: interleave the phases into ``(*lead, *size)``
    (into ``out``, if given), leaving out the padding."""
    nd = len(stride)
    lead = phased.shape[: phased.ndim - 2 * nd]
    pieces = [((Ellipsis,) + target, phased[(Ellipsis,) + phase + source]) for phase, target, source in _phase_slices(size, stride, pads)]
    return assign(np.empty(lead + tuple(size), phased.dtype) if out is None else out, pieces, lead=len(lead))


SMALL_MAP = 1 << 14  # entries of kron(A_1, A_2, ...) up to which along_axes uses it directly
DENSE_AXIS = 256  # input length up to which along_axes maps a weighted axis by GEMM
FOLD_MAX_WINDOWS = 256  # windows per sample below which im2col folds the batch into one GEMM per group
COLUMN_BLOCK_BYTES = 1 << 22  # im2col columns per block of samples, or of one sample's windows (map_column_blocks):
                               # they stay in cache for the GEMM
BATCH_IN_PLANE_MAX = 1 << 11  # (phase) plane elements below which depthwise runs span the batch (ChannelPlanes)
MEMO_SIZE = 1 << 10  # geometries :func:`memoised` remembers before it starts afresh
PHASE_SPLIT_MIN = 1 << 15  # elements from which Taps splits a strided array into phases (and flattens, if asked)


def along_axes(x: np.ndarray, matrices: Sequence[np.ndarray]) -> np.ndarray:
    """Apply one linear map per spatial axis: ``y = x ×_1 A_1 ×_2 A_2 ...`` with ``A_i`` of shape (out_i, in_i).

    Separable resampling (interpolation, adaptive pooling) is this; its adjoint
    is the same call with the transposed matrices. A sparse matrix (a few
    non-zeros per row: nearest, linear, and their transposes) is applied as a
    weighted sum of gathers, ``y[o] = sum_j w_j[o] * x[i_j[o]]``; a dense one as a GEMM.
    Axes that shrink go first and growing ones last, so each step works on the smallest
    array; growing axes innermost first, shrinking ones outermost first — except plain
    gathers (weights 1, e.g. the adjoint of nearest), innermost first: measured 0.84× the time.
    A tiny map (at most ``SMALL_MAP`` entries in all) is one GEMM with ``kron(A_1, A_2, ...)``,
    and a short axis (``DENSE_AXIS``) with weights other than 1 is a GEMM too: weighted gathers
    take several passes over the array, and a GEMM does the multiplies for free.
    """
    nd = len(matrices)
    if prod(a.size for a in matrices) <= SMALL_MAP:  # a tiny map: one GEMM over the flattened spatial axes
        combined = reduce(_kron, matrices)  # kron(A_1, A_2)[(o1, o2), (i1, i2)] = A_1[o1, i1] A_2[o2, i2]
        flat = matmul(x.reshape(-1, combined.shape[1]), combined.T.astype(x.dtype, copy=False))
        return flat.reshape(x.shape[: x.ndim - nd] + tuple(a.shape[0] for a in matrices))
    axes = [(axis, a, sparse_rows(a)) for axis, a in zip(range(x.ndim - nd, x.ndim), matrices)]
    shrinking = [plan for plan in axes if plan[1].shape[0] < plan[1].shape[1]]
    shrinking = [plan for plan in reversed(shrinking) if _unit(plan[2])] + [plan for plan in shrinking if not _unit(plan[2])]
    growing = [plan for plan in reversed(axes) if plan[1].shape[0] >= plan[1].shape[1]]
    for axis, a, taps in shrinking + growing:
        if taps is None or (a.shape[1] <= DENSE_AXIS and not _unit(taps)):
            # dense, or a short axis needing multiplies: a GEMM beats weighted gathers (plain copies do not)
            x = _dense_along(x, a.astype(x.dtype, copy=False), axis)
            continue
        shape = (-1,) + (1,) * (x.ndim - 1 - axis)
        y = None
        for index, weight in zip(*taps):
            term = _gather(x, index, axis)
            if not np.all(weight == 1):
                owned = term.base is None  # a fresh copy can be scaled in place; a view of x cannot
                term = np.multiply(term, weight.astype(x.dtype).reshape(shape), out=term if owned else None)
            if y is None:
                y = term  # perhaps a view of x: never written into
            elif y.base is None:
                y += term
            else:
                y = y + term  # the first sum is a new array
        x = y if y.base is None else y.copy()  # never hand out a view of the input
    return x


def _kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.kron`` of two matrices, as one broadcast product (np.kron's generality costs 4× the time here)."""
    return (a[:, None, :, None] * b[None, :, None, :]).reshape(a.shape[0] * b.shape[0], a.shape[1] * b.shape[1])


def _unit(taps) -> bool:
    """Whether :func:`sparse_rows` found a plain gather: every non-zero weight is 1 (copies, no multiplies)."""
    return taps is not None and bool(np.all(taps[1][taps[1] != 0] == 1))


def _dense_along(x: np.ndarray, a: np.ndarray, axis: int) -> np.ndarray:
    """``x ×_axis a`` as GEMMs: ``x @ aᵀ`` over the rows of an innermost axis, else ``a @ x[i]`` for
    every index ``i`` of the axes before ``axis`` (each ``x[i]`` an (in, rest) matrix, no transposes)."""
    if axis == x.ndim - 1:
        return matmul(x.reshape(-1, a.shape[1]), a.T).reshape(x.shape[:-1] + (a.shape[0],))
    lead, rest = x.shape[:axis], x.shape[axis + 1:]
    y = matmul(a, x.reshape((prod(lead), a.shape[1], prod(rest))))
    return y.reshape(lead + (a.shape[0],) + rest)


def _gather(x: np.ndarray, index: np.ndarray, axis: int) -> np.ndarray:
    """``x`` at ``index`` along ``axis``: a strided view when the indices step evenly (e.g. every f-th), else a copy."""
    steps = np.diff(index)
    if len(index) > 1 and steps[0] > 0 and np.all(steps == steps[0]):
        return x[(slice(None),) * axis + (slice(index[0], index[-1] + 1, steps[0]),)]
    return np.take(x, index, axis=axis)


def sparse_rows(a: np.ndarray, max_fraction: float = 0.25):
    """``(index, weight)``, each (J, out), with ``a[o] = sum_j weight[j, o] * e(index[j, o])`` — the non-zeros of each
    row of ``a`` (zero-weight padding where a row has fewer than J) — or None when a row has more than
    ``max_fraction`` of its entries non-zero."""
    taps = int(np.count_nonzero(a, axis=1).max(initial=0))
    if taps == 0 or taps > max_fraction * a.shape[1]:
        return None
    index = np.argsort(a == 0, axis=1, kind="stable")[:, :taps]  # the non-zero columns first, in order
    return index.T, np.take_along_axis(a, index, axis=1).T


def im2col(
    x: np.ndarray,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    groups: int = 1,
    count: Sequence[int] | None = None,
    *,
    fold: bool = False,
) -> np.ndarray:
    """Columns ``(N, G, Cg*|K|, |T|)``: per sample, one row per (channel, kernel offset), one column per window.

    ``cols[n, g, (c, i), t] = x[n, g*Cg + c, t*stride + i*dilation]``. Products
    with these columns are per-sample GEMMs whose results are already in
    channels-first layout; a 1x1 stride-1 kernel needs no copy at all.
    ``fold=True`` lays the batch's windows side by side instead, ``(G, Cg*|K|, N*|T|)``:
    one GEMM per group for the whole batch, for samples with few windows
    (:func:`folds_batch`), whose per-sample GEMMs would be too thin for BLAS.
    """
    nd = len(kernel)
    view = _column_view(x, kernel, stride, dilation, groups, count)  # (N, G, Cg, *K, *T)
    n, g, cg = view.shape[:3]
    rows, out = cg * prod(kernel), prod(view.shape[3 + nd:])
    if fold:  # (G, Cg, *K, N, *T)
        view = view.transpose((1, 2) + tuple(range(3, 3 + nd)) + (0,) + tuple(range(3 + nd, 3 + 2 * nd)))
        return np.ascontiguousarray(view).reshape(g, rows, n * out)
    return np.ascontiguousarray(view).reshape(n, g, rows, out)


def map_blocks(body: Callable[[slice], T], batch: int, per_sample_bytes: int, work: int) -> list[T]:
    """``[body(rows) for rows in blocks of the batch]`` for GEMMs over a few samples at a time: blocks of at most
    about ``COLUMN_BLOCK_BYTES`` (``per_sample_bytes`` per sample), as many for every thread, shared among the
    slab pool's threads with BLAS single-threaded (:mod:`manual_grads.gemm`). Results in block order.
    Products of fewer than ``POOL_MIN_WORK`` multiply-adds in all (``work``) are one block, BLAS's alone."""
    if batch == 0:
        return []
    if work < gemm.POOL_MIN_WORK:
        return [body(slice(0, batch))]
    threads = _gemm_threads()
    blocks = -(-batch * per_sample_bytes // max(COLUMN_BLOCK_BYTES, 1))
    blocks = min(batch, -(-blocks // threads) * threads)
    step = -(-batch // blocks)
    return _map_gemms(body, [slice(start, min(start + step, batch)) for start in range(0, batch, step)])


def _gemm_threads() -> int:
    """Threads GEMM blocks run on: the slab pool's, when BLAS can be held to one thread meanwhile."""
    return slabs.THREADS if gemm.controls_blas() else 1


def _map_gemms(body: Callable[[P], T], pieces: Sequence[P]) -> list[T]:
    """``[body(piece) for piece in pieces]``: on the slab pool with BLAS single-threaded, or serially."""
    if _gemm_threads() < 2:
        return [body(piece) for piece in pieces]
    with gemm.single_threaded_blas():
        return map_pieces(body, pieces)


def kept_columns(x: np.ndarray, kernel, stride, dilation, groups: int = 1) -> np.ndarray | None:
    """The columns a convolution's forward gathers once and keeps for its filter gradient: the batch folded
    in (:func:`folds_batch`), or per sample when all of them fit in one block; None when they are larger —
    then forward and filter gradient each take them block by block (:func:`map_column_blocks`)."""
    out = prod(output_size(n, k, s, d) for n, k, s, d in zip(x.shape[2:], kernel, stride, dilation))
    if folds_batch(out):
        return im2col(x, kernel, stride, dilation, groups, fold=True)
    if x.shape[1] * prod(kernel) * out * x.shape[0] * x.itemsize <= COLUMN_BLOCK_BYTES:
        return im2col(x, kernel, stride, dilation, groups)
    return None


def _column_view(x, kernel, stride, dilation, groups, count) -> np.ndarray:
    """The columns of :func:`im2col` as a view of ``x``, ``(N, G, Cg, *K, *T)``."""
    nd = len(kernel)
    n, c = x.shape[:2]
    win = windows(x, kernel, stride, dilation, count)  # (N, C, *T, *K)
    win = win.reshape((n, groups, c // groups) + win.shape[2:])
    return win.transpose((0, 1, 2) + tuple(range(3 + nd, 3 + 2 * nd)) + tuple(range(3, 3 + nd)))


def map_column_blocks(
    body: Callable[[slice, slice, np.ndarray], T],
    x: np.ndarray,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    groups: int = 1,
    count: Sequence[int] | None = None,
    *,
    out_channels: int,
) -> list[T]:
    """``[body(rows, span, im2col(x[rows])[..., span]) for each block]``: im2col a few samples at a time (blocks
    of the batch, :func:`map_blocks`), for products with ``out_channels`` rows per group; ``span`` is the
    block's slice of the (flattened) window positions |T| — all of them, unless one sample's columns pass
    ``COLUMN_BLOCK_BYTES``: then each sample is taken in that many spans of its windows' first axis.

    The columns hold every input value |K| times; for the whole batch they are a large fresh array,
    written once and read back from memory by the GEMM. A block of about ``COLUMN_BLOCK_BYTES`` is
    written and multiplied while still in cache (64 channels, 56×56, 3×3, batch 8: forward 13 ms instead
    of 22, and 12 instead of 13.5 with half a sample per block). Columns that need no copy (1×1, stride 1) are views.
    """
    nd = len(kernel)
    view = _column_view(x, kernel, stride, dilation, groups, count)  # (N, G, Cg, *K, *T)
    n, g, cg = view.shape[:3]
    out = view.shape[3 + nd:]
    rows_k, windows_t = cg * prod(kernel), prod(out)
    work = n * g * rows_k * windows_t * out_channels
    copied = not view.flags.c_contiguous  # columns that are views need no block size: a block per thread
    per_sample = prod(view.shape[1:]) * view.itemsize if copied else 1
    spans = min(out[0], -(-per_sample // max(COLUMN_BLOCK_BYTES, 1))) if n and out else 1

    def columns(rows: slice, first: slice = slice(None)):
        block = view[(rows,) + (slice(None),) * (2 + nd) + (first,)]
        cols = np.ascontiguousarray(block) if copied else block
        return cols.reshape(cols.shape[:2] + (rows_k, -1))

    if spans < 2 or work < gemm.POOL_MIN_WORK:
        every = slice(0, windows_t)
        return map_blocks(lambda rows: body(rows, every, columns(rows)), n, per_sample, work)
    line = windows_t // out[0]  # window positions per step along the first axis
    bounds = [out[0] * i // spans for i in range(spans + 1)]

    def piece(part: tuple[slice, int, int]):
        rows, lo, hi = part
        return body(rows, slice(lo * line, hi * line), columns(rows, slice(lo, hi)))
    return _map_gemms(piece, [(slice(s, s + 1), lo, hi) for s in range(n) for lo, hi in zip(bounds, bounds[1:])])


def folds_batch(windows_per_sample: int) -> bool:
    """Whether :func:`im2col` should fold the batch into the columns: few windows per sample."""
    return windows_per_sample < FOLD_MAX_WINDOWS


def col2im(
    cols: np.ndarray,
    size: Sequence[int],
    kernel: Sequence[int],
    out: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> np.ndarray:
    """Adjoint of :func:`im2col`: ``(N, G, Cg*|K|, |T|)`` columns added back onto an ``(N, G*Cg, *size)`` input."""
    n, g, rows, _ = cols.shape
    nd = len(kernel)
    per_window = cols.reshape((n, g * (rows // prod(kernel))) + tuple(kernel) + tuple(out))
    # (N, C, *K, *T) -> (N, C, *T, *K) as a view for fold
    return fold(np.moveaxis(per_window, tuple(range(2, 2 + nd)), tuple(range(2 + nd, 2 + 2 * nd))), size, stride, dilation)


class ChannelPlanes:
    """How the depthwise loops (:func:`depthwise_correlate` and the depthwise gradients) see ``(N, C, *S)``
    operands: per kernel offset, one multiply-add over every channel's flat run (:class:`Taps`, ``flat``),
    the channel's weight broadcast along it.

    Each run is one NumPy inner loop, which costs ~0.1 µs besides its arithmetic; a run over one small plane
    (28×28) is mostly that overhead. So where a (phase) plane has fewer than ``BATCH_IN_PLANE_MAX`` elements,
    the batch joins the planes: the operands are seen as ``(C, 1, N, *S)`` — the batch a leading spatial
    axis of kernel, stride and dilation 1 — so one run spans a channel's N planes, and slabs are blocks of
    channels rather than of samples. The sums are the same; only their layout changes.
    ``size``: the (padded) spatial size the taps read; ``out``: the window positions.
    """

    def __init__(self, batch: int, size, kernel, stride, dilation, out):
        plane = prod(-(-n // s) for n, s in zip(size, stride))
        self.batch_in = batch > 1 and plane < BATCH_IN_PLANE_MAX
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
    size = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads)) if pads else x.shape[2:]
    out = tuple(count) if count is not None else tuple(
        output_size(n, k, s, d) for n, k, s, d in zip(size, kernel, stride, dilation))
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
    """Grouped N-d cross-correlation (what deep-learning libraries call convolution).

    ``y[n, g*Og + o, t] = sum_{c, i} w[g*Og + o, c, i] * x[n, g*Cg + c, t*stride + i*dilation]``

    with ``x`` of shape ``(N, G*Cg, *S)`` (zero-padded by ``pads`` first, if given), ``w`` of
    shape ``(G*Og, Cg, *K)`` and ``y`` of shape ``(N, G*Og, *T)``: per-sample GEMMs over
    :func:`im2col`'s columns (pass ``cols`` to reuse them), or, with one channel in and out per
    group (depthwise), K·K fused multiply-adds (:func:`depthwise_correlate`). Without ``cols``, samples with
    many windows take their columns block by block (:func:`map_column_blocks`); few, the batch folded into one GEMM.
    """
    o, cg = w.shape[:2]
    og = o // groups
    if cols is None and cg == 1 and og == 1 and groups > 1:
        return depthwise_correlate(x, w, stride, dilation, count, pads)
    x = pad(x, pads) if pads and cols is None else x
    out = tuple(count) if count is not None else tuple(
        output_size(s, k, st, d) for s, k, st, d in zip(x.shape[2:], w.shape[2:], stride, dilation))
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


def channels_to_batch(x: np.ndarray, groups: int) -> np.ndarray:
    """``(N, G*C, *S)`` -> ``(C, G*N, *S)``: make channels the batch and the batch the channels, per group.

    Used for the filter gradient, which correlates the input with the upstream
    gradient and sums over the batch, exactly as the forward sums over channels.
    """
    n, c = x.shape[:2]
    s = x.shape[2:]
    return x.reshape((n, groups, c // groups) + s).transpose((2, 1, 0) + tuple(range(3, 3 + len(s)))).reshape(
        (c // groups, groups * n) + s
    )
