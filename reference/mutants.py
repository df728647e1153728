"""A catalogue of realistic planted mistakes ("mutants") in manual_grads.

Each mutant is a small named patch of one piece of the correct layers — the
kind of one-line slip a student makes — applied with ``unittest.mock.patch``
for the duration of a check. ``ops`` are the ops whose cases must catch it;
``expect`` is the label the failure report must carry (the corrupted gradient,
or a diagnosis such as "tie-convention mismatch").

A mistake made in a form that only the lecture writes — a step of dX = crop(upsample(dZ) (*) flip(W)) (or
that dX computed the student's way), the running maximum that remembers pidx, the '+=' of
``dX[pidx] += dY`` or of the mean-pool spread — is planted in :mod:`manual_grads.lecture` (:func:`_lecture`):
the lecture's forms of the ops, one of their helpers replaced, stand in for manual_grads' public
``<op>_forward`` / ``<op>_backward`` while the check runs. The others patch the fast forms themselves, or
post-process their results.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from math import prod
from typing import Callable, ContextManager
from unittest import mock

import numpy as np

import manual_grads
from manual_grads import activations, conv, interpolation, lecture, pooling, transform, transposed_conv

CONV = ("conv1d", "conv2d", "conv3d")
ACTIVATIONS = tuple(activations.ACTIVATIONS)
MAX_POOL = ("max_pool1d", "max_pool2d")
MEAN_POOL = ("avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d")
RESAMPLING = ("conv_transpose1d", "conv_transpose2d", "upsample1d", "upsample2d", "downsample1d", "downsample2d")
INTERPOLATION = ("interpolate",)
TRANSFORM = ("transform_lifting_conv2d", "transform_group_conv2d", "transform_max_pool", "transform_avg_pool")
DEPTHWISE = ("depthwise_conv1d", "depthwise_conv2d", "separable_conv1d", "separable_conv2d")


@dataclass(frozen=True)
class Mutant:
    family: str
    name: str
    expect: str
    patch: Callable[[], ContextManager]
    ops: tuple[str, ...]


def _set(module, attr: str, value):
    return lambda: mock.patch.object(module, attr, value)


def _lecture(ops, **helpers):
    """The lecture's forms of ``ops`` (:mod:`manual_grads.lecture`) in the place of manual_grads' public
    ``<op>_forward`` and ``<op>_backward``, with the lecture's ``helpers`` replaced by the values given: one
    formula of the lecture written wrong. (Forward and backward both: the lecture's backward needs its own cache.)"""
    def patch():
        with contextlib.ExitStack() as stack:  # a patch that cannot be made undoes those made before it
            for attr, value in helpers.items():
                stack.enter_context(mock.patch.object(lecture, attr, value))
            for op in ops:
                for stage in ("forward", "backward"):
                    stack.enter_context(mock.patch.object(manual_grads, f"{op}_{stage}", getattr(lecture, f"{op}_{stage}")))
            return stack.pop_all()
    return patch


def _ties_to_last(candidate, best):
    """A running maximum updated with '>=' instead of '>': of equal maxima the last wins."""
    return candidate >= best


def _assigning(target, index, values):
    """'=' where the lecture says '+=': overlapping windows overwrite each other."""
    target[index] = values


def _wrap(module, attr: str, transform: Callable):
    """Patch ``module.attr`` with ``transform(original)``."""
    original = getattr(module, attr)
    return lambda: mock.patch.object(module, attr, transform(original))


def _post(fn_transform):
    """Post-process a function's result: f -> (lambda *a: g(f(*a), *a))."""
    return lambda original: lambda *args, **kw: fn_transform(original(*args, **kw), *args, **kw)


def _backwards(names, transform):
    """Wrap every public ``<name>_backward`` with ``transform(original)``."""
    def patch():
        stack = contextlib.ExitStack()
        for name in names:
            stack.enter_context(_wrap(manual_grads, f"{name}_backward", transform)())
        return stack
    return patch


def _derivative(name: str, df: Callable):
    act = activations.ACTIVATIONS[name]
    return lambda: mock.patch.dict(activations.ACTIVATIONS, {name: replace(act, df=df)})


def _floor_end_bins(n: int, o: int) -> np.ndarray:
    """Adaptive bins ending at floor((i+1)n/o) instead of ceil: the overlap between bins is lost."""
    a = np.zeros((o, n))
    for i in range(o):
        start = (i * n) // o
        end = max(((i + 1) * n) // o, start + 1)
        a[i, start:end] = 1.0 / (end - start)
    return a


def _shifted_crop(x, pads):
    return x[(Ellipsis,) + tuple(slice(lo + 1, n - hi + 1) if lo else slice(lo, n - hi)
                                 for n, (lo, hi) in zip(x.shape[-len(pads):], pads))]


def _reversed_rotation(a, g):
    """T_g⁻¹ with the rotation turned the wrong way: rot90(+r) instead of rot90(-r)."""
    r, m = g
    a = np.rot90(a, r, axes=(-2, -1))
    return a[..., ::-1] if m else a


def _unpermuted_bank_grad(original):
    def grad(dbank, w_shape, group):
        identity = np.tile(np.arange(len(transform.GROUPS[group])), (len(transform.GROUPS[group]), 1))
        with mock.patch.object(transform, "axis_permutations", lambda g: identity):
            return original(dbank, w_shape, group)
    return grad


def _swap_linear_weights(original):
    def matrix(n, o, mode, align_corners, scale_factor, dtype):
        a = original(n, o, mode, align_corners, scale_factor, dtype)
        if mode.startswith("nearest"):
            return a
        swapped = np.zeros_like(a)  # weight (1 - λ) on the far neighbour and λ on the near one
        for row in range(o):
            cols = np.flatnonzero(a[row])
            swapped[row, cols] = a[row, cols[::-1]]
        return swapped
    return matrix


# --- mistakes from real hand-ins (11-785 HW2P1, cs231n assignment 2) -----------------------

def _fit(x: np.ndarray, sizes) -> np.ndarray:
    """``x`` cut to, or zero-extended to, ``sizes`` along its trailing axes: what writing it into an array of
    that size keeps (the first ``n`` positions of each axis)."""
    nd = len(sizes)
    x = x[(Ellipsis,) + tuple(slice(0, n) for n in sizes)]
    return np.pad(x, [(0, 0)] * (x.ndim - nd) + [(0, n - m) for n, m in zip(sizes, x.shape[-nd:])])


def _dz_padded_by_k(dz, w, geo):
    """The lecture's dX = crop(upsample(dZ) (*) flip(W)) with dZ padded by K on each side instead of K - 1
    (:func:`manual_grads.lecture.input_gradient`, written wrong).

    The full convolution then has two positions too many; the student keeps the first H (of the padded input)
    and crops the padding, so dX comes out shifted by one position: dX'[i] = dX[i - 1], dX'[0] = 0. (With a
    dilation, K is the dilated kernel's extent d(K - 1) + 1: one too many, as without.)
    """
    k, s, d = geo.kernel, geo.stride, geo.dilation
    full = lecture.pad(lecture.zero_upsample(dz, s), tuple((di * (ki - 1) + 1,) * 2 for ki, di in zip(k, d)))
    dx_padded = lecture.correlate(full, lecture.flip(lecture.swap_in_out(w, geo.groups)), (1,) * len(k), d, geo.groups)
    return lecture.crop(_fit(dx_padded, geo.padded), geo.pads)


def _crop_p_to_minus_p(x, pads):
    """cs231n's ``dx = dx_padded[:, :, p:-p, p:-p]``: with p = 0 the slice 0:-0 is empty."""
    return x[(Ellipsis,) + tuple(slice(lo, -hi) for lo, hi in pads)]


def _assigning_scatter_dx(dz, w, geo):
    """dX in scatter form with '=' where it must be '+=': the student's loop over output positions

        for t in windows:  dXpad[n, :, window(t)] = sum_o dZ[n, o, t] * W[o]

    so where windows overlap, each input position keeps only the last window's contribution (row-major order).
    In the place of the lecture's :func:`manual_grads.lecture.input_gradient`.
    """
    n = dz.shape[0]
    g, cg = geo.groups, w.shape[1]
    og = w.shape[0] // g
    w_groups = w.reshape((g, og, cg) + geo.kernel)
    dx_padded = np.zeros((n, g * cg) + geo.padded, np.result_type(dz, w))
    for t in np.ndindex(*dz.shape[2:]):
        dz_t = dz[(slice(None), slice(None)) + t].reshape(n, g, og)
        contribution = np.einsum("ngo,goc...->ngc...", dz_t, w_groups).reshape((n, g * cg) + geo.kernel)
        window = tuple(slice(i * s, i * s + (k - 1) * d + 1, d) for i, s, k, d in zip(t, geo.stride, geo.kernel, geo.dilation))
        dx_padded[(slice(None), slice(None)) + window] = contribution
    return lecture.crop(dx_padded, geo.pads)


def _hw_swapped(grads: dict, dy, cache) -> dict:
    """dX written into an array allocated (N, C, W, H) from the input's H and W: the right values in row-major
    order, filled into the wrong shape (``dx = ....reshape(N, C, W, H)``); right for square inputs only."""
    geo = cache.geometry
    h, w = geo.size if isinstance(geo, pooling.PoolGeometry) else (n - lo - hi for n, (lo, hi) in zip(geo.padded, geo.pads))
    dx = grads["x"]
    return {**grads, "x": dx.reshape(dx.shape[:-2] + (w, h))}


def _sized_from_output(grads: dict, dy, cache) -> dict:
    """dX allocated from the output size, (H_out - 1)·s + K per axis (the padded size the windows cover; HW2P1's
    Downsample2d backward upsamples to (H_out - 1)·s + 1), then cropped by the padding on both sides: when the
    stride does not divide, the trailing rows no window reaches are missing from dX (a wrong shape). With
    ceil_mode the last window overhangs the input and the same formula allocates rows too many."""
    geo = cache.geometry
    pads = [2 * p for p in geo.padding] if isinstance(geo, pooling.PoolGeometry) else [lo + hi for lo, hi in geo.pads]
    sizes = [(o - 1) * s + d * (k - 1) + 1 - p
             for o, s, d, k, p in zip(dy.shape[2:], geo.stride, geo.dilation, geo.kernel, pads)]
    return {**grads, "x": _fit(grads["x"], sizes)}


_HW_SWAPPED = "dX allocated as (N, C, W, H): H and W swapped"
_SIZED_FROM_OUTPUT = "dX sized (H_out - 1)*s + K from the output: trailing rows the stride skips are lost"


MUTANTS = [
    # --- convolution -----------------------------------------------------------------
    Mutant("conv", "unflipped filter in dX", "dX", _lecture(CONV, flip=lambda w: w), CONV),
    Mutant("conv", "stride ignored in dX (no zero-upsampling)", "dX",
           _lecture(CONV, zero_upsample=lambda x, factor: x), CONV),
    Mutant("conv", "padding not cropped from dX", "dX", _set(conv, "crop", lambda x, pads: x), CONV),
    Mutant("conv", "padding cropped off by one", "dX", _set(conv, "crop", _shifted_crop), CONV),
    Mutant("conv", "batch averaged in dW", "dW", _wrap(conv, "conv_filter_grad", _post(lambda dw, dz, *rest: dw / dz.shape[0])), CONV),
    Mutant("conv", "kernel axes swapped in dW", "dW",
           _wrap(conv, "conv_filter_grad", _post(lambda dw, dz, *rest: np.swapaxes(dw, -1, -2))), CONV),
    Mutant("conv", "in/out channels not swapped in dX", "dX", _lecture(CONV, swap_in_out=lambda w, groups: w), CONV),
    Mutant("conv", "bias gradient averaged over the batch", "db",
           _wrap(conv, "bias_grad", _post(lambda db, dz: db / dz.shape[0])), CONV),
    Mutant("conv", "dW from one sample of the batch", "dW",
           _wrap(conv, "conv_filter_grad", lambda orig: lambda dz, x, geo, *cols, **kw: orig(dz[:1], x[:1], geo, **kw)),
           CONV),
    Mutant("conv", "dZ padded by K instead of K-1 in dX (dX shifted by one)", "dX",
           _lecture(CONV, input_gradient=_dz_padded_by_k), CONV),
    Mutant("conv", "dX cropped as dx_padded[p:-p]: empty when the padding is 0", "dX",
           _lecture(CONV, crop=_crop_p_to_minus_p), CONV),
    Mutant("conv", "'=' instead of '+=' in the dX scatter (overlapping windows overwrite)", "dX",
           _lecture(CONV, input_gradient=_assigning_scatter_dx), CONV),
    Mutant("conv", _HW_SWAPPED, "dX", _backwards(("conv2d",), _post(_hw_swapped)), ("conv2d",)),
    Mutant("conv", _SIZED_FROM_OUTPUT, "dX", _backwards(("conv2d",), _post(_sized_from_output)), ("conv2d",)),
    # --- activations -----------------------------------------------------------------
    Mutant("activation", "relu'(0) = 1", "dX", _derivative("relu", lambda x, y: x >= 0), ACTIVATIONS),
    Mutant("activation", "sigmoid' = y(1 + y)", "dX", _derivative("sigmoid", lambda x, y: y * (1 + y)), ACTIVATIONS),
    Mutant("activation", "tanh' = 1 - y", "dX", _derivative("tanh", lambda x, y: 1 - y), ACTIVATIONS),
    Mutant("activation", "leaky_relu'(0) = 1", "dX",
           _derivative("leaky_relu", lambda x, y, negative_slope: np.where(x >= 0, 1, negative_slope)), ACTIVATIONS),
    Mutant("activation", "gelu' missing x * pdf(x)", "dX",
           _derivative("gelu", lambda x, y, approximate: 0.5 * (1 + activations.erf(x / np.sqrt(2)))
                       if approximate == "none" else activations._gelu_tanh_derivative(x)), ACTIVATIONS),
    Mutant("activation", "elu'(x<0) = alpha", "dX", _derivative("elu", lambda x, y, alpha: np.where(x > 0, 1, alpha)),
           ACTIVATIONS),
    Mutant("activation", "sigmoid' = z(1 - z): on the input z instead of the output y", "dX",
           _derivative("sigmoid", lambda x, y: x * (1 - x)), ACTIVATIONS),
    Mutant("activation", "relu mask taken on the output with >= (y >= 0 is always true)", "dX",
           _derivative("relu", lambda x, y: y >= 0), ACTIVATIONS),
    # --- max pooling -----------------------------------------------------------------
    Mutant("max pool", "'=' instead of '+=' for overlapping windows", "overlapping windows not accumulated",
           _lecture(MAX_POOL, scatter_add=_assigning), MAX_POOL),
    Mutant("max pool", "ties routed to the last maximum", "tie-convention mismatch",
           _lecture(MAX_POOL, replaces=_ties_to_last), MAX_POOL),
    Mutant("max pool", "padding not cropped from dX", "dX", _set(pooling, "crop", lambda x, pads: x), MAX_POOL),
    Mutant("max pool", "gradient spread over the window like mean pooling", "dX",
           _backwards(MAX_POOL, lambda orig: lambda dy, c: {"x": c.geometry.scatter(np.broadcast_to(
               (dy / prod(c.geometry.kernel))[(Ellipsis,) + (None,) * len(c.geometry.kernel)],
               dy.shape + c.geometry.kernel))}), MAX_POOL),
    Mutant("max pool", _HW_SWAPPED, "dX", _backwards(("max_pool2d",), _post(_hw_swapped)), ("max_pool2d",)),
    Mutant("max pool", _SIZED_FROM_OUTPUT, "dX", _backwards(("max_pool2d",), _post(_sized_from_output)), ("max_pool2d",)),
    # --- mean pooling ----------------------------------------------------------------
    Mutant("mean pool", "'=' instead of '+=' for overlapping windows", "dX", _lecture(MEAN_POOL, scatter_add=_assigning),
           MEAN_POOL),
    Mutant("mean pool", "backward divides by the kernel size, ignoring padding rules", "dX",
           _backwards(("avg_pool1d", "avg_pool2d"), lambda orig: lambda dy, c: orig(
               dy * c.divisor / prod(c.geometry.kernel), c)), MEAN_POOL),
    Mutant("mean pool", "gradient not divided (sum-pool backward)", "dX",
           _backwards(("avg_pool1d", "avg_pool2d"), lambda orig: lambda dy, c: orig(dy * c.divisor, c)), MEAN_POOL),
    Mutant("mean pool", "adaptive bins end at floor instead of ceil", "Y", _set(pooling, "adaptive_bins", _floor_end_bins),
           MEAN_POOL),
    Mutant("mean pool", "2-d backward divides by k instead of k*k (the kernel height only)", "dX",
           _backwards(("avg_pool2d",), lambda orig: lambda dy, c: orig(
               dy, replace(c, divisor=np.asarray(c.geometry.kernel[0], dtype=c.divisor.dtype)))), ("avg_pool2d",)),
    Mutant("mean pool", _HW_SWAPPED, "dX", _backwards(("avg_pool2d",), _post(_hw_swapped)), ("avg_pool2d",)),
    # --- transposed conv / resampling ------------------------------------------------
    Mutant("transposed conv / resampling", "transposed conv dX with flipped filters", "dX",
           _wrap(transposed_conv, "correlate", lambda orig: lambda x, w, *a, **k: orig(x, conv.flip_spatial(w), *a, **k)),
           RESAMPLING),
    Mutant("transposed conv / resampling", "transposed conv dW with stride and dilation not exchanged", "dW",
           _wrap(transposed_conv, "conv_filter_grad", lambda orig: lambda dz, xp, geo, *reused_windows: orig(
               dz, xp, replace(geo, stride=geo.dilation, dilation=geo.stride))), RESAMPLING),  # windows of the wrong geometry
    Mutant("transposed conv / resampling", "downsample backward puts gradient at odd phase", "dX",
           _backwards(("downsample1d", "downsample2d"), lambda orig: lambda dy, c: {"x": np.roll(orig(dy, c)["x"], 1, axis=-1)}),
           RESAMPLING),
    Mutant("transposed conv / resampling", "upsample backward sums each factor-block instead of decimating", "dX",
           _backwards(("upsample1d", "upsample2d"), lambda orig: lambda dy, c: {"x": orig(dy + np.roll(dy, -1, axis=-1), c)["x"]}),
           RESAMPLING),
    # --- interpolation ---------------------------------------------------------------
    Mutant("interpolation", "align_corners phase inverted", "Y",
           _wrap(interpolation, "axis_matrix", lambda orig: lambda n, o, mode, align, sf, dt: orig(
               n, o, mode, not align if not mode.startswith("nearest") else align, sf, dt)), INTERPOLATION),
    Mutant("interpolation", "linear weights swapped between neighbours", "Y",
           _wrap(interpolation, "axis_matrix", _swap_linear_weights), INTERPOLATION),
    Mutant("interpolation", "backward uses the forward matrix instead of its transpose pattern (first axis only)", "dX",
           _backwards(INTERPOLATION, lambda orig: lambda dy, c: {"x": orig(dy, replace(c, matrices=tuple(
               np.fliplr(np.flipud(a)) if i == 0 else a for i, a in enumerate(c.matrices))))["x"]}), INTERPOLATION),
    Mutant("interpolation", "nearest uses round instead of floor", "Y",
           _wrap(interpolation, "_nearest_index", lambda orig: lambda dst, n, o, sf, exact: np.minimum(
               np.round(dst * (n / o)).astype(np.int64), n - 1) if not exact else orig(dst, n, o, sf, exact)), INTERPOLATION),
    # --- transform-invariant -----------------------------------------------------------
    Mutant("transform", "reversed rotation direction when accumulating dW", "dW",
           _set(transform, "inverse_transform", _reversed_rotation), TRANSFORM),
    Mutant("transform", "dW not inverse-transformed (sum of per-transform gradients)", "dW",
           _set(transform, "inverse_transform", lambda a, g: a), TRANSFORM),
    Mutant("transform", "group conv dW not permuted back along the transform axis", "dW",
           _wrap(transform, "filter_bank_grad", _unpermuted_bank_grad), TRANSFORM),
    Mutant("transform", "pooling over transforms routes ties to the last maximum", "dX",
           _lecture(("transform_max_pool",), replaces=_ties_to_last), TRANSFORM),
    Mutant("transform", "mean over transforms not divided by the group order", "dX",
           _backwards(("transform_avg_pool",), lambda orig: lambda dy, c: orig(dy * c.shape[2], c)), TRANSFORM),
    # --- depthwise -------------------------------------------------------------------
    Mutant("depthwise", "depthwise dW summed over the channel multiplier", "dW",
           _backwards(("depthwise_conv1d", "depthwise_conv2d"), lambda orig: lambda dy, c: {
               **orig(dy, c), "w": np.broadcast_to(orig(dy, c)["w"].sum(0, keepdims=True), c.w.shape).copy()}), DEPTHWISE),
    Mutant("depthwise", "bias gradient from the first sample only", "db",
           _wrap(conv, "bias_grad", _post(lambda db, dz: dz[:1].sum(axis=(0,) + tuple(range(2, dz.ndim))))), DEPTHWISE),
    Mutant("depthwise", "separable: pointwise dW averaged over the batch", "dw_pw",
           _backwards(("separable_conv1d", "separable_conv2d"), lambda orig: lambda dy, c: {
               **orig(dy, c), "w_pw": orig(dy, c)["w_pw"] / dy.shape[0]}), DEPTHWISE),
    Mutant("depthwise", "unflipped filter in dX", "dX", _lecture(DEPTHWISE, flip=lambda w: w), DEPTHWISE),
]


@contextlib.contextmanager
def applied(mutant: Mutant):
    with mutant.patch():
        yield
