"""A catalogue of realistic planted mistakes ("mutants") in manual_grads.

Each mutant is one named slip a student makes. It is an implementation of its own
(:attr:`Mutant.implementation`: manual_grads with the affected ``<op>_forward`` / ``<op>_backward`` replaced),
passed to the harness like a student's hand-in. Nothing is patched — not manual_grads, not its lecture — so
mutants may run beside each other and beside the correct layers. The mistake is made in one of two ways:

* in the lecture's forms of the ops (:func:`_lecture`): one helper of :mod:`manual_grads.lecture` written
  wrong — a step of dX = crop(upsample(dZ) (*) flip(W)) (or that dX computed the student's way), the crop,
  the running maximum that remembers pidx, the '+=' of ``dX[pidx] += dY`` or of the mean-pool spread, a
  derivative, the adaptive bins, an interpolation matrix, T_g⁻¹ — with the lecture's ops standing in for
  the public ``<op>_forward`` / ``<op>_backward`` (the helper is replaced in a private copy of the lecture
  module, :class:`_LectureWith`);
* or around manual_grads' public ``<op>_backward`` (:func:`_backwards`): its gradients post-processed
  (averaged, transposed, cut to a wrong shape, ...) or recomputed from a changed upstream gradient or cache.

``ops`` are the ops whose cases must catch a mutant. ``gradient`` is the gradient it corrupts, named as the
harness's checks name it ('x' for dX, 'w' for dW, 'b' for db, 'w_pw', ...; 'out' for the forward output);
``diagnosis``, for a mistake an op's own diagnosis recognises, is the name that diagnosis gives it (e.g.
"tie-convention mismatch"). ``reference.diagnosis.known_mistakes`` replays the catalogue to name a failure.
"""
from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, replace
from math import prod
from typing import Callable, Mapping
from types import ModuleType

import numpy as np

import manual_grads
from manual_grads import activations, lecture, pooling, transform

from .registry import ops_of

# the ops each group of mistakes applies to, from the registry (an op added to a family is checked against its
# family's mistakes); within a family, by name; a mistake of a 2-d layout (H and W), by rank


def _named(ops: tuple[str, ...], prefix: str | tuple[str, ...] = "", suffix: str = "") -> tuple[str, ...]:
    return tuple(op for op in ops if op.startswith(prefix) and op.endswith(suffix))


CONV = ops_of("conv")
ACTIVATIONS = ops_of("activation")
_POOL = ops_of("pool")
MAX_POOL = _named(_POOL, "max_pool")
AVG_POOL = _named(_POOL, "avg_pool")
ADAPTIVE_POOL = _named(_POOL, "adaptive_avg_pool")
MEAN_POOL = AVG_POOL + ADAPTIVE_POOL
_UPSAMPLING = ops_of("upsampling")
CONV_TRANSPOSE = _named(_UPSAMPLING, "conv_transpose")
UPSAMPLE, DOWNSAMPLE = _named(_UPSAMPLING, "upsample"), _named(_UPSAMPLING, "downsample")
RESAMPLING = CONV_TRANSPOSE + UPSAMPLE + DOWNSAMPLE
INTERPOLATION = _named(_UPSAMPLING, "interpolate")
TRANSFORM = ops_of("transform")
TRANSFORM_CONV = _named(TRANSFORM, suffix="conv2d")
TRANSFORM_MAX_POOL, TRANSFORM_AVG_POOL = _named(TRANSFORM, suffix="max_pool"), _named(TRANSFORM, suffix="avg_pool")
DEPTHWISE = ops_of("depthwise")
DEPTHWISE_CONV, SEPARABLE_CONV = _named(DEPTHWISE, "depthwise_conv"), _named(DEPTHWISE, "separable_conv")
CONV_2D, MAX_POOL_2D, AVG_POOL_2D = _named(CONV, suffix="2d"), _named(MAX_POOL, suffix="2d"), _named(AVG_POOL, suffix="2d")

