"""One rule for threads, in one place: a process that runs beside others gets ``cores // jobs`` threads.

torch, BLAS (OpenBLAS, MKL, OpenMP) and ``manual_grads``' own slab pool each start a thread per
core. When several processes run at once (pytest-xdist workers, a folder run's grading jobs),
those pools fight over the same cores and a run gets several times slower than one process
(measured on 2 cores: a folder of 5 hand-ins took 228 s with ``-j 2`` against 23 s with one
thread each). So each such process is given its share of the cores, set through the
environment before it starts (BLAS reads it once, at load).
"""
from __future__ import annotations

import os

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MANUAL_GRADS_THREADS")


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def share(jobs: int) -> int:
    """Threads for each of ``jobs`` processes running at once: the cores divided among them, at least 1."""
    return max(1, cores() // max(1, jobs))


def environment(threads: int, base: dict | None = None) -> dict:
    """``base`` (default: this process's environment) with every thread-count variable set to ``threads``."""
    env = dict(os.environ if base is None else base)
    env.update({v: str(threads) for v in VARIABLES})
    return env

