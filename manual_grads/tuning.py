"""Every speed threshold of manual_grads, in one place.

manual_grads picks between forms of the same sums — strided slices or stride phases, depthwise loops or
GEMMs, one GEMM for the whole batch or one per block of samples, threads or none — by the sizes of its
operands. The sizes at which it switches are the fields of :class:`Tuning`. None of them changes what is
computed, only how: the forms agree to rounding, and the slab loops bit for bit on any number of threads
(the suite checks each fork both ways, forcing it with :func:`tuning`).

:func:`current` is the tuning in force. It is process-wide, not per thread: the slab pool's threads
read it too. ``with tuning(**overrides):`` replaces some fields for the duration of a block (blocks
nest; each restores what it found)::

    with tuning(column_block_bytes=1, fold_max_windows=1):  # every sample's columns a block of its own
        ...

Tests use ``tuning(...)`` instead of patching module constants; there are none left to patch.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from typing import Iterator


def thread_count() -> int:
    """Threads for slab loops: MANUAL_GRADS_THREADS, else OMP_NUM_THREADS, else the usable cores."""
    for variable in ("MANUAL_GRADS_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(variable, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    return max(1, len(cores))


@dataclass(frozen=True)
class Tuning:
    """The sizes at which manual_grads switches between forms of the same computation."""

    # --- threads and slabs (manual_grads.slabs) ---
    threads: int = field(default_factory=thread_count)  # threads of the slab pool (slab loops, GEMM pieces)
    slab_bytes: int = 1 << 21  # slabs of about this size keep a per-offset loop's operands in cache
    parallel_min_bytes: int = 1 << 20  # below this much work in all, a slab loop or copy runs on one thread
    # --- GEMMs (manual_grads.gemm) ---
    pool_min_work: int = 1 << 24  # multiply-adds (M·N·K) from which a product is split into pieces on the slab pool
    split_pieces: int = 4  # blocks of rows or columns one product is split into (whatever the thread count); also
    # the stack length from which a batched product is split by samples instead
    # --- convolution (manual_grads.columns, manual_grads.conv) ---
    fold_max_windows: int = 256  # windows per sample below which im2col folds the batch into one GEMM per group
    column_block_bytes: int = 1 << 22  # im2col columns per block of samples, or of one sample's windows
    scatter_min: int = 1 << 15  # elements of dZ from which dX at stride 1, with fewer input than output channels,
                                # takes the scatter form (it writes Cg·|K| rows of columns instead of Og·|K|)
    depthwise_min_groups: int = 2  # groups of one input and one output channel each from which a convolution takes
                                   # the depthwise loops (manual_grads.channel_planes) instead of GEMMs over im2col
    # --- sliding-window loops (manual_grads.windowing, manual_grads.channel_planes, manual_grads.pooling) ---
    phase_split_min: int = 1 << 15  # elements from which Taps splits a strided array into phases (and flattens
                                    # it, if asked); smaller arrays stay whole and are read by strided slices
    batch_in_plane_max: int = 1 << 11  # (phase) plane elements below which depthwise runs span the batch
    tiled_pool_max: int = 1 << 15  # elements below which a pooling whose windows tile the input takes every kernel
                                   # offset at once: the forward's arg-max, the backward's routing, fold as a reshape
    # --- separable maps (manual_grads.separable) ---
    small_map: int = 1 << 14  # entries of kron(A_1, A_2, ...) up to which along_axes applies it as one GEMM
    dense_axis: int = 256  # input length up to which along_axes maps a weighted axis by GEMM
    sparse_max_fraction: float = 0.25  # share of a row's entries up to which along_axes applies a matrix as gathers
    # --- geometry (manual_grads.geometry) ---
    memo_size: int = 1 << 10  # geometries memoised remembers before it starts afresh

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"tuning {f.name} must be a non-negative number, got {value!r}")
        if self.threads < 1 or not isinstance(self.threads, int):
            raise ValueError(f"tuning threads must be a positive int, got {self.threads!r}")


_current = Tuning()  # the environment (threads) is read once, at import, like OMP_NUM_THREADS


def current() -> Tuning:
    """The tuning in force (process-wide)."""
    return _current


@contextmanager
def tuning(**overrides) -> Iterator[Tuning]:
    """Within the block, the current tuning with ``overrides`` (field names of :class:`Tuning`) replaced;
    the tuning found on entry is restored on exit. Unknown names raise TypeError, bad values ValueError."""
    global _current
    found = _current
    _current = replace(found, **overrides)
    try:
        yield _current
    finally:
        _current = found
