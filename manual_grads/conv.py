"""Convolution (1-d, 2-d, 3-d; any N-d) with hand-derived backward.

Forward (cross-correlation, as in every deep-learning library)::

    Z[n, o, t] = b[o] + sum_{c,i} W[o, c, i] * Xpad[n, c, t*s + i*d]

Backward, as in the lecture ("Backprop in Convolutional Layers"):

* dX — the upstream gradient, zero-upsampled by the stride, fully padded,
  correlated with the *flipped* filters with input/output channels swapped
  (i.e. convolved with the filters); then the zero padding is cropped off
  (:func:`manual_grads.lecture.input_gradient` is that, literally). :func:`conv_input_grad`
  picks one of four forms of the same sums (:func:`input_grad_strategy`): at stride 1 that
  correlation, evaluated only at X's own positions (unless there are fewer input than output
  channels and dZ is large); else the scatter form (col2im of Wᵀ·dZ),
  which skips the inserted zeros — per kernel offset for depthwise filters, one GEMM for
  the whole batch, or block by block;
* dW — the (padded) input correlated with the upstream gradient, summed over
  the batch (:func:`manual_grads.lecture.filter_gradient` literally); :func:`conv_filter_grad`
  picks one of four forms (:func:`filter_grad_strategy`);
* db — the upstream gradient summed over batch and space.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Callable, Union

import numpy as np

from ._api import specialise
from .channel_planes import ChannelPlanes
from .columns import col2im, folds_batch, kept_columns, map_blocks, map_column_blocks
from .correlation import correlate, flip_spatial, swap_in_out
from .geometry import ConvGeometry, Pads, extent, padded_size
from .gemm import matmul
from .padding import crop, pad
from .tuning import current
from .windowing import Taps

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "conv1d_backward",
    "conv1d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "conv3d_backward",
    "conv3d_forward",
    "conv_backward",
    "conv_forward",
]


@dataclass(frozen=True)
class PaddedInput:
    """What the forward keeps of a convolution's input in general: the zero-padded input, and the im2col
    columns of it when it gathered them once for the filter gradient too (:func:`~manual_grads.columns.kept_columns`;
    None: the filter gradient takes them block by block)."""

    x_padded: np.ndarray
    cols: np.ndarray | None


@dataclass(frozen=True)
class DepthwiseInput:
    """What the forward keeps of a depthwise convolution's input: the input as given (its slabs pad their own rows)."""

    x: np.ndarray


@dataclass(frozen=True)
class ConvCache:
    """What a convolution's forward keeps for its backward: the filters, whether it had a bias, its geometry,
    and its input in one of two layouts (``kept``): padded, with the columns if they were kept, or as given."""

    w: np.ndarray
    has_bias: bool
    geometry: ConvGeometry
    kept: Union[PaddedInput, DepthwiseInput]

    @property
    def padded_input(self) -> np.ndarray:
        """The zero-padded input Xpad."""
        if isinstance(self.kept, PaddedInput):
            return self.kept.x_padded
        return pad(self.kept.x, self.geometry.pads)

    @property
    def cols(self) -> np.ndarray | None:
        """The forward's im2col columns of Xpad, if it kept them."""
        return self.kept.cols if isinstance(self.kept, PaddedInput) else None


def conv_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, *, nd: int | None = None):
    """N-d convolution forward. Shapes: x (N, C_in, *S), w (C_out, C_in/groups, *K), b (C_out,)."""
    x, w = np.asarray(x), np.asarray(w)
    if nd is not None and w.ndim != nd + 2:
        raise ValueError(f"conv{nd}d expects filters of shape (C_out, C_in/groups, {nd} kernel dims); got shape {w.shape}")
    geo = ConvGeometry.of(x.shape, w.shape, stride, padding, dilation, groups)
    if geo.depthwise:  # each slab pads its own rows (with a stride, straight into its phases)
        z = correlate(x, w, geo.stride, geo.dilation, geo.groups, pads=geo.pads)
        return add_bias(z, b), ConvCache(w, b is not None, geo, DepthwiseInput(x))
    xp = pad(x, geo.pads)
    cols = kept_columns(xp, geo.kernel, geo.stride, geo.dilation, geo.groups)
    z = add_bias(correlate(xp, w, geo.stride, geo.dilation, geo.groups, cols=cols), b)
    return z, ConvCache(w, b is not None, geo, PaddedInput(xp, cols))


# --- dX: four forms of crop( zero_upsample(dZ, s) (*) W ) -------------------------------------------------

InputGrad = Callable[[np.ndarray, np.ndarray, ConvGeometry], np.ndarray]


