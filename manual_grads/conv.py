"""Convolution (1-d, 2-d, 3-d; any N-d) with hand-derived backward.

Forward (cross-correlation, as in every deep-learning library)::

    Z[n, o, t] = b[o] + sum_{c,i} W[o, c, i] * Xpad[n, c, t*s + i*d]

Backward, as in the lecture ("Backprop in Convolutional Layers"):

* dX — the upstream gradient, zero-upsampled by the stride, fully padded,
  correlated with the *flipped* filters with input/output channels swapped
  (i.e. convolved with the filters); then the zero padding is cropped off.
  :func:`conv_input_grad_by_convolution` is that, literally; the default
  :func:`conv_input_grad` computes the same sums in scatter form (col2im),
  skipping the inserted zeros;
* dW — the (padded) input correlated with the upstream gradient, summed over
  the batch (stride and dilation exchange roles);
* db — the upstream gradient summed over batch and space.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._api import specialise
from math import prod

from .gemm import matmul
from .mechanics import (
    ChannelPlanes,
    Taps,
    col2im,
    map_blocks,
    map_column_blocks,
    im2col,
    Pads,
    as_tuple,
    channels_to_batch,
    correlate,
    crop,
    flip_spatial,
    folds_batch,
    kept_columns,
    memoised,
    output_size,
    pad,
    resolve_padding,
    swap_in_out,
    zero_upsample,
)


SCATTER_MIN = 1 << 15  # elements of dZ from which dX at stride 1 takes the form that writes fewer bytes


@dataclass(frozen=True)
class ConvGeometry:
    """Everything the backward needs to know about a convolution's shape."""

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: Pads
    groups: int
    kernel: tuple[int, ...]
    padded: tuple[int, ...]  # spatial size of the padded input

    @property
    def depthwise(self) -> bool:
        """One input and one output channel per group: every product is K·K fused multiply-adds."""
        return self.groups > 1 and self.channels_per_group == (1, 1)

    channels_per_group: tuple[int, int] = (0, 0)  # (C_in / groups, C_out / groups)

    @staticmethod
    @memoised
    def of(x_shape: tuple, w_shape: tuple, stride, padding, dilation, groups) -> "ConvGeometry":
        """Geometry of a convolution of an input of ``x_shape`` with filters of ``w_shape`` (worked out once per
        shapes and arguments: :func:`~manual_grads.mechanics.memoised`)."""
        nd = len(w_shape) - 2
        if len(x_shape) != nd + 2:
            raise ValueError(f"input must have shape (N, C, {nd} spatial dims) to match a {nd}-d filter bank; got shape {x_shape}")
        stride = as_tuple(stride, nd, "stride")
        dilation = as_tuple(dilation, nd, "dilation")
        if min(stride) < 1 or min(dilation) < 1:
            raise ValueError(f"stride and dilation must be >= 1, got stride={stride}, dilation={dilation}")
        if not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"groups must be a positive int, got {groups!r}")
        o, cg = w_shape[:2]
        if x_shape[1] != cg * groups or o % groups:
            raise ValueError(
                f"channels do not fit groups={groups}: input has {x_shape[1]} channels, "
                f"filters have shape {tuple(w_shape)} (need C_in = groups * {cg} and C_out divisible by groups)"
            )
        kernel = tuple(w_shape[2:])
        pads = resolve_padding(padding, kernel, dilation)
        if padding == "same" and max(stride) > 1:
            raise ValueError("padding='same' is only defined for stride 1")
        padded = tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[2:], pads))
        if any(output_size(n, k, s, d) < 1 for n, k, s, d in zip(padded, kernel, stride, dilation)):
            raise ValueError(
                f"kernel {kernel} with dilation {dilation} does not fit the padded input {padded}"
            )
        return ConvGeometry(stride, dilation, pads, int(groups), kernel, padded, (cg, o // groups))


@dataclass(frozen=True)
class ConvCache:
    x_padded: np.ndarray | None  # None for depthwise: its slabs pad their own rows of ``x``
    w: np.ndarray
    has_bias: bool
    geometry: ConvGeometry
    cols: np.ndarray | None = None  # the forward's im2col columns of x_padded, reused by dW (kept_columns)
    x: np.ndarray | None = None  # depthwise: the input as given

    @property
    def padded_input(self) -> np.ndarray:
        """The zero-padded input Xpad."""
        return self.x_padded if self.x_padded is not None else pad(self.x, self.geometry.pads)


def conv_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, *, nd: int | None = None):
    """N-d convolution forward. Shapes: x (N, C_in, *S), w (C_out, C_in/groups, *K), b (C_out,)."""
    x, w = np.asarray(x), np.asarray(w)
    if nd is not None and w.ndim != nd + 2:
        raise ValueError(f"conv{nd}d expects filters of shape (C_out, C_in/groups, {nd} kernel dims); got shape {w.shape}")
    geo = ConvGeometry.of(x.shape, w.shape, stride, padding, dilation, groups)
    if geo.depthwise:  # each slab pads its own rows (with a stride, straight into its phases)
        z = correlate(x, w, geo.stride, geo.dilation, geo.groups, pads=geo.pads)
        return add_bias(z, b), ConvCache(None, w, b is not None, geo, x=x)
    xp = pad(x, geo.pads)
    cols = kept_columns(xp, geo.kernel, geo.stride, geo.dilation, geo.groups)
    z = add_bias(correlate(xp, w, geo.stride, geo.dilation, geo.groups, cols=cols), b)
    return z, ConvCache(xp, w, b is not None, geo, cols)


def conv_input_grad(dz: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """dX = crop( zero_upsample(dZ, s) (*) W ): the lecture's full convolution with the flipped filters.

    At stride 1 it is computed as written (:func:`conv_input_grad_by_convolution`),
    but only at X's own positions: dZ padded by d(k-1) less X's padding,
    correlated with the flipped, channel-swapped filters. With a stride (or fewer
    input than output channels) it is computed in scatter form, crop(col2im(Wᵀ · dZ)):
    each output position's gradient, times the filters, is added back onto the
    window it came from — the same sums without the inserted zeros.
    """
    cg, og = geo.channels_per_group
    if max(geo.stride) == 1 and (cg >= og or dz.size < SCATTER_MIN):  # the lecture's convolution, where X is
        # (im2col copies dZ's windows, Og·|K| rows; with fewer input than output channels, the
        # scatter form below writes fewer, Cg·|K|, and skips no zeros at stride 1 either)
        margins = tuple((d * (k - 1) - lo, n - hi - t)  # n - t = d(k-1), plus any rows past the last window
                        for k, d, (lo, hi), n, t in zip(geo.kernel, geo.dilation, geo.pads, geo.padded, dz.shape[2:]))
        return correlate(dz, flip_spatial(swap_in_out(w, geo.groups)), geo.stride, geo.dilation, geo.groups, pads=margins)
    if geo.depthwise:  # one multiply-add per kernel offset: dXpad[..., t*s + i*d] += w[:, 0, i] * dZ
        dx_padded = np.empty(dz.shape[:2] + geo.padded, np.result_type(dz, w))
        planes = ChannelPlanes(dz.shape[0], geo.padded, geo.kernel, geo.stride, geo.dilation, dz.shape[2:])
        dzs, dxs = planes.arrange(dz), planes.arrange(dx_padded)

        def slab(rows):  # each slab accumulates into zero taps of its own rows, which stay in cache
            dxp = Taps.zeros(dzs[rows].shape[:dzs.ndim - len(planes.size)], planes.size, planes.kernel, planes.stride,
                             planes.dilation, planes.out, dx_padded.dtype, flat=True)
            runs = dxp.pack(dzs[rows])  # zeros between rows: they add nothing
            product = np.empty(runs.shape, dtype=dx_padded.dtype)
            for (_, target), weight in zip(dxp, planes.weights(w, rows, runs.ndim)):
                target += np.multiply(runs, weight, out=product)
            dxp.assemble(out=dxs[rows])
        planes.map(slab, dxs, dx_padded.itemsize)
        return crop(dx_padded, geo.pads)
    n, o = dz.shape[:2]
    g = geo.groups
    w_t = w.reshape(g, o // g, -1).transpose(0, 2, 1)  # (G, Cg*|K|, Og)
    windows = prod(dz.shape[2:])
    per_sample = dz.reshape(n, g, o // g, windows)
    if folds_batch(windows):  # few windows per sample: one GEMM per group over the whole batch's dZ
        dcols = matmul(w_t, per_sample.transpose(1, 2, 0, 3).reshape(g, o // g, n * windows))  # (G, Cg*|K|, N*|T|)
        dcols = dcols.reshape(g, w_t.shape[1], n, windows).transpose(2, 0, 1, 3)
        return crop(col2im(dcols, geo.padded, geo.kernel, dz.shape[2:], geo.stride, geo.dilation), geo.pads)
    dx_padded = np.empty((n, g * cg) + geo.padded, np.result_type(dz, w))

    def block(rows):  # a few samples' Wᵀ · dZ, (n, G, Cg*|K|, |T|), added back while still in cache
        dcols = np.matmul(w_t, per_sample[rows])
        dx_padded[rows] = col2im(dcols, geo.padded, geo.kernel, dz.shape[2:], geo.stride, geo.dilation)
    map_blocks(block, n, g * w_t.shape[1] * windows * dx_padded.itemsize, w.size * dz.size // o)
    return crop(dx_padded, geo.pads)


def conv_input_grad_by_convolution(dz: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """dX = crop( zero_upsample(dZ, s) (*) W ), literally: the lecture's full convolution with the flipped filters.

    The readable form of :func:`conv_input_grad` (the suite checks they agree).
    """
    k, s, d = geo.kernel, geo.stride, geo.dilation
    dz_up = zero_upsample(dz, s)
    full = pad(dz_up, tuple((di * (ki - 1), di * (ki - 1)) for ki, di in zip(k, d)))
    dx_padded = correlate(full, flip_spatial(swap_in_out(w, geo.groups)), (1,) * len(k), d, geo.groups)
    # rows past the last window (stride not dividing the input) received no gradient
    trailing = tuple((0, n - m) for n, m in zip(geo.padded, dx_padded.shape[2:]))
    return crop(pad(dx_padded, trailing), geo.pads)


def conv_filter_grad(dz: np.ndarray, x_padded: np.ndarray, geo: ConvGeometry, cols: np.ndarray | None = None,
                     *, pads: Pads | None = None) -> np.ndarray:
    """dW[o, c, i] = sum_{n,t} dZ[n, o, t] * Xpad[n, c, t*s + i*d] — Xpad correlated with dZ, summed over the batch.

    Over the columns of Xpad (every window, im2col) this correlation is a GEMM per sample,
    dZ[n] · cols[n]ᵀ, summed: over the forward's ``cols`` when it kept them (the batch folded in: one GEMM
    per group; per sample: one GEMM each), else over columns taken block by block. Depthwise, it is one dot
    product per kernel offset.
    :func:`conv_filter_grad_by_correlation` is the correlation itself. ``pads``: ``x_padded`` is still to be padded by them.
    """
    if geo.depthwise:  # dW[c, 0, i] = sum_{n,t} dZ[n, c, t] * Xpad[n, c, t*s + i*d], one offset at a time
        size = tuple(n + lo + hi for n, (lo, hi) in zip(x_padded.shape[2:], pads)) if pads else x_padded.shape[2:]
        planes = ChannelPlanes(dz.shape[0], size, geo.kernel, geo.stride, geo.dilation, dz.shape[2:])
        xs, dzs = planes.arrange(x_padded), planes.arrange(dz)

        def slab(rows):  # this slab's share of every offset's sum, per (row, channel), from its own padded rows
            taps = Taps(xs[rows], planes.kernel, planes.stride, planes.dilation, planes.out, planes.pads(pads), flat=True)
            views = [view.reshape(view.shape[:2] + (-1,)) for _, view in taps]
            runs = taps.pack(dzs[rows]).reshape(views[0].shape)  # zeros between rows: they add nothing
            return np.stack([np.einsum("abl,abl->ab", runs, view) for view in views], axis=-1)
        shares = planes.map(slab, xs, x_padded.itemsize)  # (N, C, |K|), or (C, 1, |K|) batch in planes, in slabs
        dw = np.concatenate(shares).sum(axis=1 if planes.batch_in else 0) if shares else np.zeros((dz.shape[1], prod(geo.kernel)))
        return dw.reshape((dz.shape[1], 1) + geo.kernel).astype(np.result_type(dz, x_padded), copy=False)
    x_padded = pad(x_padded, pads) if pads else x_padded
    n, o = dz.shape[:2]
    g = geo.groups
    per_sample = dz.reshape(n, g, o // g, prod(dz.shape[2:]))
    # per sample, dWᵀ = cols · dZᵀ, (Cg*|K|, Og): BLAS runs this orientation faster than dZ · colsᵀ when there
    # are few output channels (64 channels, 3×3, 56×56: 3.0 ms instead of 3.6 a sample, one thread)
    if cols is None:  # one GEMM per sample, over its block of columns; then the sum over samples
        products = map_column_blocks(lambda rows, span, cols: np.matmul(cols, per_sample[rows, ..., span].transpose(0, 1, 3, 2)),
                                     x_padded, geo.kernel, geo.stride, geo.dilation, g, dz.shape[2:], out_channels=o // g)
        dw = (np.concatenate(products).sum(axis=0) if products else
              np.zeros((g, x_padded.shape[1] // g * prod(geo.kernel), o // g), np.result_type(dz, x_padded)))
        dw = dw.transpose(0, 2, 1)  # the same sums, in block order
    elif cols.ndim == 3:  # the batch folded into the columns (G, Cg*|K|, N*|T|): one GEMM per group
        dz_folded = per_sample.transpose(1, 2, 0, 3).reshape(g, o // g, n * per_sample.shape[-1])
        dw = matmul(dz_folded, cols.transpose(0, 2, 1))  # (G, Og, Cg*|K|)
    else:  # one GEMM per sample, summed
        dw = matmul(cols, per_sample.transpose(0, 1, 3, 2)).sum(axis=0).transpose(0, 2, 1)
    return np.ascontiguousarray(dw).reshape((o, x_padded.shape[1] // g) + geo.kernel)


def conv_filter_grad_by_correlation(dz: np.ndarray, x_padded: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """dW = Xpad ⋆ dZ, literally: the lecture's correlation of the (padded) input with the upstream gradient,
    summed over the batch — channels and batch exchange roles, and so do stride and dilation.

    The readable form of :func:`conv_filter_grad` (the suite checks they agree).
    """
    per_channel = correlate(
        channels_to_batch(x_padded, geo.groups),  # (C_in/G, G*N, *S)
        dz.swapaxes(0, 1),  # (C_out, N, *T) as a filter bank over the batch
        stride=geo.dilation,
        dilation=geo.stride,
        groups=geo.groups,
        count=geo.kernel,
    )  # (C_in/G, C_out, *K)
    return per_channel.swapaxes(0, 1)


def conv_backward(dz, cache: ConvCache) -> dict[str, np.ndarray]:
    """Gradients of an N-d convolution: ``{'x': dX, 'w': dW, 'b': db}`` (``'b'`` only with a bias).

    dX = crop(upsample_s(dZ) (*) W);  dW = Xpad (*) upsample_s(dZ);  db = sum_{n,t} dZ.
    """
    dz = np.asarray(dz)
    geo = cache.geometry
    grads = {
        "x": conv_input_grad(dz, cache.w, geo),
        "w": conv_filter_grad(dz, cache.x, geo, pads=geo.pads) if geo.depthwise else
             conv_filter_grad(dz, cache.x_padded, geo, cache.cols),
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
