"""Separable linear maps: one matrix per spatial axis (interpolation, adaptive pooling).

:func:`along_axes` applies them; the adjoint of a separable map is the same call with the transposed
matrices. Sparse matrices (a few non-zeros per row, :func:`sparse_rows`) are applied as weighted
gathers, dense ones, short weighted axes and tiny maps as GEMMs.
"""
from __future__ import annotations

from functools import reduce
from math import prod
from typing import Sequence

import numpy as np

from .gemm import matmul
from .tuning import current


def along_axes(x: np.ndarray, matrices: Sequence[np.ndarray]) -> np.ndarray:
    """Apply one linear map per spatial axis: ``y = x ×_1 A_1 ×_2 A_2 ...`` with ``A_i`` of shape (out_i, in_i).

    Separable resampling (interpolation, adaptive pooling) is this; its adjoint
    is the same call with the transposed matrices. A sparse matrix (a few
    non-zeros per row: nearest, linear, and their transposes) is applied as a
    weighted sum of gathers, ``y[o] = sum_j w_j[o] * x[i_j[o]]``; a dense one as a GEMM.
    Axes that shrink go first and growing ones last, so each step works on the smallest
    array; growing axes innermost first, shrinking ones outermost first — except plain
    gathers (weights 1, e.g. the adjoint of nearest), innermost first (measured faster: docs/benchmarks.md).
    A tiny map (at most ``Tuning.small_map`` entries in all) is one GEMM with ``kron(A_1, A_2, ...)``,
    and a short axis (up to ``Tuning.dense_axis`` long) with weights other than 1 is a GEMM too: weighted
    gathers take several passes over the array, and a GEMM does the multiplies for free.
    """
    nd = len(matrices)
    tuned = current()
    if prod(a.size for a in matrices) <= tuned.small_map:  # a tiny map: one GEMM over the flattened spatial axes
        combined = reduce(_kron, matrices)  # kron(A_1, A_2)[(o1, o2), (i1, i2)] = A_1[o1, i1] A_2[o2, i2]
        flat = matmul(x.reshape(-1, combined.shape[1]), combined.T.astype(x.dtype, copy=False))
        return flat.reshape(x.shape[: x.ndim - nd] + tuple(a.shape[0] for a in matrices))
    axes = [(axis, a, sparse_rows(a)) for axis, a in zip(range(x.ndim - nd, x.ndim), matrices)]
    shrinking = [plan for plan in axes if plan[1].shape[0] < plan[1].shape[1]]
    shrinking = [plan for plan in reversed(shrinking) if _unit(plan[2])] + [plan for plan in shrinking if not _unit(plan[2])]
    growing = [plan for plan in reversed(axes) if plan[1].shape[0] >= plan[1].shape[1]]
    for axis, a, taps in shrinking + growing:
        if taps is None or (a.shape[1] <= tuned.dense_axis and not _unit(taps)):
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
    """``np.kron`` of two matrices, as one broadcast product (np.kron's generality costs more here)."""
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


def sparse_rows(a: np.ndarray):
    """``(index, weight)``, each (J, out), with ``a[o] = sum_j weight[j, o] * e(index[j, o])`` — the non-zeros of each
    row of ``a`` (zero-weight padding where a row has fewer than J) — or None when a row has more than
    ``Tuning.sparse_max_fraction`` of its entries non-zero."""
    taps = int(np.count_nonzero(a, axis=1).max(initial=0))
    if taps == 0 or taps > current().sparse_max_fraction * a.shape[1]:
        return None
    index = np.argsort(a == 0, axis=1, kind="stable")[:, :taps]  # the non-zero columns first, in order
    return index.T, np.take_along_axis(a, index, axis=1).T