@dataclass(frozen=True)
class Mutant:
    """One planted mistake (see the module's docstring)."""

    family: str
    name: str  # the catalogue name a diagnosis gives ("probably: <name>")
    gradient: str  # the gradient it corrupts: 'x', 'w', 'b', 'w_pw', ...; 'out' for the forward output
    functions: Mapping[str, Callable]  # the public functions that make the mistake: '<op>_forward' -> function
    ops: tuple[str, ...]  # the ops whose cases must catch it
    diagnosis: str = ""  # the name an op's diagnosis gives the failure, where one recognises it

    @property
    def implementation(self) -> "Implementation":
        """manual_grads making this mistake: what the harness, the diagnosis and the tests run."""
        return Implementation(self.name, self.functions)


class Implementation:
    """manual_grads with some of its public functions replaced (an implementation ``run_case`` accepts)."""

    def __init__(self, mistake: str, functions: Mapping[str, Callable]):
        self.__name__ = f"manual_grads with the mistake {mistake!r}"
        self._functions = dict(functions)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._functions[name] if name in self._functions else getattr(manual_grads, name)


class _LectureWith:
    """A private copy of :mod:`manual_grads.lecture` with some of its helpers replaced: the module's code executed
    afresh on first use (so its functions read the replaced helpers), the real lecture untouched. Nothing is
    patched, so mutants may run beside each other and beside the clean lecture, on any thread."""

    def __init__(self, helpers: Mapping[str, Callable]):
        missing = [name for name in helpers if not callable(getattr(lecture, name, None))]
        if missing:
            raise AttributeError(f"manual_grads.lecture has no helper {missing}")
        self._helpers = dict(helpers)
        self._module = None
        self._lock = threading.Lock()

    def _copy(self) -> ModuleType:
        with self._lock:
            if self._module is None:
                spec = importlib.util.find_spec(lecture.__name__)
                module = importlib.util.module_from_spec(spec)  # not in sys.modules: a copy, not the lecture
                spec.loader.exec_module(module)
                for name, value in self._helpers.items():
                    setattr(module, name, value)
                self._module = module
            return self._module

    def function(self, name: str) -> Callable:
        """The copy's ``name`` (the copy made when it is first called)."""
        def call(*args, **kwargs):
            return getattr(self._copy(), name)(*args, **kwargs)
        call.__name__ = call.__qualname__ = name
        return call


def _lecture(ops, **helpers) -> dict[str, Callable]:
    """The lecture's forms of ``ops`` (:mod:`manual_grads.lecture`) as ``<op>_forward`` and ``<op>_backward``,
    with the lecture's ``helpers`` replaced by the values given (in a private copy of the module): one formula
    of the lecture written wrong. (Forward and backward both: the lecture's backward needs its own cache.)"""
    copy = _LectureWith(helpers)
    return {f"{op}_{stage}": copy.function(f"{op}_{stage}") for op in ops for stage in ("forward", "backward")}


def _backwards(ops, wrap: Callable) -> dict[str, Callable]:
    """manual_grads' public ``<op>_backward`` of every op in ``ops`` as ``wrap(original)``."""
    return {f"{op}_backward": wrap(getattr(manual_grads, f"{op}_backward")) for op in ops}


def _post(fix: Callable):
    """For :func:`_backwards`: the backward's gradients passed through ``fix(grads, dy, cache)``."""
    return lambda original: lambda dy, cache: fix(original(dy, cache), dy, cache)


def _gradient(name: str, fix: Callable):
    """For :func:`_backwards`: the gradient ``name`` (where the op has it) replaced by ``fix(gradient, dy, cache)``."""
    return _post(lambda grads, dy, cache: {**grads, name: fix(grads[name], dy, cache)} if name in grads else grads)


