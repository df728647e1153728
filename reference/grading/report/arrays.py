"""Arrays as a student reads them: printed in full with the wrong elements marked, and the grader's tolerance.

Both functions are self-contained (NumPy only, no other names from this module): the reproduction
scripts (reference.grading.report.reproduce) embed their source text verbatim, so a script run
without the grader prints and judges the arrays exactly as the report does.
"""
from __future__ import annotations

import numpy as np

FULL = 100  # arrays with at most this many elements are printed in full


def format_array(a, bad=None):
    """The array's values in nested brackets (as NumPy nests them), every element ending in '*' where ``bad``.

    ``bad``: a boolean array of the same shape (or None). Values are printed with 6 significant digits,
    right-aligned to a common width, so rows line up and the marks stand in one column.
    """
    a = np.asarray(a, dtype=float)
    marks = np.zeros(a.shape, dtype=bool)
    if bad is not None and np.shape(bad) == a.shape:
        marks = np.asarray(bad, dtype=bool)
    if a.size == 0:
        return "[] (empty, shape %s)" % (a.shape,)
    cells = ["%.6g" % v for v in a.ravel()]
    width = max(len(c) for c in cells)
    cells = [c.rjust(width) + ("*" if m else " ") for c, m in zip(cells, marks.ravel())]
    if a.ndim == 0:
        return cells[0].rstrip()
    grid = np.empty(len(cells), dtype=object)
    grid[:] = cells
    grid = grid.reshape(a.shape)

    def block(x, depth):
        if x.ndim == 1:
            return "[" + " ".join(x.tolist()).rstrip() + "]"
        separator = "\n" * (x.ndim - 1) + " " * (depth + 1)
        return "[" + separator.join(block(sub, depth + 1) for sub in x) + "]"

    return block(grid, 0)


def differs(got, expected, rtol, atol):
    """True where ``got`` is outside the grader's tolerance of ``expected`` (same shape), else False.

    An element is right when |got - expected| <= atol * max(1, max|expected|) + rtol * |expected|, or when both
    are the same infinity: reference.compare's rule, with the absolute floor scaled by the largest magnitude.
    """
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    finite = np.isfinite(e)
    scale = max(1.0, float(np.max(np.abs(e[finite]))) if finite.any() else 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        return ~((np.abs(g - e) <= atol * scale + rtol * np.abs(e)) | (g == e))
