"""Where a gradient is wrong: |got - expected| per (sample, channel) plane, as a PNG or as a text map.

Each plane of the failing gradient (dX: per sample and channel; dW: per output and input channel;
db, 1-d and other shapes: one row) is drawn with a shared colour scale, the elements outside the
grader's tolerance dotted. For dX of a strided convolution or pooling, dashed lines separate the
stride phases (positions i with the same i mod stride); with padding, a grey frame of the padding's
width is drawn around the input (the positions whose windows read padding lie next to it). A
gradient of the wrong shape is compared after reshaping when it has as many elements (H and W
The title names the case, the
mistake when the catalogue names one, and where the errors lie when reference.diagnosis.where
finds a pattern ("only at stride phase(s) ...", "only in a border band 2 wide", "only channels [3]").

The PNG needs matplotlib (the ``report`` extra); without it only the text map is made.
"""
from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass

import numpy as np

from ...cases import per_dim
from ...compare import mismatch_mask
from ...diagnosis import where
from ...harness import tolerance_of

MAX_ROWS, MAX_COLS = 4, 6  # planes drawn
TEXT_ROWS, TEXT_COLS = 2, 3  # planes in the text map


@dataclass
class Heatmap:
    title: str  # what the picture's title says (also the text map's first line)
    pattern: str  # the mistake's name and/or where the errors lie ('' when neither is known)
    text: str  # the text map
    png: bytes | None  # None without matplotlib
    note: str = ""  # how a wrong shape was compared


