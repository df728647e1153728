"""The lecture as code: every layer's forward and backward, written as the lecture *Backpropagation in CNNs*
writes them (``../shared/lecture-backprop-in-cnns.md``), to be read beside it.

NumPy only, and nothing but the formulas: loops over kernel offsets, windows or channels; no threads,
thresholds, slabs, layout caches or other speed tricks. Every op has the signature of its ``manual_grads``
counterpart, ``<op>_forward(...) -> (out, cache)`` and ``<op>_backward(dout, cache) -> {input name: gradient}``
with the same argument names and defaults, so this module is an implementation the harness can verify
(``reference.harness.run_case(case, lecture)``), and ``tests/test_lecture_forms.py`` checks that the fast
forms of ``manual_grads`` compute the same numbers.

Notation: arrays are channels-first, ``X (N, C, *S)``; ``t`` runs over window positions, ``i`` over kernel
offsets; ``s`` is the stride, ``d`` the dilation, ``K`` the kernel; ``Xpad`` is X zero-padded. The lecture's
names map so: its input map ``Y(l-1, m, x, y)`` is ``X[:, c]``, its affine map ``z(l, n, x', y')`` is
``Z[:, o]`` and its filter ``w_l(m, n, i, j)`` (input map first) is ``W[o, c, i, j]`` (torch's order, output
first); here ``n`` is the sample of the batch, not the lecture's output map.

* Convolution (1-d, 2-d, 3-d; stride, padding incl. 'same'/'valid', dilation, groups): the forward is a
  correlation, ``Z[n, o, t] = b[o] + Σ_{c,i} W[o, c, i] Xpad[n, c, t·s + i·d]``; the backward is
  ``dX = crop(zero_upsample_s(dZ) (*) W)`` — the full convolution of the zero-upsampled dZ with the flipped
  filters, input and output channels swapped per group, the zero padding deleted — then
  ``dW[o, c, i] = Σ_{n,t} dZ[n, o, t] Xpad[n, c, t·s + i·d]`` (the padded input correlated with dZ: for
  each offset i, Xpad read at t·s + i·d) and ``db[o] = Σ_{n,t} dZ[n, o, t]``.
* Activations: ``Y = f(X)``, ``dX = dY ⊙ f'(X)``.
* Max pooling: the forward remembers ``pidx``, the first maximum of every window in row-major window order
  (as torch); the backward is ``dX[pidx(t)] += dY[t]``, window by window.
* Mean pooling (average, adaptive average), beyond the lecture (which pools by the maximum only), by the same
  reasoning: ``dX[window t] += dY[t] / divisor(t)``, window by window (the divisor is the window's size, its
  part inside the input without ``count_include_pad``, or ``divisor_override``).
* Transposed convolution: the adjoint of convolution — its forward is conv's dX map, its dX conv's forward,
  its dW conv's filter gradient with the roles of input and upstream gradient exchanged.
* Zero-insertion upsampling and decimation, each the other's adjoint; interpolation, one matrix per axis,
  ``Y = A_h X A_wᵀ``, ``dX = A_hᵀ dY A_w`` (the lecture names upsampling and transposed convolution; these
  adjoints are derived the way it derives the others).
* Depthwise convolution (channel multiplier m) and the separable block: per-channel K×K filters in loops.
* Transform-invariant layers: a bank of transformed filters ``T_g W``; ``dW = Σ_g T_g⁻¹(dW_g)``.

Reused from manual_grads, because it is a definition rather than a computation: only
:func:`manual_grads.interpolation.axis_matrix`, torch's rule for interpolation's source indices and weights
(nearest, nearest-exact, linear with or without align_corners). It reproduces torch's index arithmetic bit
for bit, which rounds through float32 (the nearest modes' source index is the floor, taken in float32, of the
destination index times a float32 scale -- nearest-exact forms that product in float64 first; linear's
coordinates are computed in the input's precision) — a rule to copy, not a formula to
derive. It is imported into this module by name, so a mutant (``reference.mutants``) replaces it in its
private copy of this module, never in manual_grads' fast path. Because the matrices
are shared, the fast == lecture test cannot catch a wrong interpolation weight; the checks against torch do.
Everything else — output sizes, padding rules, pooling windows and divisors, adaptive bins, activation
functions and their derivatives, the transform groups, T_g, T_g⁻¹ and the group table g⁻¹h — is written out
below.

The mutant catalogue (``reference.mutants``) plants students' mistakes in these forms: each such mutant is an
implementation of its own, the lecture's ``<op>_forward`` / ``<op>_backward`` taken from a private copy of
this module in which one helper (e.g. :func:`flip`, :func:`replaces`, :func:`scatter_add`) is replaced
(``reference.mutants._LectureWith``); this module itself is never patched.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from .interpolation import axis_matrix

Pads = tuple[tuple[int, int], ...]


# --- the pieces every sliding-window layer is made of ------------------------------------------------

def per_axis(value, nd: int) -> tuple[int, ...]:
    """An int for every spatial axis: ``3 -> (3, 3)``, ``(2, 1) -> (2, 1)``, ``(2,) -> (2, 2)``."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    return value * nd if len(value) == 1 else value


def pad(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """``x`` with its trailing ``len(pads)`` (spatial) axes padded by ``(before, after)`` elements of ``value``."""
    return np.pad(x, [(0, 0)] * (x.ndim - len(pads)) + [tuple(p) for p in pads], constant_values=value)


def crop(x: np.ndarray, pads: Pads) -> np.ndarray:
    """The padded borders deleted again — "the zero padding regions must be deleted before further backprop"."""
    return x[(Ellipsis,) + tuple(slice(lo, n - hi) for n, (lo, hi) in zip(x.shape[-len(pads):], pads))]


def zero_upsample(x: np.ndarray, factor: tuple[int, ...]) -> np.ndarray:
    """``factor - 1`` zeros inserted between neighbouring samples of each spatial axis, ``(L - 1)·f + 1`` long:
    the lecture's "upsampling derivative map by S"."""
    nd = len(factor)
    up = np.zeros(x.shape[:-nd] + tuple((n - 1) * f + 1 for n, f in zip(x.shape[-nd:], factor)), dtype=x.dtype)
    up[(Ellipsis,) + tuple(slice(None, None, f) for f in factor)] = x
    return up


def flip(w: np.ndarray) -> np.ndarray:
    """The filters ``(O, C, *K)`` flipped: every spatial axis reversed."""
    return w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)]


