"""Matrix products on manual_grads' own threads, with BLAS single-threaded.

A multithreaded BLAS call leaves its worker threads spinning for a while after
it returns (OpenBLAS) — on a 2-core machine, in the way of the element-wise slab
loops that follow (:mod:`manual_grads.slabs`): the depthwise loops of the
depthwise-separable block ran slower right after its pointwise GEMMs than with BLAS
single-threaded (docs/benchmarks.md has the measurements). So products of at least
``Tuning.pool_min_work`` multiply-adds are split into independent pieces — samples of a
batched product, else blocks of rows or columns — that run on the slab pool, each
a single-threaded BLAS call: the pool's threads wait without spinning, and BLAS's
own threads are never woken. Smaller products are BLAS's alone (handing pieces to
threads and limiting BLAS costs more than they save).

The BLAS thread count is process-wide: it is lowered to 1 (through
threadpoolctl) only while manual_grads' GEMMs run, and restored after. Without
a BLAS threadpoolctl can find, products are single calls on BLAS's own threads
(:func:`product`: ``np.matmul``, or ``np.dot`` for two matrices); ``with without_blas_control():`` runs a
block so, as a process without threadpoolctl would (the suite checks that layers compute the same).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable

import numpy as np

from . import slabs
from .tuning import current

_controller = None  # threadpoolctl's handle on NumPy's BLAS libraries; False once found missing
_uncontrolled = 0  # without_blas_control() scopes open in this process
_lock = threading.Lock()
_depth = 0  # nested single_threaded_blas() scopes open in this process
_saved = None


def _blas():
    """threadpoolctl's handle on NumPy's BLAS libraries (looked up once), or None: none found, or inside
    :func:`without_blas_control`."""
    global _controller
    if _uncontrolled:
        return None
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
            found = ThreadpoolController().select(user_api="blas")
            _controller = found if found.lib_controllers else False
        except Exception:  # threadpoolctl missing or unable to inspect this process
            _controller = False
    return _controller or None


def controls_blas() -> bool:
    """Whether threadpoolctl found NumPy's BLAS, so that :func:`single_threaded_blas` limits it."""
    return _blas() is not None


def blas_threads() -> list[int] | None:
    """The thread count of each BLAS library :func:`single_threaded_blas` limits; None if it limits none."""
    blas = _blas()
    return None if blas is None else [lib.num_threads for lib in blas.lib_controllers]


@contextmanager
def without_blas_control():
    """Within the block, manual_grads runs as where threadpoolctl is missing or finds no BLAS: :func:`controls_blas`
    is False, every product one call on BLAS's own threads, GEMM blocks serial, and :func:`single_threaded_blas`
    limits nothing. Only how products run changes, not what they compute. Process-wide; blocks nest."""
    global _uncontrolled
    with _lock:
        _uncontrolled += 1
    try:
        yield
    finally:
        with _lock:
            _uncontrolled -= 1


@contextmanager
def single_threaded_blas():
    """BLAS limited to one thread inside (nested scopes share the limit; the previous count is restored)."""
    global _depth, _saved
    blas = _blas()
    if blas is None:
        yield
        return
    with _lock:
        if _depth == 0:
            _saved = [lib.num_threads for lib in blas.lib_controllers]
            for lib in blas.lib_controllers:
                lib.set_num_threads(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for lib, threads in zip(blas.lib_controllers, _saved):
                    lib.set_num_threads(threads)


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` (into ``out``, if given): ``np.dot`` for matrices (it takes BLAS's matrix-vector path for a
    single column or row, where ``np.matmul`` may not), else ``np.matmul``."""
    if a.ndim == b.ndim == 2 and (out is None or (out.flags.c_contiguous and out.dtype == np.result_type(a, b))):
        return np.dot(a, b, out=out)
    return np.matmul(a, b, out=out)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, *,
           call: Callable = product) -> np.ndarray:
    """``np.matmul(a, b, out=out)``; a product of ``Tuning.pool_min_work`` multiply-adds or more split into pieces
    run on the slab pool with BLAS single-threaded: ranges of the leading stack axis (samples) when it is
    long enough, else ``Tuning.split_pieces`` blocks of the rows of ``a`` or the columns of ``b``, whichever
    are more. Which path, and the rows or columns of each piece, depend on the shapes only (a sample is the
    same BLAS call in any range of samples), so results are the same on any number of threads.

    ``call(a, b, out)`` makes each BLAS call, on the thread that runs its piece (default :func:`product`):
    a wrapper of :func:`product` observes them."""
    m, n = a.shape[-2], b.shape[-1]
    tuned = current()
    if max(a.size * n, b.size * m) < tuned.pool_min_work or _blas() is None:  # (multiply-adds, one operand broadcast)
        return call(a, b, out)  # small: BLAS alone (which keeps the smallest products on one thread)
    stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if out is None:
        out = np.empty(stack + (m, n), np.result_type(a, b))
    if stack and stack[0] >= tuned.split_pieces:  # whole samples: each is the same BLAS call however they are grouped
        split, length, pieces = "stack", stack[0], min(stack[0], max(tuned.threads, 1))
    else:  # one product: blocks of rows or columns
        split, length = ("rows", m) if m >= n else ("columns", n)
        pieces = min(tuned.split_pieces, length)
    bounds = [length * i // pieces for i in range(pieces + 1)]

    def piece(part: slice):
        if split == "stack":  # an operand without the stack axis (or of size 1 there) is shared
            pa = a[part] if a.ndim == out.ndim and a.shape[0] > 1 else a
            pb = b[part] if b.ndim == out.ndim and b.shape[0] > 1 else b
            call(pa, pb, out[part])
        elif split == "rows":
            call(a[..., part, :], b, out[..., part, :])
        else:
            call(a, b[..., part], out[..., part])

    with single_threaded_blas():
        slabs.map_pieces(piece, [slice(lo, hi) for lo, hi in zip(bounds, bounds[1:])])
    return out
