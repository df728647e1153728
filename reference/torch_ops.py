"""Torch mirrors of the ``manual_grads`` forwards, and one generic autograd VJP.

A mirror only states the forward in torch, with the same signature as the
NumPy op; :func:`autograd_vjp` turns any mirror into (output, gradients) for a
given upstream gradient through ``torch.autograd``. No backward is hand-written
on this side.

torch is imported on first use, not when this module is: the family files
hold their mirrors by reference (``OpSpec(torch_mirror=torch_ops.conv2d)``),
and grading from golden fixtures must work where torch is not installed.
"""
from __future__ import annotations

from typing import Callable, Mapping

import functools
import importlib
import warnings

import numpy as np

# torch's performance note for padding='same' with even kernels; irrelevant to correctness
warnings.filterwarnings("ignore", message="Using padding='same'", category=UserWarning)


class _OnFirstUse:
    """A module imported when one of its attributes is first used (``torch``, ``torch.nn.functional``)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


torch = _OnFirstUse("torch")
F = _OnFirstUse("torch.nn.functional")


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv3d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv3d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)


def relu(x):
    return F.relu(x)


def leaky_relu(x, negative_slope=0.01):
    return F.leaky_relu(x, negative_slope)


def sigmoid(x):
    return torch.sigmoid(x)


def tanh(x):
    return torch.tanh(x)


def softplus(x, beta=1.0, threshold=20.0):
    return F.softplus(x, beta=beta, threshold=threshold)


def elu(x, alpha=1.0):
    return F.elu(x, alpha=alpha)


def gelu(x, approximate="none"):
    return F.gelu(x, approximate=approximate)


def autograd_vjp(
    forward: Callable[..., torch.Tensor],
    arrays: Mapping[str, np.ndarray | None],
    config: Mapping,
    upstream: Callable[[tuple[int, ...]], np.ndarray],
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Run ``forward(**arrays, **config)`` in torch and back-propagate an upstream gradient.

    ``upstream(shape)`` makes the upstream gradient once the output shape is
    known. Returns ``(output, {name: gradient}, upstream gradient)`` as NumPy
    arrays; an input the output does not depend on gets a zero gradient.
    """
    tensors = {
        name: None if a is None else torch.from_numpy(np.array(a, copy=True)).requires_grad_(a.dtype.kind == "f")
        for name, a in arrays.items()
    }
    out = forward(**tensors, **config)
    dy = np.asarray(upstream(tuple(out.shape)), dtype=arrays_dtype(arrays))
    out.backward(torch.from_numpy(dy.copy()))
    grads = {
        name: (t.grad if t.grad is not None else torch.zeros_like(t)).numpy()
        for name, t in tensors.items()
        if t is not None and t.requires_grad
    }
    return out.detach().numpy(), grads, dy


def arrays_dtype(arrays: Mapping[str, np.ndarray | None]) -> np.dtype:
    """The floating dtype of a case's arrays (they share one)."""
    return next(a.dtype for a in arrays.values() if a is not None and a.dtype.kind == "f")


# --- pooling ---------------------------------------------------------------------------
def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return F.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return F.avg_pool1d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    return F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def adaptive_avg_pool1d(x, output_size):
    return F.adaptive_avg_pool1d(x, output_size)


def adaptive_avg_pool2d(x, output_size):
    return F.adaptive_avg_pool2d(x, output_size)


# --- upsampling ------------------------------------------------------------------------
def conv_transpose1d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return F.conv_transpose1d(x, w, b, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)


def _factors(x, factor):
    nd = x.dim() - 2
    return (factor,) * nd if isinstance(factor, int) else tuple(factor)


def _upsample(x, factor):
    """Zero insertion, composed from a zeros tensor and a strided slice assignment (autograd-tracked)."""
    f = _factors(x, factor)
    out = x.new_zeros(tuple(x.shape[:2]) + tuple((n - 1) * k + 1 for n, k in zip(x.shape[2:], f)))
    out[(Ellipsis,) + tuple(slice(None, None, k) for k in f)] = x
    return out


def _downsample(x, factor):
    return x[(Ellipsis,) + tuple(slice(None, None, k) for k in _factors(x, factor))]


upsample1d = upsample2d = _upsample
downsample1d = downsample2d = _downsample


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
    return F.interpolate(x, size, scale_factor, mode, align_corners, recompute_scale_factor)


# --- depthwise -------------------------------------------------------------------------
def _depthwise(x, w, b=None, stride=1, padding=0, dilation=1):
    conv = F.conv1d if x.dim() == 3 else F.conv2d
    return conv(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=x.shape[1])


def _separable(x, w_dw, w_pw, b_dw=None, b_pw=None, stride=1, padding=0, dilation=1):
    conv = F.conv1d if x.dim() == 3 else F.conv2d
    return conv(_depthwise(x, w_dw, b_dw, stride, padding, dilation), w_pw, b_pw)


depthwise_conv1d = depthwise_conv2d = _depthwise
separable_conv1d = separable_conv2d = _separable


# --- transform-invariant convolution ----------------------------------------------------
# An independent statement of the groups: elements (quarter turns, mirror), applied with
# torch.flip then torch.rot90; g⁻¹h found by search, not by group algebra.
TRANSFORM_GROUPS = {
    "p4": [(r, 0) for r in range(4)],
    "p4m": [(r, m) for m in (0, 1) for r in range(4)],
    "reflect": [(0, 0), (0, 1)],
}


def _apply(a, g):
    r, m = g
    return torch.rot90(torch.flip(a, (-1,)) if m else a, r, (-2, -1))


@functools.lru_cache(maxsize=None)
def _g_inverse_h(group):
    """perm[g][h] = k such that T_g(T_k(probe)) = T_h(probe), i.e. k = g⁻¹h."""
    els = TRANSFORM_GROUPS[group]
    probe = torch.arange(9.0).reshape(3, 3)
    return [[next(k for k, e in enumerate(els) if torch.equal(_apply(_apply(probe, e), g), _apply(probe, h)))
             for h in els] for g in els]


def _transform_conv(x, bank, b, stride, padding, dilation, n_out, order):
    z = F.conv2d(x, bank, None, stride, padding, dilation).unflatten(1, (n_out, order))
    return z if b is None else z + b[None, :, None, None, None]


def transform_lifting_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, group="p4"):
    els = TRANSFORM_GROUPS[group]
    bank = torch.stack([_apply(w, g) for g in els], 1).flatten(0, 1)
    return _transform_conv(x, bank, b, stride, padding, dilation, w.shape[0], len(els))


def transform_group_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, group="p4"):
    els, perm = TRANSFORM_GROUPS[group], _g_inverse_h(group)
    bank = torch.stack([_apply(w[:, :, perm[i]], g) for i, g in enumerate(els)], 1).flatten(0, 1).flatten(1, 2)
    return _transform_conv(x.flatten(1, 2), bank, b, stride, padding, dilation, w.shape[0], len(els))


def transform_max_pool(x):
    return x.max(dim=2).values


def transform_avg_pool(x):
    return x.mean(dim=2)
