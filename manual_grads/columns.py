"""im2col: every window copied once into GEMM columns, and its adjoint :func:`col2im`.

A convolution's forward and gradients are GEMMs over these columns. They are taken whole (the
batch folded in, for samples with few windows: :func:`folds_batch`), kept from the forward for the
filter gradient (:func:`kept_columns`), or a few samples at a time (:func:`map_column_blocks`, the
blocks shared among the slab pool's threads with BLAS single-threaded: :func:`map_blocks`).
"""
from __future__ import annotations

from math import prod
from typing import Callable, Sequence, TypeVar

import numpy as np

from . import gemm
from .geometry import window_counts
from .slabs import map_pieces
from .tuning import current
from .windowing import fold, windows

T = TypeVar("T")
P = TypeVar("P")


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


def col2im(
    cols: np.ndarray,
    size: Sequence[int],
    kernel: Sequence[int],
    out: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> np.ndarray:
    """Adjoint of :func:`im2col`: :func:`~manual_grads.windowing.fold` of ``(N, G, Cg*|K|, |T|)`` columns,
    added back onto an ``(N, G*Cg, *size)`` input."""
    n, g, rows, _ = cols.shape
    nd = len(kernel)
    per_window = cols.reshape((n, g * (rows // prod(kernel))) + tuple(kernel) + tuple(out))
    # (N, C, *K, *T) -> (N, C, *T, *K) as a view for fold
    return fold(np.moveaxis(per_window, tuple(range(2, 2 + nd)), tuple(range(2 + nd, 2 + 2 * nd))), size, stride, dilation)


def folds_batch(windows_per_sample: int) -> bool:
    """Whether :func:`im2col` should fold the batch into the columns: fewer than ``Tuning.fold_max_windows``
    windows per sample."""
    return windows_per_sample < current().fold_max_windows


def kept_columns(x: np.ndarray, kernel, stride, dilation, groups: int = 1) -> np.ndarray | None:
    """The columns a convolution's forward gathers once and keeps for its filter gradient: the batch folded
    in (:func:`folds_batch`), or per sample when all of them fit in one block (``Tuning.column_block_bytes``);
    None when they are larger — then forward and filter gradient each take them block by block
    (:func:`map_column_blocks`)."""
    out = prod(window_counts(x.shape[2:], kernel, stride, dilation))
    if folds_batch(out):
        return im2col(x, kernel, stride, dilation, groups, fold=True)
    if x.shape[1] * prod(kernel) * out * x.shape[0] * x.itemsize <= current().column_block_bytes:
        return im2col(x, kernel, stride, dilation, groups)
    return None


def _column_view(x, kernel, stride, dilation, groups, count) -> np.ndarray:
    """The columns of :func:`im2col` as a view of ``x``, ``(N, G, Cg, *K, *T)``."""
    nd = len(kernel)
    n, c = x.shape[:2]
    win = windows(x, kernel, stride, dilation, count)  # (N, C, *T, *K)
    win = win.reshape((n, groups, c // groups) + win.shape[2:])
    return win.transpose((0, 1, 2) + tuple(range(3 + nd, 3 + 2 * nd)) + tuple(range(3, 3 + nd)))


def map_blocks(body: Callable[[slice], T], batch: int, per_sample_bytes: int, work: int) -> list[T]:
    """``[body(rows) for rows in blocks of the batch]`` for GEMMs over a few samples at a time: blocks of at most
    about ``Tuning.column_block_bytes`` (``per_sample_bytes`` per sample), as many for every thread, shared among
    the slab pool's threads with BLAS single-threaded (:mod:`manual_grads.gemm`). Results in block order.
    Products of fewer than ``Tuning.pool_min_work`` multiply-adds in all (``work``) are one block, BLAS's alone."""
    if batch == 0:
        return []
    tuned = current()
    if work < tuned.pool_min_work:
        return [body(slice(0, batch))]
    threads = _gemm_threads()
    blocks = -(-batch * per_sample_bytes // max(tuned.column_block_bytes, 1))
    blocks = min(batch, -(-blocks // threads) * threads)
    step = -(-batch // blocks)
    return _map_gemms(body, [slice(start, min(start + step, batch)) for start in range(0, batch, step)])


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
    ``Tuning.column_block_bytes``: then each sample is taken in that many spans of its windows' first axis.

    The columns hold every input value |K| times; for the whole batch they are a large fresh array,
    written once and read back from memory by the GEMM. A block of about ``Tuning.column_block_bytes`` is
    written and multiplied while still in cache (docs/benchmarks.md has the measurements).
    Columns that need no copy (1×1, stride 1) are views.
    """
    nd = len(kernel)
    tuned = current()
    view = _column_view(x, kernel, stride, dilation, groups, count)  # (N, G, Cg, *K, *T)
    n, g, cg = view.shape[:3]
    out = view.shape[3 + nd:]
    rows_k, windows_t = cg * prod(kernel), prod(out)
    work = n * g * rows_k * windows_t * out_channels
    copied = not view.flags.c_contiguous  # columns that are views need no block size: a block per thread
    per_sample = prod(view.shape[1:]) * view.itemsize if copied else 1
    spans = min(out[0], -(-per_sample // max(tuned.column_block_bytes, 1))) if n and out else 1

    def columns(rows: slice, first: slice = slice(None)):
        block = view[(rows,) + (slice(None),) * (2 + nd) + (first,)]
        cols = np.ascontiguousarray(block) if copied else block
        return cols.reshape(cols.shape[:2] + (rows_k, -1))

    if spans < 2 or work < tuned.pool_min_work:
        every = slice(0, windows_t)
        return map_blocks(lambda rows: body(rows, every, columns(rows)), n, per_sample, work)
    line = windows_t // out[0]  # window positions per step along the first axis
    bounds = [out[0] * i // spans for i in range(spans + 1)]

    def piece(part: tuple[slice, int, int]):
        rows, lo, hi = part
        return body(rows, slice(lo * line, hi * line), columns(rows, slice(lo, hi)))
    return _map_gemms(piece, [(slice(s, s + 1), lo, hi) for s in range(n) for lo, hi in zip(bounds, bounds[1:])])


def _gemm_threads() -> int:
    """Threads GEMM blocks run on: the slab pool's, when BLAS can be held to one thread meanwhile."""
    return current().threads if gemm.controls_blas() else 1


def _map_gemms(body: Callable[[P], T], pieces: Sequence[P]) -> list[T]:
    """``[body(piece) for piece in pieces]``: on the slab pool with BLAS single-threaded, or serially."""
    if _gemm_threads() < 2:
        return [body(piece) for piece in pieces]
    with gemm.single_threaded_blas():
        return map_pieces(body, pieces)