def _first_sample_only(*names: str):
    """For :func:`_backwards`: the gradients ``names`` (those the op has) from the first sample of the batch alone —
    the backward of dY with every other sample zeroed (a parameter's gradient sums over the batch)."""
    def backward_of(original):
        def backward(dy, cache):
            first = np.zeros_like(dy)
            first[:1] = dy[:1]
            alone = original(first, cache)
            return {**original(dy, cache), **{n: g for n, g in alone.items() if n in names}}
        return backward
    return backward_of


# the lecture's own helpers, which the mistakes below call (from the real lecture, which no mutant changes)
_FILTER_GRADIENT, _AXIS_MATRIX, _GELU_DERIVATIVE = lecture.filter_gradient, lecture.axis_matrix, lecture.gelu_derivative


def _ties_to_last(candidate, best):
    """A running maximum updated with '>=' instead of '>': of equal maxima the last wins."""
    return candidate >= best


def _assigning(target, index, values):
    """'=' where the lecture says '+=': overlapping windows overwrite each other."""
    target[index] = values


def _gelu_without_x_pdf(x, y, approximate):
    """gelu'(x) = Φ(x): the product rule's x·φ(x) left out (the exact form; the tanh approximation stays right)."""
    if approximate == "none":
        return 0.5 * (1 + activations.erf(x / np.sqrt(2)))
    return _GELU_DERIVATIVE(x, y, approximate)


def _spread_like_mean(dy, cache):
    """Max pooling's dX with every window's dY spread evenly over the window — mean pooling's backward, divisor
    |K| — instead of routed to its maximum."""
    geo = cache.geometry
    return {"x": geo.fold_broadcast(dy / prod(geo.kernel))}