def conv_input_grad(dz: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """dX = crop( zero_upsample(dZ, s) (*) W ): the lecture's full convolution with the flipped filters,
    in the form :func:`input_grad_strategy` picks for these shapes."""
    return input_grad_strategy(dz, geo)(dz, w, geo)


def input_grad_strategy(dz: np.ndarray, geo: ConvGeometry) -> InputGrad:
    """Which form computes dX for an upstream gradient ``dz``:

    * stride 1, unless there are fewer input than output channels and ``dz`` has at least
      ``Tuning.scatter_min`` elements: :func:`input_grad_by_flipped_filters` (im2col copies dZ's
      windows, Og·|K| rows; with fewer input channels the scatter form writes fewer, Cg·|K|, and
      skips no zeros at stride 1 either);
    * else, in scatter form: depthwise, :func:`input_grad_depthwise_scatter`; few windows per sample
      (:func:`~manual_grads.columns.folds_batch`), :func:`input_grad_scatter_folded`; else
      :func:`input_grad_scatter_blocks`.
    """
    cg, og = geo.channels_per_group
    if max(geo.stride) == 1 and (cg >= og or dz.size < current().scatter_min):
        return input_grad_by_flipped_filters
    if geo.depthwise:
        return input_grad_depthwise_scatter
    if folds_batch(prod(dz.shape[2:])):
        return input_grad_scatter_folded
    return input_grad_scatter_blocks


def input_grad_by_flipped_filters(dz: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Stride 1: the lecture's convolution computed as written, but only at X's own positions — dZ padded
    by d(k-1) less X's padding (plus any rows past the last window), correlated with the flipped,
    channel-swapped filters."""
    margins = tuple((extent(k, d) - 1 - lo, n - hi - t)  # n - t = d(k-1), plus any rows past the last window
                    for k, d, (lo, hi), n, t in zip(geo.kernel, geo.dilation, geo.pads, geo.padded, dz.shape[2:]))
    return correlate(dz, flip_spatial(swap_in_out(w, geo.groups)), geo.stride, geo.dilation, geo.groups, pads=margins)


def input_grad_depthwise_scatter(dz: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Depthwise, in scatter form: one multiply-add per kernel offset, dXpad[..., t*s + i*d] += w[:, 0, i] * dZ,
    each slab accumulating into zero taps of its own rows (which stay in cache); then the padding cropped."""
    dx_padded = np.empty(dz.shape[:2] + geo.padded, np.result_type(dz, w))
    planes = ChannelPlanes(dz.shape[0], geo.padded, geo.kernel, geo.stride, geo.dilation, dz.shape[2:])
    dzs, dxs = planes.arrange(dz), planes.arrange(dx_padded)

    def slab(rows):
        dxp = Taps.zeros(dzs[rows].shape[:dzs.ndim - len(planes.size)], planes.size, planes.kernel, planes.stride,
                         planes.dilation, planes.out, dx_padded.dtype, flat=True)
        runs = dxp.pack(dzs[rows])  # zeros between rows: they add nothing
        product = np.empty(runs.shape, dtype=dx_padded.dtype)
        for (_, target), weight in zip(dxp, planes.weights(w, rows, runs.ndim)):
            target += np.multiply(runs, weight, out=product)
        dxp.array(out=dxs[rows])
    planes.map(slab, dxs, dx_padded.itemsize)
    return crop(dx_padded, geo.pads)


def _transposed_filters(w: np.ndarray, groups: int) -> np.ndarray:
    """Wᵀ per group, ``(G, Cg*|K|, Og)``: the matrix that takes dZ's channels to the columns of dXpad."""
    return w.reshape(groups, w.shape[0] // groups, -1).transpose(0, 2, 1)


def input_grad_scatter_folded(dz: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Scatter form for few windows per sample: one GEMM per group over the whole batch's dZ, Wᵀ · dZ, then
    col2im (the fold of every window's columns back onto dXpad) and the padding cropped."""
    n, o = dz.shape[:2]
    g = geo.groups
    w_t = _transposed_filters(w, g)
    windows = prod(dz.shape[2:])
    per_sample = dz.reshape(n, g, o // g, windows)
    dcols = matmul(w_t, per_sample.transpose(1, 2, 0, 3).reshape(g, o // g, n * windows))  # (G, Cg*|K|, N*|T|)
    dcols = dcols.reshape(g, w_t.shape[1], n, windows).transpose(2, 0, 1, 3)
    return crop(col2im(dcols, geo.padded, geo.kernel, dz.shape[2:], geo.stride, geo.dilation), geo.pads)


def input_grad_scatter_blocks(dz: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Scatter form for many windows per sample: a few samples' Wᵀ · dZ at a time, (n, G, Cg*|K|, |T|),
    folded back (col2im) while still in cache (:func:`~manual_grads.columns.map_blocks`); then the padding cropped."""
    n, o = dz.shape[:2]
    g = geo.groups
    cg = geo.channels_per_group[0]
    w_t = _transposed_filters(w, g)
    windows = prod(dz.shape[2:])
    per_sample = dz.reshape(n, g, o // g, windows)
    dx_padded = np.empty((n, g * cg) + geo.padded, np.result_type(dz, w))

    def block(rows):
        dcols = np.matmul(w_t, per_sample[rows])
        dx_padded[rows] = col2im(dcols, geo.padded, geo.kernel, dz.shape[2:], geo.stride, geo.dilation)
    map_blocks(block, n, g * w_t.shape[1] * windows * dx_padded.itemsize, w.size * dz.size // o)
    return crop(dx_padded, geo.pads)


# --- dW: four forms of Xpad ⋆ dZ, summed over the batch ---------------------------------------------------

def conv_filter_grad(dz: np.ndarray, x_padded: np.ndarray, geo: ConvGeometry, cols: np.ndarray | None = None,
                     *, pads: Pads | None = None) -> np.ndarray:
    """dW[o, c, i] = sum_{n,t} dZ[n, o, t] * Xpad[n, c, t*s + i*d] — Xpad correlated with dZ, summed over the batch,
    in the form :func:`filter_grad_strategy` picks. ``cols``: the forward's im2col columns of Xpad, if it kept
    them; ``pads``: ``x_padded`` is still to be padded by them.
    """
    return filter_grad_strategy(geo, cols)(dz, x_padded, geo, cols, pads)


FilterGrad = Callable[[np.ndarray, np.ndarray, ConvGeometry, Union[np.ndarray, None], Union[Pads, None]], np.ndarray]


def filter_grad_strategy(geo: ConvGeometry, cols: np.ndarray | None) -> FilterGrad:
    """Which form computes dW: depthwise, :func:`filter_grad_depthwise` (one dot product per kernel offset);
    else GEMMs over the columns of Xpad (every window, im2col) — over the forward's ``cols`` when it kept them,
    the batch folded in (:func:`filter_grad_folded_columns`) or per sample (:func:`filter_grad_kept_columns`),
    else over columns taken block by block (:func:`filter_grad_column_blocks`)."""
    if geo.depthwise:
        return filter_grad_depthwise
    if cols is None:
        return filter_grad_column_blocks
    return filter_grad_folded_columns if cols.ndim == 3 else filter_grad_kept_columns


def filter_grad_depthwise(dz: np.ndarray, x: np.ndarray, geo: ConvGeometry, cols: None = None,
                          pads: Pads | None = None) -> np.ndarray:
    """Depthwise: dW[c, 0, i] = sum_{n,t} dZ[n, c, t] * Xpad[n, c, t*s + i*d], one dot product per kernel offset,
    Xpad = pad(x, pads) (no columns: ``cols`` is not used). Each slab takes its share of every offset's sum
    from its own padded rows; the shares are added up in slab order."""
    size = padded_size(x.shape[2:], pads)
    planes = ChannelPlanes(dz.shape[0], size, geo.kernel, geo.stride, geo.dilation, dz.shape[2:])
    xs, dzs = planes.arrange(x), planes.arrange(dz)

    def slab(rows):  # this slab's share of every offset's sum, per (row, channel)
        taps = Taps(xs[rows], planes.kernel, planes.stride, planes.dilation, planes.out, planes.pads(pads), flat=True)
        views = [view.reshape(view.shape[:2] + (-1,)) for _, view in taps]
        runs = taps.pack(dzs[rows]).reshape(views[0].shape)  # zeros between rows: they add nothing
        return np.stack([np.einsum("abl,abl->ab", runs, view) for view in views], axis=-1)
    shares = planes.map(slab, xs, x.itemsize)  # (N, C, |K|), or (C, 1, |K|) batch in planes, in slabs
    dw = np.concatenate(shares).sum(axis=1 if planes.batch_in else 0) if shares else np.zeros((dz.shape[1], prod(geo.kernel)))
    return dw.reshape((dz.shape[1], 1) + geo.kernel).astype(np.result_type(dz, x), copy=False)


def _per_sample(dz: np.ndarray, groups: int) -> np.ndarray:
    """dZ as ``(N, G, Og, |T|)``: per sample and group, one row per output channel, one column per window."""
    n, o = dz.shape[:2]
    return dz.reshape(n, groups, o // groups, prod(dz.shape[2:]))


def _filter_bank(dw: np.ndarray, dz: np.ndarray, x_padded: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """``(G, Og, Cg*|K|)`` sums as the filter bank's gradient ``(O, Cg, *K)``."""
    return np.ascontiguousarray(dw).reshape((dz.shape[1], x_padded.shape[1] // geo.groups) + geo.kernel)


def filter_grad_column_blocks(dz: np.ndarray, x: np.ndarray, geo: ConvGeometry, cols: None = None,
                              pads: Pads | None = None) -> np.ndarray:
    """One GEMM per block of samples over the columns of Xpad = pad(x, pads) taken block by block
    (:func:`~manual_grads.columns.map_column_blocks`), then the sum over the blocks, in block order. Per sample,
    dWᵀ = cols · dZᵀ, ``(Cg*|K|, Og)``: BLAS runs this orientation faster than dZ · colsᵀ when there are few
    output channels."""
    x_padded = pad(x, pads) if pads else x
    o, g = dz.shape[1], geo.groups
    per_sample = _per_sample(dz, g)
    products = map_column_blocks(lambda rows, span, block: np.matmul(block, per_sample[rows, ..., span].transpose(0, 1, 3, 2)),
                                 x_padded, geo.kernel, geo.stride, geo.dilation, g, dz.shape[2:], out_channels=o // g)
    dw = (np.concatenate(products).sum(axis=0) if products else
          np.zeros((g, x_padded.shape[1] // g * prod(geo.kernel), o // g), np.result_type(dz, x_padded)))
    return _filter_bank(dw.transpose(0, 2, 1), dz, x_padded, geo)


def filter_grad_folded_columns(dz: np.ndarray, x_padded: np.ndarray, geo: ConvGeometry, cols: np.ndarray,
                               pads: Pads | None = None) -> np.ndarray:
    """The batch folded into the kept columns ``(G, Cg*|K|, N*|T|)``: one GEMM per group, dZ · colsᵀ (of Xpad,
    only its channel count is read; padding does not change it)."""
    n, o = dz.shape[:2]
    g = geo.groups
    per_sample = _per_sample(dz, g)
    dz_folded = per_sample.transpose(1, 2, 0, 3).reshape(g, o // g, n * per_sample.shape[-1])
    return _filter_bank(matmul(dz_folded, cols.transpose(0, 2, 1)), dz, x_padded, geo)  # (G, Og, Cg*|K|)


def filter_grad_kept_columns(dz: np.ndarray, x_padded: np.ndarray, geo: ConvGeometry, cols: np.ndarray,
                             pads: Pads | None = None) -> np.ndarray:
    """Per-sample kept columns ``(N, G, Cg*|K|, |T|)``: one GEMM per sample, cols · dZᵀ, summed over the batch
    (of Xpad, only its channel count is read)."""
    per_sample = _per_sample(dz, geo.groups)
    return _filter_bank(matmul(cols, per_sample.transpose(0, 1, 3, 2)).sum(axis=0).transpose(0, 2, 1), dz, x_padded, geo)


def conv_backward(dz, cache: ConvCache) -> dict[str, np.ndarray]:
    """Gradients of an N-d convolution: ``{'x': dX, 'w': dW, 'b': db}`` (``'b'`` only with a bias).

    dX = crop(upsample_s(dZ) (*) W);  dW = Xpad (*) upsample_s(dZ);  db = sum_{n,t} dZ.
    """
    dz = np.asarray(dz)
    geo, kept = cache.geometry, cache.kept
    grads = {
        "x": conv_input_grad(dz, cache.w, geo),
        "w": conv_filter_grad(dz, kept.x, geo, pads=geo.pads) if isinstance(kept, DepthwiseInput) else
             conv_filter_grad(dz, kept.x_padded, geo, kept.cols),
    }
    if cache.has_bias:
        grads["b"] = bias_grad(dz)
    return grads


def bias_grad(dz: np.ndarray) -> np.ndarray:
    """db[o] = sum_{n,t} dZ[n, o, t]."""
    return dz.sum(axis=(0,) + tuple(range(2, dz.ndim)))


def add_bias(z: np.ndarray, b) -> np.ndarray:
    """Z[n, o, t] += b[o] (in place on the freshly computed Z)."""
    if b is not None:
        z += np.asarray(b).reshape((1, -1) + (1,) * (z.ndim - 2))
    return z


conv1d_forward = specialise(conv_forward, "conv1d", nd=1)
conv2d_forward = specialise(conv_forward, "conv2d", nd=2)
conv3d_forward = specialise(conv_forward, "conv3d", nd=3)
conv1d_backward = conv2d_backward = conv3d_backward = conv_backward