def have_matplotlib() -> bool:
    """Whether matplotlib (the ``report`` extra) can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def difference(expected: np.ndarray, got, tolerance=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    """(|got - expected| in expected's shape with NaN where got has no value, the wrong-element mask, got as compared
    (in expected's shape, NaN where missing), a note on how a wrong shape was compared)."""
    expected = np.asarray(expected, dtype=np.float64)
    if got is None:
        return np.full(expected.shape, np.nan), np.ones(expected.shape, bool), None, "missing: the gradient was not returned"
    got = np.asarray(got, dtype=np.float64)
    note = ""
    if got.shape != expected.shape:
        if got.ndim == expected.ndim:  # index by index, as code reading it would: what it lacks is missing
            note = f"wrong shape {got.shape}, expected {expected.shape}: compared index by index, positions it lacks missing"
            fitted = np.full(expected.shape, np.nan)
            common = tuple(slice(0, min(a, b)) for a, b in zip(got.shape, expected.shape))
            fitted[common] = got[common]
            got = fitted
        elif got.size == expected.size:
            note = f"wrong shape {got.shape}, expected {expected.shape}: compared after reshaping to {expected.shape}"
            got = got.reshape(expected.shape)
        else:
            return (np.full(expected.shape, np.nan), np.ones(expected.shape, bool), None,
                    f"wrong shape {got.shape}, expected {expected.shape}: nothing to compare")
    with np.errstate(invalid="ignore"):
        diff = np.abs(got - expected)
    bad = mismatch_mask(np.nan_to_num(got, nan=np.inf), expected, tolerance) | np.isnan(got)
    return diff, bad, got, note


def _planes(a: np.ndarray) -> np.ndarray:
    """``a`` as (rows, columns, height, width) planes."""
    if a.ndim <= 1:
        return a.reshape(1, 1, 1, -1)
    if a.ndim == 2:
        return a.reshape(1, 1, *a.shape)
    if a.ndim == 3:
        return a.reshape(a.shape[0], a.shape[1], 1, a.shape[2])
    return a.reshape(a.shape[0], a.shape[1], -1, a.shape[-1])


def geometry(case, name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """((stride phases per plane axis), (padding per plane axis)) to draw for gradient ``name`` of ``case``."""
    if name != "x":
        return (1, 1), (0, 0)
    x = case.shapes.get("x") or next(iter(case.shapes.values()))
    nd = len(x) - 2
    if nd not in (1, 2):
        return (1, 1), (0, 0)
    op, config = case.op, case.config
    stride, padding = 1, 0
    if op.startswith("conv_transpose") or op.startswith("upsample"):
        return (1, 1), (0, 0)
    if op.startswith("downsample"):
        stride = config.get("factor", 1)
    elif op.startswith(("conv", "max_pool", "avg_pool")):
        stride = config.get("stride") or config.get("kernel_size", 1)
        padding = config.get("padding", 0)
    s = per_dim(stride, nd)
    p = per_dim(padding, nd) if not isinstance(padding, str) else (0,) * nd
    if nd == 1:
        return (1, int(s[0])), (0, int(p[0]))
    return (int(s[0]), int(s[1])), (int(p[0]), int(p[1]))


def _axis_names(name: str) -> tuple[str, str]:
    """What the rows and columns of planes are: (out channel, in channel) for dW, else (sample, channel)."""
    return ("out channel", "in channel") if name == "w" else ("sample", "channel")


def render(case, name: str, label: str, expected, got, mistakes=(), png: bool = True) -> Heatmap:
    """The heat-map of gradient ``name`` (shown as ``label``) of ``case``: title, pattern, text map, PNG."""
    diff, bad, compared, note = difference(expected, got, tolerance_of(case))
    located = None
    if compared is not None and compared.shape == np.shape(expected) and not np.isnan(compared).any():
        try:
            located = where(case, name, compared, np.asarray(expected))
        except Exception:
            located = None
    pattern = "; ".join(p for p in ("probably: " + " / ".join(mistakes) if mistakes else "", located or "") if p)
    wrong, missing = int(bad.sum()), int(np.isnan(diff).sum())
    off = diff[bad & np.isfinite(diff)]
    summary = (f"{wrong} of {bad.size} elements wrong" + (f", {missing} of them missing" if missing else "")
               + (f", largest |difference| {off.max():.3g}" if off.size else ""))
    title = f"{label}: |yours - torch's| ({summary})"
    if pattern:
        title += f" -- {pattern}"
    strides, pads = geometry(case, name)
    text = text_map(diff, bad, strides, pads, name, title, note)
    image = _png(diff, bad, strides, pads, name, case, title, note) if png and have_matplotlib() else None
    return Heatmap(title, pattern, text, image, note)


def text_map(diff, bad, strides, pads, name, title, note="") -> str:
    """The planes as characters: '.' right, 1-9 the size of a wrong element's error (9 = the largest), '?' missing,
    '-' padding; with stride phases, a '|' and a blank line between phase blocks."""
    planes, wrong = _planes(diff), _planes(bad)
    finite = diff[np.isfinite(diff) & bad]
    top = float(finite.max()) if finite.size else 0.0
    rows, cols = planes.shape[:2]
    row_name, col_name = _axis_names(name)
    lines = [title] + ([note] if note else [])
    lines.append("'.' right, 1-9 the size of the error (9: the largest), '?' missing"
                 + (", '-' padding" if max(pads) else "")
                 + (f", '|' between stride phases {strides[1] if diff.ndim == 3 else strides}" if max(strides) > 1 else ""))
    sh, sw = strides
    ph, pw = pads
    for r in range(min(rows, TEXT_ROWS)):
        for c in range(min(cols, TEXT_COLS)):
            lines.append(f"{row_name} {r}, {col_name} {c}:")
            plane, mask = planes[r, c], wrong[r, c]
            h, w = plane.shape
            for i in range(-ph, h + ph):
                cells = []
                for j in range(-pw, w + pw):
                    if sw > 1 and 0 < j < w and j % sw == 0:
                        cells.append("|")
                    if not (0 <= i < h and 0 <= j < w):
                        cells.append("-")
                    elif not np.isfinite(plane[i, j]):
                        cells.append("?")
                    elif not mask[i, j]:
                        cells.append(".")
                    else:
                        cells.append(str(max(1, min(9, math.ceil(9 * plane[i, j] / top)))) if top > 0 else "9")
                if sh > 1 and 0 < i < h and i % sh == 0:
                    lines.append("")
                lines.append("  " + " ".join(cells))
    if rows > TEXT_ROWS or cols > TEXT_COLS:
        lines.append(f"(first {min(rows, TEXT_ROWS)} of {rows} {row_name}s and {min(cols, TEXT_COLS)} of {cols} {col_name}s)")
    return "\n".join(lines)


def _png(diff, bad, strides, pads, name, case, title, note) -> bytes:
    """The heat-map as PNG bytes (matplotlib's Agg canvas; no pyplot, no display)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    planes, wrong = _planes(diff), _planes(bad)
    rows, cols = min(planes.shape[0], MAX_ROWS), min(planes.shape[1], MAX_COLS)
    h, w = planes.shape[2:]
    ph, pw = pads
    sh, sw = strides
    finite = diff[np.isfinite(diff)]
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    width = min(3.2, max(1.0, 0.4 * (w + 2 * pw)))  # inches per plane: square cells where they fit
    height = max(0.35, min(3.2, width * (h + 2 * ph) / (w + 2 * pw)))
    fig_width = max(6.5, cols * (width + 0.25) + 1.6)
    wrap = int(fig_width * 15)
    shown = "" if (rows, cols) == planes.shape[:2] else f" (first {rows} of {planes.shape[0]} x {cols} of {planes.shape[1]} planes)"
    legend = ["black dots: wrong elements"] + (["blue: missing"] if not np.isfinite(diff).all() else [])
    if ph or pw:
        legend.append(f"grey frame: padding {pads[1] if h == 1 else pads}")
    if sh > 1 or sw > 1:
        legend.append(f"dashed lines: stride phases {strides[1] if h == 1 else strides}")
    if note:
        legend.append(note)
    heading = textwrap.wrap(title, wrap) + textwrap.wrap(case.describe() + shown, wrap) + textwrap.wrap(", ".join(legend), wrap)
    top_in, bottom_in, right_in = 0.16 * len(heading) + 0.35, 0.15, 1.1  # inches: heading, margin, colour bar
    fig_height = rows * (height + 0.3) + top_in + bottom_in
    figure = Figure(figsize=(fig_width, fig_height), dpi=80)
    figure.subplots_adjust(left=0.2 / fig_width, right=1 - right_in / fig_width, bottom=bottom_in / fig_height,
                           top=1 - top_in / fig_height, wspace=0.15, hspace=0.3)
    axes = figure.subplots(rows, cols, squeeze=False)
    colormap = matplotlib.colormaps["Reds"].with_extremes(bad="#d0d0d0")  # grey: the padding frame
    row_name, col_name = _axis_names(name)
    image = None
    for r in range(rows):
        for c in range(cols):
            ax = axes[r][c]
            framed = np.full((h + 2 * ph, w + 2 * pw), np.nan)
            plane = planes[r, c]
            framed[ph:ph + h, pw:pw + w] = np.where(np.isfinite(plane), plane, 0.0)
            image = ax.imshow(framed, cmap=colormap, vmin=0.0, vmax=top, interpolation="nearest", aspect="equal")
            if ph or pw:
                ax.add_patch(Rectangle((pw - 0.5, ph - 0.5), w, h, fill=False, edgecolor="black", linewidth=1.2))
            for k in range(1, -(-w // sw)) if sw > 1 else ():
                ax.axvline(pw - 0.5 + k * sw, color="#2b6cb0", linestyle="--", linewidth=0.9)
            for k in range(1, -(-h // sh)) if sh > 1 else ():
                ax.axhline(ph - 0.5 + k * sh, color="#2b6cb0", linestyle="--", linewidth=0.9)
            mi, mj = np.nonzero(~np.isfinite(plane))
            for i, j in zip(mi, mj):  # positions the student's gradient lacks
                ax.add_patch(Rectangle((j + pw - 0.5, i + ph - 0.5), 1, 1, facecolor="#bee3f8", edgecolor="none"))
            if h * w <= 900:
                ii, jj = np.nonzero(wrong[r, c] & np.isfinite(plane))
                ax.scatter(jj + pw, ii + ph, s=6, c="black", marker="o")
                ax.scatter(mj + pw, mi + ph, s=14, c="#2b6cb0", marker="x")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{row_name} {r}, {col_name} {c}" if planes.shape[:2] != (1, 1) else "", fontsize=8)
    figure.text(0.1 / fig_width, 1 - 0.1 / fig_height, "\n".join(heading), fontsize=8, va="top", ha="left")
    bar = figure.add_axes((1 - (right_in - 0.35) / fig_width, bottom_in / fig_height + 0.05 * (1 - (top_in + bottom_in) / fig_height),
                           0.15 / fig_width, 0.9 * (1 - (top_in + bottom_in) / fig_height)))
    figure.colorbar(image, cax=bar)  # of |yours - torch's|, as the heading says
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