def _floor_end_bins(n: int, o: int) -> list[tuple[int, int]]:
    """Adaptive bins ending at floor((i+1)n/o) instead of ceil: the overlap between bins is lost."""
    bins = []
    for i in range(o):
        start = (i * n) // o
        bins.append((start, max(((i + 1) * n) // o, start + 1)))
    return bins


def _shifted_crop(x, pads):
    """The padding cropped off by one where there is any before: ``x[lo + 1 : n - hi + 1]``, dX shifted by one."""
    return x[(Ellipsis,) + tuple(slice(lo + 1, n - hi + 1) if lo else slice(lo, n - hi)
                                 for n, (lo, hi) in zip(x.shape[-len(pads):], pads))]


def _stride_and_dilation_swapped(dz, x_padded, geo):
    """The transposed convolution's dW = pad(dY) ⋆ X read with the stride and dilation of the convolution
    exchanged: windows of the wrong geometry (where they run past pad(dY), the layer raises, as the student's
    indexing would)."""
    return _FILTER_GRADIENT(dz, x_padded, replace(geo, stride=geo.dilation, dilation=geo.stride))


def _align_corners_inverted(n, o, mode, align_corners, scale_factor, dtype):
    """A linear mode's matrix with align_corners taken the other way round (the nearest modes have none)."""
    linear = not mode.startswith("nearest")
    return _AXIS_MATRIX(n, o, mode, not align_corners if linear else align_corners, scale_factor, dtype)


def _linear_weights_swapped(n, o, mode, align_corners, scale_factor, dtype):
    """A linear mode's matrix with weight (1 - λ) on the far neighbour and λ on the near one."""
    a = _AXIS_MATRIX(n, o, mode, align_corners, scale_factor, dtype)
    if mode.startswith("nearest"):
        return a
    swapped = np.zeros_like(a)
    for row in range(o):
        cols = np.flatnonzero(a[row])
        swapped[row, cols] = a[row, cols[::-1]]
    return swapped


def _nearest_rounded(n, o, mode, align_corners, scale_factor, dtype):
    """'nearest' reading source index round(dst · n / o) instead of floor (nearest-exact and linear stay right)."""
    if mode != "nearest":
        return _AXIS_MATRIX(n, o, mode, align_corners, scale_factor, dtype)
    dst = np.arange(o)
    a = np.zeros((o, n))
    a[dst, np.minimum(np.round(dst * (n / o)).astype(np.int64), n - 1)] = 1.0
    return a


def _reversed_rotation(a, g):
    """T_g⁻¹ with the rotation turned the wrong way: rot90(+r) instead of rot90(-r)."""
    r, m = g
    a = np.rot90(a, r, axes=(-2, -1))
    return a[..., ::-1] if m else a


def _transform_axis_not_permuted(grads, dz, cache):
    """Group convolution's dW = Σ_g T_g⁻¹(dW_g) with slot h of every dW_g added to transform channel h instead of
    g⁻¹h: the filters (O, C, |G|, k, k) treated as lifting filters of C·|G| channels. (Lifting: nothing to permute.)"""
    if len(cache.w_shape) == 4:
        return grads
    o, c, order, kh, kw = cache.w_shape
    bank = manual_grads.conv_backward(dz.reshape((dz.shape[0], -1) + dz.shape[3:]), cache.conv)["w"]
    return {**grads, "w": transform.filter_bank_grad(bank, (o, c * order, kh, kw), cache.group).reshape(cache.w_shape)}


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
    Mutant("conv", "unflipped filter in dX", "x", _lecture(CONV, flip=lambda w: w), CONV),
    Mutant("conv", "stride ignored in dX (no zero-upsampling)", "x", _lecture(CONV, zero_upsample=lambda x, factor: x), CONV),
    Mutant("conv", "padding not cropped from dX", "x", _lecture(CONV, crop=lambda x, pads: x), CONV),
    Mutant("conv", "padding cropped off by one", "x", _lecture(CONV, crop=_shifted_crop), CONV),
    Mutant("conv", "batch averaged in dW", "w", _backwards(CONV, _gradient("w", lambda dw, dz, c: dw / dz.shape[0])), CONV),
    Mutant("conv", "kernel axes swapped in dW", "w",
           _backwards(CONV, _gradient("w", lambda dw, dz, c: np.swapaxes(dw, -1, -2))), CONV),
    Mutant("conv", "in/out channels not swapped in dX", "x", _lecture(CONV, swap_in_out=lambda w, groups: w), CONV),
    Mutant("conv", "bias gradient averaged over the batch", "b",
           _backwards(CONV, _gradient("b", lambda db, dz, c: db / dz.shape[0])), CONV),
    Mutant("conv", "dW from one sample of the batch", "w", _backwards(CONV, _first_sample_only("w")), CONV),
    Mutant("conv", "dZ padded by K instead of K-1 in dX (dX shifted by one)", "x",
           _lecture(CONV, input_gradient=_dz_padded_by_k), CONV),
    Mutant("conv", "dX cropped as dx_padded[p:-p]: empty when the padding is 0", "x",
           _lecture(CONV, crop=_crop_p_to_minus_p), CONV),
    Mutant("conv", "'=' instead of '+=' in the dX scatter (overlapping windows overwrite)", "x",
           _lecture(CONV, input_gradient=_assigning_scatter_dx), CONV),
    Mutant("conv", _HW_SWAPPED, "x", _backwards(CONV_2D, _post(_hw_swapped)), CONV_2D),
    Mutant("conv", _SIZED_FROM_OUTPUT, "x", _backwards(CONV_2D, _post(_sized_from_output)), CONV_2D),
    # --- activations -----------------------------------------------------------------
    Mutant("activation", "relu'(0) = 1", "x", _lecture(ACTIVATIONS, relu_derivative=lambda x, y: x >= 0), ACTIVATIONS),
    Mutant("activation", "sigmoid' = y(1 + y)", "x", _lecture(ACTIVATIONS, sigmoid_derivative=lambda x, y: y * (1 + y)),
           ACTIVATIONS),
    Mutant("activation", "tanh' = 1 - y", "x", _lecture(ACTIVATIONS, tanh_derivative=lambda x, y: 1 - y), ACTIVATIONS),
    Mutant("activation", "leaky_relu'(0) = 1", "x", _lecture(ACTIVATIONS, leaky_relu_derivative=lambda x, y, negative_slope:
                                                             np.where(x >= 0, 1, negative_slope)), ACTIVATIONS),
    Mutant("activation", "gelu' missing x * pdf(x)", "x", _lecture(ACTIVATIONS, gelu_derivative=_gelu_without_x_pdf),
           ACTIVATIONS),
    Mutant("activation", "elu'(x<0) = alpha", "x",
           _lecture(ACTIVATIONS, elu_derivative=lambda x, y, alpha: np.where(x > 0, 1, alpha)), ACTIVATIONS),
    Mutant("activation", "sigmoid' = z(1 - z): on the input z instead of the output y", "x",
           _lecture(ACTIVATIONS, sigmoid_derivative=lambda x, y: x * (1 - x)), ACTIVATIONS),
    Mutant("activation", "relu mask taken on the output with >= (y >= 0 is always true)", "x",
           _lecture(ACTIVATIONS, relu_derivative=lambda x, y: y >= 0), ACTIVATIONS),
    # --- max pooling -----------------------------------------------------------------
    Mutant("max pool", "'=' instead of '+=' for overlapping windows", "x", _lecture(MAX_POOL, scatter_add=_assigning),
           MAX_POOL, diagnosis="overlapping windows not accumulated"),
    Mutant("max pool", "ties routed to the last maximum", "x", _lecture(MAX_POOL, replaces=_ties_to_last), MAX_POOL,
           diagnosis="tie-convention mismatch"),
    Mutant("max pool", "padding not cropped from dX", "x", _lecture(MAX_POOL, crop=lambda x, pads: x), MAX_POOL),
    Mutant("max pool", "gradient spread over the window like mean pooling", "x",
           _backwards(MAX_POOL, lambda original: _spread_like_mean), MAX_POOL),
    Mutant("max pool", _HW_SWAPPED, "x", _backwards(MAX_POOL_2D, _post(_hw_swapped)), MAX_POOL_2D),
    Mutant("max pool", _SIZED_FROM_OUTPUT, "x", _backwards(MAX_POOL_2D, _post(_sized_from_output)), MAX_POOL_2D),
    # --- mean pooling ----------------------------------------------------------------
    Mutant("mean pool", "'=' instead of '+=' for overlapping windows", "x", _lecture(MEAN_POOL, scatter_add=_assigning),
           MEAN_POOL),
    Mutant("mean pool", "backward divides by the kernel size, ignoring padding rules", "x",
           _backwards(AVG_POOL, lambda orig: lambda dy, c: orig(
               dy * c.divisor / prod(c.geometry.kernel), c)), MEAN_POOL),
    Mutant("mean pool", "gradient not divided (sum-pool backward)", "x",
           _backwards(AVG_POOL, lambda orig: lambda dy, c: orig(dy * c.divisor, c)), MEAN_POOL),
    Mutant("mean pool", "adaptive bins end at floor instead of ceil", "out",
           _lecture(ADAPTIVE_POOL, adaptive_bins=_floor_end_bins), MEAN_POOL),
    Mutant("mean pool", "2-d backward divides by k instead of k*k (the kernel height only)", "x",
           _backwards(AVG_POOL_2D, lambda orig: lambda dy, c: orig(
               dy, replace(c, divisor=np.asarray(c.geometry.kernel[0], dtype=c.divisor.dtype)))), AVG_POOL_2D),
    Mutant("mean pool", _HW_SWAPPED, "x", _backwards(AVG_POOL_2D, _post(_hw_swapped)), AVG_POOL_2D),
    # --- transposed conv / resampling ------------------------------------------------
    Mutant("transposed conv / resampling", "transposed conv dX with flipped filters", "x",
           _backwards(CONV_TRANSPOSE, lambda orig: lambda dy, c: {
               **orig(dy, c), "x": orig(dy, replace(c, w=lecture.flip(c.w)))["x"]}), RESAMPLING),
    Mutant("transposed conv / resampling", "transposed conv dW with stride and dilation not exchanged", "w",
           _lecture(CONV_TRANSPOSE, filter_gradient=_stride_and_dilation_swapped), RESAMPLING),
    Mutant("transposed conv / resampling", "downsample backward puts gradient at odd phase", "x",
           _backwards(DOWNSAMPLE, lambda orig: lambda dy, c: {"x": np.roll(orig(dy, c)["x"], 1, axis=-1)}),
           RESAMPLING),
    Mutant("transposed conv / resampling", "upsample backward sums each factor-block instead of decimating", "x",
           _backwards(UPSAMPLE,
                      lambda orig: lambda dy, c: {"x": orig(dy + np.roll(dy, -1, axis=-1), c)["x"]}), RESAMPLING),
    # --- interpolation ---------------------------------------------------------------
    Mutant("interpolation", "align_corners phase inverted", "out", _lecture(INTERPOLATION, axis_matrix=_align_corners_inverted),
           INTERPOLATION),
    Mutant("interpolation", "linear weights swapped between neighbours", "out",
           _lecture(INTERPOLATION, axis_matrix=_linear_weights_swapped), INTERPOLATION),
    Mutant("interpolation", "backward uses the forward matrix instead of its transpose pattern (first axis only)", "x",
           _backwards(INTERPOLATION, lambda orig: lambda dy, c: {"x": orig(dy, replace(c, matrices=tuple(
               np.fliplr(np.flipud(a)) if i == 0 else a for i, a in enumerate(c.matrices))))["x"]}), INTERPOLATION),
    Mutant("interpolation", "nearest uses round instead of floor", "out", _lecture(INTERPOLATION, axis_matrix=_nearest_rounded),
           INTERPOLATION),
    # --- transform-invariant -----------------------------------------------------------
    Mutant("transform", "reversed rotation direction when accumulating dW", "w",
           _lecture(TRANSFORM_CONV, inverse_transform=_reversed_rotation), TRANSFORM),
    Mutant("transform", "dW not inverse-transformed (sum of per-transform gradients)", "w",
           _lecture(TRANSFORM_CONV, inverse_transform=lambda a, g: a), TRANSFORM),
    Mutant("transform", "group conv dW not permuted back along the transform axis", "w",
           _backwards(TRANSFORM_CONV, _post(_transform_axis_not_permuted)), TRANSFORM),
    Mutant("transform", "pooling over transforms routes ties to the last maximum", "x",
           _lecture(TRANSFORM_MAX_POOL, replaces=_ties_to_last), TRANSFORM),
    Mutant("transform", "mean over transforms not divided by the group order", "x",
           _backwards(TRANSFORM_AVG_POOL, lambda orig: lambda dy, c: orig(dy * c.shape[2], c)), TRANSFORM),
    # --- depthwise -------------------------------------------------------------------
    Mutant("depthwise", "depthwise dW summed over the channel multiplier", "w",
           _backwards(DEPTHWISE_CONV, _gradient(
               "w", lambda dw, dy, c: np.broadcast_to(dw.sum(0, keepdims=True), c.w.shape).copy())), DEPTHWISE),
    Mutant("depthwise", "bias gradient from the first sample only", "b",
           _backwards(DEPTHWISE, _first_sample_only("b", "b_dw", "b_pw")), DEPTHWISE),
    Mutant("depthwise", "separable: pointwise dW averaged over the batch", "w_pw",
           _backwards(SEPARABLE_CONV, _gradient("w_pw", lambda dw, dy, c: dw / dy.shape[0])),
           DEPTHWISE),
    Mutant("depthwise", "unflipped filter in dX", "x", _lecture(DEPTHWISE, flip=lambda w: w), DEPTHWISE),
]