def swap_in_out(w: np.ndarray, groups: int) -> np.ndarray:
    """Filters ``(G·Og, Cg, *K)`` with input and output channels exchanged within each group: ``(G·Cg, Og, *K)``."""
    o, cg = w.shape[:2]
    per_group = w.reshape((groups, o // groups, cg) + w.shape[2:])
    return per_group.swapaxes(1, 2).reshape((groups * cg, o // groups) + w.shape[2:])


def at_offset(offset: tuple[int, ...], stride, dilation, count) -> tuple:
    """Index of kernel offset ``i``'s element in every window, ``x[..., t·s + i·d]`` for ``t < count``."""
    return (Ellipsis,) + tuple(slice(i * d, i * d + (t - 1) * s + 1, s)
                               for i, s, d, t in zip(offset, stride, dilation, count))


def windows_along(size: int, kernel: int, stride: int, dilation: int) -> int:
    """How many windows fit along an axis of ``size``: ``floor((L - d(K - 1) - 1) / s) + 1``."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def summed_over_batch_and_space(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Σ_{n,t} a[n, o, t] · b[n, c, t]``, an ``(O, C)`` matrix."""
    return np.einsum("not,nct->oc", a.reshape(a.shape[:2] + (-1,)), b.reshape(b.shape[:2] + (-1,)))


def correlate(x: np.ndarray, w: np.ndarray, stride, dilation, groups: int = 1, count=None) -> np.ndarray:
    """``Z[n, g·Og + o, t] = Σ_{c,i} W[g·Og + o, c, i] · X[n, g·Cg + c, t·s + i·d]``: the filter scanned over the
    map (what deep-learning libraries call convolution), one kernel offset at a time; ``count`` windows per
    axis (default: all that fit)."""
    o_all, cg = w.shape[:2]
    og, kernel = o_all // groups, w.shape[2:]
    if count is None:
        count = tuple(windows_along(n, k, s, d) for n, k, s, d in zip(x.shape[2:], kernel, stride, dilation))
    z = np.zeros((x.shape[0], o_all) + tuple(count), dtype=np.result_type(x, w))
    for g in range(groups):
        ins, outs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        for i in np.ndindex(*kernel):
            z[:, outs] += np.einsum("oc,nc...->no...", w[(outs, slice(None)) + i],
                                    x[:, ins][at_offset(i, stride, dilation, count)])
    return z


# --- convolution ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvGeometry:
    """A convolution's shape: stride s, dilation d, zero padding (before, after) per axis, groups, kernel K and
    the size of the padded input."""

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: Pads
    groups: int
    kernel: tuple[int, ...]
    padded: tuple[int, ...]


def conv_padding(padding, kernel, dilation) -> Pads:
    """(before, after) zero padding per axis: an int or a tuple on both sides; 'valid' none; 'same' a total of
    d(K - 1), the odd one after (as torch), so that at stride 1 the output is as long as the input."""
    if padding == "valid":
        return ((0, 0),) * len(kernel)
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    return tuple((p, p) for p in per_axis(padding, len(kernel)))


def padded_size(size, pads: Pads) -> tuple[int, ...]:
    """The size of an input of ``size`` with ``pads`` (before, after) zeros added along each axis."""
    return tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))


def conv_geometry(x_shape, w_shape, stride, padding, dilation, groups) -> ConvGeometry:
    """The geometry of convolving an input of ``x_shape`` with filters of ``w_shape``."""
    nd = len(w_shape) - 2
    if len(x_shape) != nd + 2 or x_shape[1] != w_shape[1] * groups or w_shape[0] % groups:
        raise ValueError(f"input {tuple(x_shape)} and filters {tuple(w_shape)} do not fit groups={groups}")
    stride, dilation, kernel = per_axis(stride, nd), per_axis(dilation, nd), tuple(w_shape[2:])
    if padding == "same" and max(stride) > 1:
        raise ValueError("padding='same' is only defined for stride 1")
    pads = conv_padding(padding, kernel, dilation)
    padded = padded_size(x_shape[2:], pads)
    return ConvGeometry(stride, dilation, pads, int(groups), kernel, padded)


@dataclass(frozen=True)
class ConvCache:
    x_padded: np.ndarray
    w: np.ndarray
    has_bias: bool
    geometry: ConvGeometry


def add_bias(z: np.ndarray, b) -> np.ndarray:
    """``Z[n, o, t] += b[o]``."""
    if b is not None:
        z += np.asarray(b).reshape((1, -1) + (1,) * (z.ndim - 2))
    return z


def conv_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, *, nd: int):
    """``Z[n, o, t] = b[o] + Σ_{c,i} W[o, c, i] · Xpad[n, c, t·s + i·d]``: the filters correlated with the padded input."""
    x, w = np.asarray(x), np.asarray(w)
    if w.ndim != nd + 2:
        raise ValueError(f"conv{nd}d expects filters (C_out, C_in/groups, {nd} kernel dims); got {w.shape}")
    geo = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    x_padded = pad(x, geo.pads)
    z = add_bias(correlate(x_padded, w, geo.stride, geo.dilation, geo.groups), b)
    return z, ConvCache(x_padded, w, b is not None, geo)


def input_gradient(dz: np.ndarray, w: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """``dX = crop(zero_upsample_s(dZ) (*) W)``.

    The lecture: ``dDiv/dY(m, x) = Σ_n Σ_x' dDiv/dz(n, x') · w(m, n, x - x')`` — "the derivative at Y(x, y)
    is the sum of point-wise products of the flipped filter and the derivative at the Z map: a convolution".
    With a stride the derivative map is first upsampled by S (zeros between its samples); it is padded by
    d(K - 1) on each side for the full convolution, correlated with the flipped filters (input and output
    channels swapped, per group), and the zero padding is deleted. Rows past the last window (a stride that
    does not divide the input) received no gradient: zeros.
    """
    full = pad(zero_upsample(dz, geo.stride), tuple((d * (k - 1),) * 2 for k, d in zip(geo.kernel, geo.dilation)))
    dx_padded = correlate(full, flip(swap_in_out(w, geo.groups)), (1,) * len(geo.kernel), geo.dilation, geo.groups)
    dx_padded = pad(dx_padded, tuple((0, n - m) for n, m in zip(geo.padded, dx_padded.shape[2:])))
    return crop(dx_padded, geo.pads)


def filter_gradient(dz: np.ndarray, x_padded: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """``dW[o, c, i] = Σ_{n,t} dZ[n, o, t] · Xpad[n, c, t·s + i·d]`` (within each group).

    The lecture: ``dDiv/dw(m, n, i, j) = Σ_{x,y} dDiv/dz(n, x, y) · y(m, x + i, y + j)`` — "this too is a
    convolution": for each kernel offset i, dZ times the padded input read at t·s + i·d, summed over the batch
    and the positions t.
    """
    n, o_all = dz.shape[:2]
    og, cg = o_all // geo.groups, x_padded.shape[1] // geo.groups
    dw = np.zeros((o_all, cg) + geo.kernel, dtype=np.result_type(dz, x_padded))
    for g in range(geo.groups):
        ins, outs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        for i in np.ndindex(*geo.kernel):
            window_elements = x_padded[:, ins][at_offset(i, geo.stride, geo.dilation, dz.shape[2:])]
            dw[(outs, slice(None)) + i] = summed_over_batch_and_space(dz[:, outs], window_elements)
    return dw


def bias_gradient(dz: np.ndarray) -> np.ndarray:
    """``db[o] = Σ_{n,t} dZ[n, o, t]``."""
    return dz.sum(axis=(0,) + tuple(range(2, dz.ndim)))


def conv_backward(dz, cache: ConvCache) -> dict[str, np.ndarray]:
    """``dX = crop(zero_upsample_s(dZ) (*) W)``; ``dW[o, c, i] = Σ_{n,t} dZ[n, o, t] Xpad[n, c, t·s + i·d]``;
    ``db[o] = Σ_{n,t} dZ[n, o, t]`` (``'b'`` only with a bias)."""
    dz = np.asarray(dz)
    grads = {"x": input_gradient(dz, cache.w, cache.geometry),
             "w": filter_gradient(dz, cache.x_padded, cache.geometry)}
    if cache.has_bias:
        grads["b"] = bias_gradient(dz)
    return grads


def conv1d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution: see :func:`conv_forward`."""
    return conv_forward(x, w, b, stride, padding, dilation, groups, nd=1)


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution: see :func:`conv_forward`."""
    return conv_forward(x, w, b, stride, padding, dilation, groups, nd=2)


def conv3d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution: see :func:`conv_forward`."""
    return conv_forward(x, w, b, stride, padding, dilation, groups, nd=3)


conv1d_backward = conv2d_backward = conv3d_backward = conv_backward


# --- activations ------------------------------------------------------------------------------------

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _phi(x):
    """Φ(x), the standard normal distribution function."""
    return 0.5 * (1 + _erf(x / math.sqrt(2)))


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


_GELU_C = math.sqrt(2 / math.pi)


@dataclass(frozen=True)
class ActivationCache:
    x: np.ndarray
    y: np.ndarray
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]  # f'(x), given x and y = f(x)


def _activated(x, f, derivative):
    x = np.asarray(x)
    y = np.asarray(f(x)).astype(x.dtype)
    return y, ActivationCache(x, y, derivative)


def activation_backward(dy, cache: ActivationCache) -> dict[str, np.ndarray]:
    """``dX = dY ⊙ f'(X)`` — "just multiply upstream gradient and derivative of activate function"."""
    return {"x": (np.asarray(dy) * cache.derivative(cache.x, cache.y)).astype(cache.x.dtype)}


def relu_derivative(x, y):
    """relu'(x) = 1 for x > 0, else 0 (0 at x = 0, as torch)."""
    return np.where(x > 0, 1.0, 0.0)


def leaky_relu_derivative(x, y, negative_slope):
    """leaky_relu'(x) = 1 for x > 0, else the negative slope (also at x = 0)."""
    return np.where(x > 0, 1.0, negative_slope)


def sigmoid_derivative(x, y):
    """σ'(x) = y (1 - y), with y = σ(x)."""
    return y * (1 - y)


def tanh_derivative(x, y):
    """tanh'(x) = 1 - y², with y = tanh(x)."""
    return 1 - y * y


def softplus_derivative(x, y, beta, threshold):
    """softplus'(x) = σ(βx); 1 where βx > threshold (there softplus is the identity)."""
    return np.where(beta * x > threshold, 1.0, _sigmoid(beta * x))


def elu_derivative(x, y, alpha):
    """elu'(x) = 1 for x > 0, else α eˣ (α at x = 0)."""
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


def gelu_derivative(x, y, approximate):
    """gelu'(x) = Φ(x) + x φ(x) (exact); with the tanh approximation, u = √(2/π)(x + 0.044715 x³):
    ½(1 + tanh u) + ½ x (1 - tanh² u) √(2/π) (1 + 3·0.044715 x²)."""
    if approximate == "none":
        return _phi(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    t = np.tanh(_GELU_C * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)


def relu_forward(x):
    """y = max(x, 0)."""
    return _activated(x, lambda x: np.where(x > 0, x, 0), relu_derivative)


def leaky_relu_forward(x, negative_slope=0.01):
    """y = x for x > 0, else negative_slope · x."""
    return _activated(x, lambda x: np.where(x > 0, x, negative_slope * x),
                      partial(leaky_relu_derivative, negative_slope=negative_slope))


def sigmoid_forward(x):
    """y = σ(x) = 1 / (1 + e⁻ˣ)."""
    return _activated(x, _sigmoid, sigmoid_derivative)


def tanh_forward(x):
    """y = tanh(x)."""
    return _activated(x, np.tanh, tanh_derivative)


def softplus_forward(x, beta=1.0, threshold=20.0):
    """y = log(1 + e^(βx)) / β; y = x where βx > threshold."""
    def f(x):
        with np.errstate(over="ignore"):
            return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)
    return _activated(x, f, partial(softplus_derivative, beta=beta, threshold=threshold))


def elu_forward(x, alpha=1.0):
    """y = x for x > 0, else α (eˣ - 1)."""
    return _activated(x, lambda x: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
                      partial(elu_derivative, alpha=alpha))


def gelu_forward(x, approximate="none"):
    """y = x Φ(x); approximate='tanh': y = ½ x (1 + tanh(√(2/π)(x + 0.044715 x³)))."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")

    def f(x):
        if approximate == "none":
            return x * _phi(x)
        return 0.5 * x * (1 + np.tanh(_GELU_C * (x + 0.044715 * x ** 3)))
    return _activated(x, f, partial(gelu_derivative, approximate=approximate))


relu_backward = leaky_relu_backward = sigmoid_backward = tanh_backward = activation_backward
softplus_backward = elu_backward = gelu_backward = activation_backward


# --- pooling ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoolWindows:
    """The windows of a pooling: kernel, stride, dilation, the symmetric padding, the padding actually added
    ((padding, padding + room for ceil_mode's last window) per axis), the input size and the window count."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...]
    pads: Pads
    size: tuple[int, ...]
    out: tuple[int, ...]

    @property
    def padded(self) -> tuple[int, ...]:
        """The size of the padded input the windows are read from."""
        return padded_size(self.size, self.pads)

    def window(self, t: tuple[int, ...]) -> tuple:
        """Index of window ``t`` in the padded input: positions ``t·s + i·d`` for ``i < K``."""
        return (Ellipsis,) + tuple(slice(ti * s, ti * s + d * (k - 1) + 1, d)
                                   for ti, s, d, k in zip(t, self.stride, self.dilation, self.kernel))


def pool_windows(x: np.ndarray, nd: int, kernel_size, stride, padding, dilation, ceil_mode) -> PoolWindows:
    """Windows along each axis: ``floor((L + 2p - d(K - 1) - 1) / s) + 1`` (ceil with ceil_mode, but the last
    window must start inside the input or its left padding)."""
    if x.ndim != nd + 2:
        raise ValueError(f"{nd}-d pooling expects input of shape (N, C, {nd} spatial dims); got shape {x.shape}")
    kernel = per_axis(kernel_size, nd)
    stride = kernel if stride is None or stride == () else per_axis(stride, nd)
    dilation, padding, size = per_axis(dilation, nd), per_axis(padding, nd), x.shape[2:]
    out, pads = [], []
    for n, k, s, d, p in zip(size, kernel, stride, dilation, padding):
        span = n + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
        pads.append((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)))
    return PoolWindows(kernel, stride, dilation, padding, tuple(pads), size, tuple(out))


def replaces(candidate: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Where a later element of a window takes over as its maximum: only when strictly greater (or the first
    NaN), so of equal maxima the first in row-major window order stays ``pidx`` — torch's rule."""
    return (candidate > best) | (np.isnan(candidate) & ~np.isnan(best))


def scatter_add(target: np.ndarray, index, values) -> None:
    """``target[index] += values`` — the lecture's '+=' for overlapping windows. (Each call writes one window of
    every sample and channel, whose positions never repeat within ``index``, so a plain ``+=`` is exact.)"""
    target[index] += values


@dataclass(frozen=True)
class MaxPoolCache:
    pidx: np.ndarray  # (N, C, *out): the maximum's offset in its window, row-major
    windows: PoolWindows


def max_pool_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, nd: int):
    """``Y[t] = max(window t)``, remembering ``pidx(t)``, the maximum's offset in its window (row-major): every kernel offset in
    row-major order is compared with the maximum so far and replaces it only if greater."""
    x = np.asarray(x)
    win = pool_windows(x, nd, kernel_size, stride, padding, dilation, ceil_mode)
    x_padded = pad(x, win.pads, -np.inf)
    offsets = list(np.ndindex(*win.kernel))
    best = x_padded[at_offset(offsets[0], win.stride, win.dilation, win.out)]
    pidx = np.zeros(best.shape, dtype=np.int64)
    for k, offset in enumerate(offsets[1:], start=1):
        candidate = x_padded[at_offset(offset, win.stride, win.dilation, win.out)]
        better = replaces(candidate, best)
        best, pidx = np.where(better, candidate, best), np.where(better, k, pidx)
    return best.copy(), MaxPoolCache(pidx, win)


def max_pool_backward(dy, cache: MaxPoolCache) -> dict[str, np.ndarray]:
    """``dX[pidx(t)] += dY[t]`` for every window t — the lecture's pseudo code::

        dy(:,:,:) = zeros(D1 x W1 x H1)
        for j, x, y:  dy(l-1, j, pidx(l, j, x, y)) += dy(l, j, x, y)

    '+=' because overlapping windows can share a maximum; then the padding is cropped.
    """
    dy = np.asarray(dy)
    win = cache.windows
    dx_padded = np.zeros(dy.shape[:2] + win.padded, dtype=dy.dtype)
    samples, channels = np.indices(dy.shape[:2])
    for t in np.ndindex(*win.out):
        offset = np.unravel_index(cache.pidx[(Ellipsis,) + t], win.kernel)
        position = tuple(ti * s + i * d for ti, s, d, i in zip(t, win.stride, win.dilation, offset))
        scatter_add(dx_padded, (samples, channels) + position, dy[(Ellipsis,) + t])
    return {"x": crop(dx_padded, win.pads)}


@dataclass(frozen=True)
class MeanPoolCache:
    """Each window's index into the padded input and its divisor."""
    windows: list[tuple[tuple[int, ...], tuple]]  # (t, index of window t in the padded input)
    divisor: np.ndarray  # (*out)
    padded: tuple[int, ...]
    pads: Pads


def mean_pool_backward(dy, cache: MeanPoolCache) -> dict[str, np.ndarray]:
    """``dX[window t] += dY[t] / divisor(t)`` for every window t: each upstream gradient spread evenly over
    its window, '+=' where windows overlap; then the padding is cropped."""
    dy = np.asarray(dy)
    dx_padded = np.zeros(dy.shape[:2] + cache.padded, dtype=dy.dtype)
    for t, window in cache.windows:
        share = dy[(Ellipsis,) + t] / cache.divisor[t]
        scatter_add(dx_padded, window, share[(Ellipsis,) + (None,) * len(t)])
    return {"x": crop(dx_padded, cache.pads)}


def _mean_over_windows(x, windows, divisor, padded, pads):
    """``Y[t] = Σ(window t) / divisor(t)``."""
    y = np.empty(x.shape[:2] + divisor.shape, dtype=x.dtype)
    x_padded = pad(x, pads)
    spatial = tuple(range(2, x.ndim))
    for t, window in windows:
        y[(Ellipsis,) + t] = x_padded[window].sum(axis=spatial) / divisor[t]
    return y, MeanPoolCache(windows, divisor, padded, pads)


def avg_pool_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                     divisor_override=None, *, nd: int):
    """``Y[t] = Σ(window t) / divisor(t)``; the divisor is ``divisor_override`` if given, else the number of the
    window's elements in the input and — with count_include_pad — in its zero padding (never the part of
    ceil_mode's last window that overhangs the padding)."""
    x = np.asarray(x)
    win = pool_windows(x, nd, kernel_size, stride, padding, 1, ceil_mode)
    windows = [(t, win.window(t)) for t in np.ndindex(*win.out)]
    divisor = np.empty(win.out, dtype=x.dtype)
    for t in np.ndindex(*win.out):
        if divisor_override:
            divisor[t] = divisor_override
            continue
        counted = 1  # in padded coordinates the input is [p, p + L), input and padding [0, L + 2p)
        for ti, s, k, n, p in zip(t, win.stride, win.kernel, win.size, win.padding):
            lo, hi = (0, n + 2 * p) if count_include_pad else (p, p + n)
            counted *= max(0, min(ti * s + k, hi) - max(ti * s, lo))
        divisor[t] = counted
    return _mean_over_windows(x, windows, divisor, win.padded, win.pads)


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """The bins of an axis of length L pooled to O outputs: bin i is ``[floor(i·L / O), ceil((i + 1)·L / O))``."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_avg_pool_forward(x, output_size, *, nd: int):
    """``Y[t] = mean(bin t)``; along each axis of length L with O outputs, bin i is
    ``[floor(i·L / O), ceil((i + 1)·L / O))``. output_size 1 is global average pooling."""
    x = np.asarray(x)
    if x.ndim != nd + 2:
        raise ValueError(f"{nd}-d adaptive pooling expects input of shape (N, C, {nd} spatial dims); got {x.shape}")
    sizes = (output_size,) * nd if output_size is None or np.isscalar(output_size) else tuple(output_size)
    out = tuple(n if o is None else int(o) for n, o in zip(x.shape[2:], sizes))
    bins = [adaptive_bins(n, o) for n, o in zip(x.shape[2:], out)]
    windows = [(t, (Ellipsis,) + tuple(slice(*axis[ti]) for axis, ti in zip(bins, t))) for t in np.ndindex(*out)]
    divisor = np.empty(out, dtype=x.dtype)
    for t in np.ndindex(*out):
        divisor[t] = math.prod(hi - lo for lo, hi in (axis[ti] for axis, ti in zip(bins, t)))
    return _mean_over_windows(x, windows, divisor, x.shape[2:], ((0, 0),) * nd)


def max_pool1d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """1-d max pooling: see :func:`max_pool_forward`."""
    return max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode, nd=1)


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """2-d max pooling: see :func:`max_pool_forward`."""
    return max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode, nd=2)


def avg_pool1d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                       divisor_override=None):
    """1-d average pooling: see :func:`avg_pool_forward`."""
    return avg_pool_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd=1)


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                       divisor_override=None):
    """2-d average pooling: see :func:`avg_pool_forward`."""
    return avg_pool_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd=2)


def adaptive_avg_pool1d_forward(x, output_size):
    """1-d adaptive average pooling: see :func:`adaptive_avg_pool_forward`."""
    return adaptive_avg_pool_forward(x, output_size, nd=1)


def adaptive_avg_pool2d_forward(x, output_size):
    """2-d adaptive average pooling: see :func:`adaptive_avg_pool_forward`."""
    return adaptive_avg_pool_forward(x, output_size, nd=2)


max_pool1d_backward = max_pool2d_backward = max_pool_backward
avg_pool1d_backward = avg_pool2d_backward = mean_pool_backward
adaptive_avg_pool1d_backward = adaptive_avg_pool2d_backward = mean_pool_backward


# --- transposed convolution -------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvTransposeCache:
    x: np.ndarray
    w: np.ndarray
    has_bias: bool
    geometry: ConvGeometry  # of the convolution whose adjoint this layer is


def conv_transpose_forward(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1, *, nd: int):
    """``Y = crop(zero_upsample_s(X) (*) W) + b``: convolution's dX map, X in the place of dZ, for the convolution
    (filters ``W (C_in, C_out/groups, *K)``) of a ``(L - 1)·s - 2p + d(K - 1) + output_padding + 1`` long input."""
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != nd + 2 or w.ndim != nd + 2:
        raise ValueError(f"conv_transpose{nd}d expects x (N, C_in, {nd} dims) and w (C_in, C_out/groups, {nd} dims)")
    s, p, d = per_axis(stride, nd), per_axis(padding, nd), per_axis(dilation, nd)
    extra = per_axis(output_padding, nd)
    out = tuple((n - 1) * si - 2 * pi + di * (k - 1) + e + 1
                for n, si, pi, di, k, e in zip(x.shape[2:], s, p, d, w.shape[2:], extra))
    geo = conv_geometry((x.shape[0], w.shape[1] * groups) + out, w.shape, s, p, d, groups)
    return add_bias(input_gradient(x, w, geo), b), ConvTransposeCache(x, w, b is not None, geo)


def conv_transpose_backward(dy, cache: ConvTransposeCache) -> dict[str, np.ndarray]:
    """The adjoint's adjoint is the convolution:

    * ``dX[n, c, t] = Σ_{o,i} W[c, o, i] · pad(dY)[n, o, t·s + i·d]`` — convolution's forward;
    * ``dW[c, o, i] = Σ_{n,t} X[n, c, t] · pad(dY)[n, o, t·s + i·d]`` — convolution's filter gradient, X in
      the place of dZ and dY in the place of X;
    * ``db = Σ_{n,t} dY``.
    """
    dy = np.asarray(dy)
    geo = cache.geometry
    dy_padded = pad(dy, geo.pads)
    grads = {"x": correlate(dy_padded, cache.w, geo.stride, geo.dilation, geo.groups, count=cache.x.shape[2:]),
             "w": filter_gradient(cache.x, dy_padded, geo)}
    if cache.has_bias:
        grads["b"] = bias_gradient(dy)
    return grads


def conv_transpose1d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-d transposed convolution: see :func:`conv_transpose_forward`."""
    return conv_transpose_forward(x, w, b, stride, padding, output_padding, groups, dilation, nd=1)


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-d transposed convolution: see :func:`conv_transpose_forward`."""
    return conv_transpose_forward(x, w, b, stride, padding, output_padding, groups, dilation, nd=2)


conv_transpose1d_backward = conv_transpose2d_backward = conv_transpose_backward


# --- zero-insertion upsampling and decimation -------------------------------------------------------

@dataclass(frozen=True)
class ResampleCache:
    factor: tuple[int, ...]
    size: tuple[int, ...]  # the input's spatial size


def upsample_forward(x, factor, *, nd: int):
    """``Y[f·t] = X[t]``, zeros between: ``(L - 1)·f + 1`` samples per axis."""
    x = np.asarray(x)
    factor = per_axis(factor, nd)
    return zero_upsample(x, factor), ResampleCache(factor, x.shape[2:])


def upsample_backward(dy, cache: ResampleCache) -> dict[str, np.ndarray]:
    """``dX[t] = dY[f·t]``: decimation, the adjoint — the inserted zeros receive nothing back."""
    dy = np.asarray(dy)
    return {"x": dy[(Ellipsis,) + tuple(slice(None, None, f) for f in cache.factor)].copy()}


def downsample_forward(x, factor, *, nd: int):
    """``Y[t] = X[f·t]``: every f-th sample, ``ceil(L / f)`` per axis."""
    x = np.asarray(x)
    factor = per_axis(factor, nd)
    return x[(Ellipsis,) + tuple(slice(None, None, f) for f in factor)].copy(), ResampleCache(factor, x.shape[2:])


def downsample_backward(dy, cache: ResampleCache) -> dict[str, np.ndarray]:
    """``dX[f·t] = dY[t]``, zero elsewhere: zero insertion back to the input's size, the adjoint."""
    dy = np.asarray(dy)
    dx = np.zeros(dy.shape[:2] + tuple(cache.size), dtype=dy.dtype)
    dx[(Ellipsis,) + tuple(slice(None, None, f) for f in cache.factor)] = dy
    return {"x": dx}


def upsample1d_forward(x, factor):
    """1-d zero-insertion upsampling: see :func:`upsample_forward`."""
    return upsample_forward(x, factor, nd=1)


def upsample2d_forward(x, factor):
    """2-d zero-insertion upsampling: see :func:`upsample_forward`."""
    return upsample_forward(x, factor, nd=2)


def downsample1d_forward(x, factor):
    """1-d decimation: see :func:`downsample_forward`."""
    return downsample_forward(x, factor, nd=1)


def downsample2d_forward(x, factor):
    """2-d decimation: see :func:`downsample_forward`."""
    return downsample_forward(x, factor, nd=2)


upsample1d_backward = upsample2d_backward = upsample_backward
downsample1d_backward = downsample2d_backward = downsample_backward


# --- interpolation ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InterpolateCache:
    matrices: tuple[np.ndarray, ...]  # A_i (out_i, in_i), one per spatial axis


def along_each_axis(x: np.ndarray, matrices) -> np.ndarray:
    """``x ×_1 A_1 ×_2 A_2 ...``: spatial axis i mapped by the matrix A_i (``Y = A_h X A_wᵀ`` in 2-d)."""
    for axis, a in enumerate(matrices, start=2):
        x = np.moveaxis(np.tensordot(a.astype(x.dtype), x, axes=(1, axis)), 0, axis)
    return x


def interpolate_forward(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                        recompute_scale_factor=None):
    """``Y = X ×_1 A_1 ×_2 A_2``: each output sample a weighted sum of input samples along each axis (nearest:
    one weight 1; linear: 1 - λ and λ on the two neighbours), the matrices by torch's rule (``axis_matrix``).
    The output size is ``size``, or ``floor(L · scale_factor)``; the scale is ``1 / scale_factor``, or
    ``L / out`` with ``size`` or recompute_scale_factor."""
    x = np.asarray(x)
    nd = x.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError("give exactly one of size and scale_factor")
    if size is not None:
        out, factors = ((size,) * nd if np.isscalar(size) else tuple(size)), (None,) * nd
    else:
        factors = (scale_factor,) * nd if np.isscalar(scale_factor) else tuple(scale_factor)
        out = tuple(math.floor(n * f) for n, f in zip(x.shape[2:], factors))
        if recompute_scale_factor:
            factors = (None,) * nd
    matrices = tuple(axis_matrix(n, o, mode, bool(align_corners), f, x.dtype)
                     for n, o, f in zip(x.shape[2:], out, factors))
    return along_each_axis(x, matrices), InterpolateCache(matrices)


def interpolate_backward(dy, cache: InterpolateCache) -> dict[str, np.ndarray]:
    """``dX = dY ×_1 A_1ᵀ ×_2 A_2ᵀ`` (``A_hᵀ dY A_w`` in 2-d): every input sample collects the gradient of each
    output it contributed to, times its weight."""
    return {"x": along_each_axis(np.asarray(dy), tuple(a.T for a in cache.matrices))}


# --- depthwise and separable convolution ------------------------------------------------------------

@dataclass(frozen=True)
class DepthwiseCache:
    x_padded: np.ndarray
    w: np.ndarray
    has_bias: bool
    geometry: ConvGeometry


def depthwise_conv_forward(x, w, b=None, stride=1, padding=0, dilation=1, *, nd: int):
    """``Z[n, o, t] = b[o] + Σ_i W[o, 0, i] · Xpad[n, o // m, t·s + i·d]``: one K×K filter per output channel,
    each reading one input channel; with channel multiplier m, output channels ``c·m ... c·m + m - 1`` read
    input channel c. Parameters I·m·K·K instead of a full convolution's I·O·K·K."""
    x, w = np.asarray(x), np.asarray(w)
    if w.ndim != nd + 2 or x.ndim != nd + 2 or w.shape[1] != 1 or w.shape[0] % x.shape[1]:
        raise ValueError(f"depthwise_conv{nd}d expects x (N, C, {nd} dims) and w (m*C, 1, {nd} dims); got {x.shape}, {w.shape}")
    geo = conv_geometry(x.shape, w.shape, stride, padding, dilation, x.shape[1])
    m = w.shape[0] // x.shape[1]
    x_padded = pad(x, geo.pads)
    out = tuple(windows_along(n, k, s, d) for n, k, s, d in zip(geo.padded, geo.kernel, geo.stride, geo.dilation))
    z = np.zeros((x.shape[0], w.shape[0]) + out, dtype=np.result_type(x, w))
    for o in range(w.shape[0]):
        for i in np.ndindex(*geo.kernel):
            z[:, o] += w[(o, 0) + i] * x_padded[:, o // m][at_offset(i, geo.stride, geo.dilation, out)]
    return add_bias(z, b), DepthwiseCache(x_padded, w, b is not None, geo)


def depthwise_conv_backward(dz, cache: DepthwiseCache) -> dict[str, np.ndarray]:
    """Channel by channel, the convolution's backward:

    * ``dX[:, c] = crop(Σ_{o: o // m = c} zero_upsample_s(dZ[:, o]) (*) W[o, 0])`` — the full convolution of
      each upsampled output channel with its flipped filter, summed over the m outputs of input channel c;
    * ``dW[o, 0, i] = Σ_{n,t} dZ[n, o, t] · Xpad[n, o // m, t·s + i·d]``;
    * ``db[o] = Σ_{n,t} dZ[n, o, t]``.
    """
    dz = np.asarray(dz)
    geo, w, x_padded = cache.geometry, cache.w, cache.x_padded
    m = w.shape[0] // x_padded.shape[1]
    full = pad(zero_upsample(dz, geo.stride), tuple((d * (k - 1),) * 2 for k, d in zip(geo.kernel, geo.dilation)))
    # positions a window of the full correlation starts at; those past the last one get nothing
    reached = tuple(n - d * (k - 1) for n, k, d in zip(full.shape[2:], geo.kernel, geo.dilation))
    flipped = flip(w)
    dx_padded = np.zeros(x_padded.shape, dtype=np.result_type(dz, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dz, x_padded))
    unit = (1,) * len(geo.kernel)
    for o in range(w.shape[0]):
        c = o // m
        for i in np.ndindex(*geo.kernel):
            dx_padded[(slice(None), c) + tuple(slice(0, r) for r in reached)] += (
                flipped[(o, 0) + i] * full[:, o][at_offset(i, unit, geo.dilation, reached)])
            dw[(o, 0) + i] = np.sum(dz[:, o] * x_padded[:, c][at_offset(i, geo.stride, geo.dilation, dz.shape[2:])])
    grads = {"x": crop(dx_padded, geo.pads), "w": dw}
    if cache.has_bias:
        grads["b"] = bias_gradient(dz)
    return grads


@dataclass(frozen=True)
class SeparableCache:
    depthwise: DepthwiseCache
    pointwise: ConvCache


def separable_conv_forward(x, w_dw, w_pw, b_dw=None, b_pw=None, stride=1, padding=0, dilation=1, *, nd: int):
    """Depthwise K×K (``w_dw (m·C, 1, *K)``), then pointwise 1×1 (``w_pw (O, m·C, 1, ...)``) mixing the channels:
    parameters I·K·K + I·O instead of I·O·K·K (multiplier 1; I·m·K·K + I·m·O with multiplier m)."""
    w_pw = np.asarray(w_pw)
    if w_pw.ndim != nd + 2 or w_pw.shape[2:] != (1,) * nd:
        raise ValueError(f"pointwise filters must have shape (C_out, C_mid, {', '.join(['1'] * nd)}); got {w_pw.shape}")
    z, depthwise = depthwise_conv_forward(x, w_dw, b_dw, stride, padding, dilation, nd=nd)
    y, pointwise = conv_forward(z, w_pw, b_pw, nd=nd)
    return y, SeparableCache(depthwise, pointwise)


def separable_conv_backward(dy, cache: SeparableCache) -> dict[str, np.ndarray]:
    """The chain rule through the two convolutions: ``(dZ, dW_pw, db_pw)`` = the pointwise convolution's backward
    of dY, then ``(dX, dW_dw, db_dw)`` = the depthwise convolution's backward of dZ."""
    pointwise = conv_backward(dy, cache.pointwise)
    depthwise = depthwise_conv_backward(pointwise["x"], cache.depthwise)
    grads = {"x": depthwise["x"], "w_dw": depthwise["w"], "w_pw": pointwise["w"]}
    grads.update({f"b_{k}": g["b"] for k, g in (("dw", depthwise), ("pw", pointwise)) if "b" in g})
    return grads


def depthwise_conv1d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    """1-d depthwise convolution: see :func:`depthwise_conv_forward`."""
    return depthwise_conv_forward(x, w, b, stride, padding, dilation, nd=1)


def depthwise_conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    """2-d depthwise convolution: see :func:`depthwise_conv_forward`."""
    return depthwise_conv_forward(x, w, b, stride, padding, dilation, nd=2)


def separable_conv1d_forward(x, w_dw, w_pw, b_dw=None, b_pw=None, stride=1, padding=0, dilation=1):
    """1-d depthwise-separable block: see :func:`separable_conv_forward`."""
    return separable_conv_forward(x, w_dw, w_pw, b_dw, b_pw, stride, padding, dilation, nd=1)


def separable_conv2d_forward(x, w_dw, w_pw, b_dw=None, b_pw=None, stride=1, padding=0, dilation=1):
    """2-d depthwise-separable block: see :func:`separable_conv_forward`."""
    return separable_conv_forward(x, w_dw, w_pw, b_dw, b_pw, stride, padding, dilation, nd=2)


depthwise_conv1d_backward = depthwise_conv2d_backward = depthwise_conv_backward
separable_conv1d_backward = separable_conv2d_backward = separable_conv_backward


# --- transform-invariant layers ---------------------------------------------------------------------

Element = tuple[int, int]  # g = (r, m): mirror left-right if m, then rotate by r quarter turns counter-clockwise

# the finite groups of filter transforms, their elements in the order of the transform axis
GROUPS: dict[str, tuple[Element, ...]] = {
    "p4": ((0, 0), (1, 0), (2, 0), (3, 0)),  # rotations by 0, 90, 180, 270°
    "p4m": ((0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (1, 1), (2, 1), (3, 1)),  # the rotations, then mirrored ones
    "reflect": ((0, 0), (0, 1)),  # the identity and the left-right mirror
}


def mirror(a: np.ndarray) -> np.ndarray:
    """The filter reflected left-right: its last axis reversed (its own inverse)."""
    return np.flip(a, axis=-1)


def quarter_turn(a: np.ndarray, turns: int) -> np.ndarray:
    """The filter rotated by ``turns`` · 90° in its last two axes, counter-clockwise (clockwise for turns < 0)."""
    return np.rot90(a, turns, axes=(-2, -1))


def transform(a: np.ndarray, g: Element) -> np.ndarray:
    """``T_g a = rot^r(mirror^m(a))``: mirror left-right if m, then r quarter turns."""
    r, m = g
    return quarter_turn(mirror(a) if m else a, r)


def inverse_transform(a: np.ndarray, g: Element) -> np.ndarray:
    """``T_g⁻¹ a = mirror^m(rot^-r(a))``: the steps of T_g undone in reverse order — r quarter turns back, then
    the mirror again (T_g only moves filter entries, so T_g⁻¹ = T_gᵀ)."""
    r, m = g
    a = quarter_turn(a, -r)
    return mirror(a) if m else a


def group_table(group: str) -> list[list[int]]:
    """``[g][h]`` = the index of g⁻¹h: the element k with ``T_g T_k = T_h``, found by trying every k on a filter
    with no symmetry (each element moves it differently), not by group algebra."""
    elements = GROUPS[group]
    probe = np.arange(9.0).reshape(3, 3)
    return [[next(k for k, e in enumerate(elements) if np.array_equal(transform(transform(probe, e), g), transform(probe, h)))
             for h in elements] for g in elements]


@dataclass(frozen=True)
class TransformConvCache:
    conv: ConvCache
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    group: str
    has_bias: bool


def transform_conv_forward(x, w, b=None, stride=1, padding=0, dilation=1, group="p4", *, lifting: bool):
    """``Z[n, o, g] = conv(X, T_g W[o])``: "the moving filter is a composite function of shifting and
    transformation", so every filter yields one map per transform g — a convolution with the bank of
    transformed filters. Lifting: x (N, C, H, W), w (O, C, k, k). Group convolution: x (N, C, |G|, H, W),
    w (O, C, |G|, k, k), and T_g also permutes the transform axis: slot h of filter g is ``T_g W[o, :, g⁻¹h]``."""
    x, w = np.asarray(x), np.asarray(w)
    if group not in GROUPS:
        raise ValueError(f"group must be one of {sorted(GROUPS)}, got {group!r}")
    if any(r % 2 for r, _ in GROUPS[group]) and w.shape[-1] != w.shape[-2]:
        raise ValueError(f"group {group!r} rotates filters by 90°, which needs square kernels; got {w.shape[-2:]}")
    elements, g_inverse_h = GROUPS[group], group_table(group)
    bank = np.stack([transform(w if lifting else w[:, :, g_inverse_h[j]], g) for j, g in enumerate(elements)], axis=1)
    bank = bank.reshape((w.shape[0] * len(elements), -1) + w.shape[-2:])  # (O·|G|, C[·|G|], k, k)
    z, conv = conv_forward(x.reshape(x.shape[:1] + (-1,) + x.shape[-2:]), bank, None, stride, padding, dilation, nd=2)
    z = z.reshape((x.shape[0], w.shape[0], len(elements)) + z.shape[2:])
    return add_bias(z, b), TransformConvCache(conv, x.shape, w.shape, group, b is not None)


def transform_conv_backward(dz, cache: TransformConvCache) -> dict[str, np.ndarray]:
    """Through the bank of transformed filters: dX and every ``dW_g`` are the convolution's backward, and since
    each ``T_g`` only moves filter entries, ``dW = Σ_g T_g⁻¹(dW_g)`` (group convolution: slot h of ``dW_g``
    goes back to transform channel g⁻¹h); ``db[o] = Σ_{n,g,t} dZ[n, o, g, t]``."""
    dz = np.asarray(dz)
    grads = conv_backward(dz.reshape((dz.shape[0], -1) + dz.shape[3:]), cache.conv)
    elements, g_inverse_h = GROUPS[cache.group], group_table(cache.group)
    per_transform = grads["w"].reshape((cache.w_shape[0], len(elements)) + cache.w_shape[1:])
    dw = np.zeros(cache.w_shape, dtype=per_transform.dtype)
    for j, g in enumerate(elements):
        if len(cache.w_shape) == 4:
            dw += inverse_transform(per_transform[:, j], g)
        else:
            dw[:, :, g_inverse_h[j]] += inverse_transform(per_transform[:, j], g)
    out = {"x": grads["x"].reshape(cache.x_shape), "w": dw}
    if cache.has_bias:
        out["b"] = dz.sum(axis=(0, 2, 3, 4))
    return out


@dataclass(frozen=True)
class TransformPoolCache:
    mode: str
    pidx: np.ndarray | None  # max: (N, C, H, W), the transform holding each maximum
    order: int  # |G|


def transform_max_pool_forward(x):
    """``Y[n, c] = max_g X[n, c, g]``, remembering ``pidx``, the first transform holding the maximum: the
    features become invariant to every transform considered."""
    x = np.asarray(x)
    if x.ndim != 5:
        raise ValueError(f"expects maps with a transform axis (N, C, |G|, H, W); got shape {x.shape}")
    best, pidx = x[:, :, 0], np.zeros(x.shape[:2] + x.shape[3:], dtype=np.int64)
    for g in range(1, x.shape[2]):
        better = replaces(x[:, :, g], best)
        best, pidx = np.where(better, x[:, :, g], best), np.where(better, g, pidx)
    return best.copy(), TransformPoolCache("max", pidx, x.shape[2])


def transform_avg_pool_forward(x):
    """``Y[n, c] = (1 / |G|) Σ_g X[n, c, g]``."""
    x = np.asarray(x)
    if x.ndim != 5:
        raise ValueError(f"expects maps with a transform axis (N, C, |G|, H, W); got shape {x.shape}")
    return x.sum(axis=2) / x.shape[2], TransformPoolCache("mean", None, x.shape[2])


def transform_pool_backward(dy, cache: TransformPoolCache) -> dict[str, np.ndarray]:
    """max: ``dX[n, c, pidx] += dY[n, c]`` (max pooling's routing, over the transform axis);
    mean: ``dX[n, c, g] = dY[n, c] / |G|``."""
    dy = np.asarray(dy)
    dx = np.zeros(dy.shape[:2] + (cache.order,) + dy.shape[2:], dtype=dy.dtype)
    for g in range(cache.order):
        dx[:, :, g] += np.where(cache.pidx == g, dy, 0) if cache.mode == "max" else dy / cache.order
    return {"x": dx}


def transform_lifting_conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, group="p4"):
    """Lifting convolution: see :func:`transform_conv_forward`."""
    return transform_conv_forward(x, w, b, stride, padding, dilation, group, lifting=True)


def transform_group_conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, group="p4"):
    """Group convolution: see :func:`transform_conv_forward`."""
    return transform_conv_forward(x, w, b, stride, padding, dilation, group, lifting=False)


transform_lifting_conv2d_backward = transform_group_conv2d_backward = transform_conv_backward
transform_max_pool_backward = transform_avg_pool_backward = transform_pool_backward
