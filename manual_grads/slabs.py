"""Cache-sized slabs of the batch, run on every core.

The per-offset loops (depthwise convolution, max pooling, the stride-phase
copies) are element-wise NumPy passes: memory-bound and single-threaded. Run
slab by slab, a slab's operands stay in cache across the kernel offsets; and
since NumPy releases the GIL inside its loops, slabs that write disjoint rows
run in parallel on a small thread pool — the same intra-op parallelism torch
uses on the CPU. The sums are unchanged: every output element is computed by
one thread in the same order as serially, and the slabs themselves do not depend
on the thread count; what slabs return comes back in slab order (:func:`map_slabs`),
so callers that add it up do so in the same order on any number of threads.

Threads (``Tuning.threads``, :mod:`manual_grads.tuning`; read from the environment at import):
``MANUAL_GRADS_THREADS``, else ``OMP_NUM_THREADS`` (pytest-xdist workers get their share of the cores,
reference.threads; the grading sandbox sets 1), else the cores this process may use. Slab size (``Tuning.slab_bytes``) and the work
below which a loop stays on one thread (``Tuning.parallel_min_bytes``) are tuning too.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

import numpy as np

from .tuning import current

T = TypeVar("T")
P = TypeVar("P")


def sample_blocks(batch: int, per_sample_bytes: int) -> list[slice]:
    """Slices of the batch axis of about ``Tuning.slab_bytes`` each (at least one sample): a per-offset
    loop run block by block re-reads its operands from cache instead of memory."""
    step = max(1, current().slab_bytes // max(per_sample_bytes, 1))
    return [slice(start, min(start + step, batch)) for start in range(0, batch, step)]


_pool: ThreadPoolExecutor | None = None
_pool_key = (-1, 0)  # (process, threads) the pool was started for: a forked child starts its own
_pool_lock = threading.Lock()
_POOL_PREFIX = "manual_grads-slab"


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool, _pool_key
    with _pool_lock:
        if _pool is None or _pool_key != (os.getpid(), threads):
            if _pool is not None and _pool_key[0] == os.getpid():
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(threads, thread_name_prefix=_POOL_PREFIX)
            _pool_key = (os.getpid(), threads)
        return _pool


def map_slabs(body: Callable[[slice], T], batch: int, per_sample_bytes: int) -> list[T]:
    """``[body(rows) for rows in sample_blocks(batch, per_sample_bytes)]``, the slabs shared among
    ``Tuning.threads`` threads when there is enough work (``Tuning.parallel_min_bytes``). ``body`` must only
    write rows ``rows`` of its outputs (or return what it computed); results come back in slab order."""
    slabs = sample_blocks(batch, per_sample_bytes)
    if batch * per_sample_bytes < current().parallel_min_bytes:
        return [body(rows) for rows in slabs]
    return map_pieces(body, slabs)


def map_pieces(body: Callable[[P], T], pieces: Sequence[P]) -> list[T]:
    """``[body(piece) for piece in pieces]``, shared among ``Tuning.threads`` threads (in order, serially
    with one thread or one piece, or inside a piece's body)."""
    threads = min(current().threads, len(pieces))
    if threads < 2 or in_pool():
        return [body(piece) for piece in pieces]
    return list(_executor(threads).map(body, pieces))


def in_pool() -> bool:
    """True inside a slab's body: it must not wait on the pool it runs in."""
    return threading.current_thread().name.startswith(_POOL_PREFIX)


def assign(out: np.ndarray, pieces: Sequence[tuple], fill=None, lead: int = 1) -> np.ndarray:
    """``out[..., index] = source[...]`` for every ``(index, source)`` piece (``out`` first filled with
    ``fill``, if given), slab by slab along the first axis — one of ``lead`` axes the sources share with
    ``out`` — on every core. The copies behind padding, stride phases and flat layouts. ``index`` is an
    index of the trailing axes, or a function from a slab of ``out`` to the view to write."""
    def slab(rows):
        part = out[rows]
        if fill is not None:
            part.fill(fill)
        for index, source in pieces:
            target = index(part) if callable(index) else part[index]
            target[...] = source[rows]
    if lead < 1 or out.ndim == 0 or out.nbytes < current().parallel_min_bytes:
        slab(Ellipsis)
    else:
        map_slabs(slab, out.shape[0], out[0].nbytes if out.shape[0] else 0)
    return out


def contiguous(view: np.ndarray) -> np.ndarray:
    """``np.ascontiguousarray(view)``, copied by slabs on every core."""
    if view.flags.c_contiguous or view.nbytes < current().parallel_min_bytes:
        return np.ascontiguousarray(view)
    return assign(np.empty(view.shape, view.dtype), [((Ellipsis,), view)])
