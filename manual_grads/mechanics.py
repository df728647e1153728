"""The shared mechanics of every sliding-window layer, by job — this module re-exports them.

All arrays are channels-first: ``(N, C, *spatial)``. The pieces live in:

* :mod:`manual_grads.geometry` — argument normalisation (:func:`as_tuple`, :func:`resolve_padding`), the size
  formulas (:func:`padded_size`, :func:`extent`, :func:`covered_size`, :func:`output_size`, :func:`window_counts`,
  :func:`fitting_counts`, :func:`pool_output_size`, :func:`offset_slice`, :func:`phase_shape`), :func:`memoised` and :class:`ConvGeometry`;
* :mod:`manual_grads.padding` — :func:`pad` and its adjoint :func:`crop`; :func:`zero_upsample` and its adjoint
  :func:`decimate`;
* :mod:`manual_grads.windowing` — :func:`windows` (every window as a view), :class:`Taps` (one slice per
  kernel offset) and :func:`fold`, the adjoint of a window read;
* :mod:`manual_grads.columns` — :func:`im2col` and its adjoint :func:`col2im` (a fold), columns kept or taken
  block by block (:func:`kept_columns`, :func:`map_column_blocks`, :func:`map_blocks`);
* :mod:`manual_grads.channel_planes` — the depthwise loops (:class:`ChannelPlanes`, :func:`depthwise_correlate`);
* :mod:`manual_grads.correlation` — grouped correlation (:func:`correlate`) and the filter-bank rearrangements
  (:func:`flip_spatial`, :func:`swap_in_out`);
* :mod:`manual_grads.separable` — separable per-axis linear maps (:func:`along_axes`);
* :mod:`manual_grads.slabs` and :mod:`manual_grads.gemm` — slab loops and GEMMs on the thread pool;
  :mod:`manual_grads.tuning` — every speed threshold.
"""
from __future__ import annotations

from .channel_planes import ChannelPlanes, depthwise_correlate
from .columns import col2im, folds_batch, im2col, kept_columns, map_blocks, map_column_blocks
from .correlation import correlate, flip_spatial, swap_in_out
from .gemm import matmul
from .geometry import (
    ConvGeometry,
    IntOrTuple,
    Pads,
    as_tuple,
    covered_size,
    extent,
    fitting_counts,
    memoised,
    offset_slice,
    output_size,
    padded_size,
    phase_shape,
    pool_output_size,
    resolve_padding,
    window_counts,
)
from .padding import crop, decimate, pad, zero_upsample
from .separable import along_axes, sparse_rows
from .slabs import assign, contiguous, map_pieces, map_slabs
from .tuning import Tuning, current, tuning
from .windowing import Taps, fold, windows

__all__ = [  # the public names of the mechanics, and the tuning
    "ChannelPlanes", "ConvGeometry", "IntOrTuple", "Pads", "Taps", "Tuning", "along_axes", "as_tuple", "assign",
    "col2im", "contiguous", "correlate", "covered_size", "crop", "current", "decimate",
    "depthwise_correlate", "extent", "fitting_counts", "flip_spatial", "fold", "folds_batch", "im2col",
    "kept_columns", "map_blocks", "map_column_blocks", "map_pieces", "map_slabs", "matmul", "memoised",
    "offset_slice", "output_size", "pad", "padded_size", "phase_shape", "pool_output_size", "resolve_padding",
    "sparse_rows", "swap_in_out", "tuning", "window_counts", "windows", "zero_upsample",
]
