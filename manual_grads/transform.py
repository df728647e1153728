"""Transform-invariant convolution (lecture, "Transform Invariance").

A scanning filter is a composite of a shift and a transformation T_g from a
finite group G of rotations by 90° and reflections. Each filter then yields one
map per transform, and pooling over the transform axis makes the features
invariant to G.

* Lifting convolution, x (N, C, H, W), w (O, C, k, k):
      Z[n, o, g] = conv(x, T_g w[o])                              -> (N, O, |G|, H', W')
* Group convolution on maps that already carry a transform axis, x (N, C, |G|, H, W),
  w (O, C, |G|, k, k): the transform also permutes that axis,
      Z[n, o, g] = sum_{c,h} conv(x[n, c, h], T_g w[o, c, g⁻¹h])
* Pooling over transforms: max (gradient to the arg-max transform, first wins
  on ties) or mean over the transform axis.

Both convolutions are an ordinary convolution with a *bank* of transformed
filters, so the input gradient is conv2d's backward, and since every T_g only
permutes filter entries (Tᵀ = T⁻¹), the filter gradient is

      dW = Σ_g T_g⁻¹(dW_g)          (with the transform axis permuted back for group convolution)

Groups: ``p4`` (rotations by 0, 90, 180, 270°), ``p4m`` (rotations and
reflections, 8 elements), ``reflect`` (identity and the left-right mirror).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import prod

import numpy as np

from ._api import specialise
from .conv import ConvCache, add_bias, conv_backward, conv_forward
from .pooling import avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "transform_avg_pool_backward",
    "transform_avg_pool_forward",
    "transform_group_conv2d_backward",
    "transform_group_conv2d_forward",
    "transform_lifting_conv2d_backward",
    "transform_lifting_conv2d_forward",
    "transform_max_pool_backward",
    "transform_max_pool_forward",
]

Element = tuple[int, int]  # (quarter turns r, mirror m): mirror left-right if m, then rotate by r * 90°

GROUPS: dict[str, tuple[Element, ...]] = {
    "p4": tuple((r, 0) for r in range(4)),
    "p4m": tuple((r, m) for m in (0, 1) for r in range(4)),
    "reflect": ((0, 0), (0, 1)),
}


def transform(a: np.ndarray, g: Element) -> np.ndarray:
    """T_g applied to the last two axes: mirror left-right if m, then rotate counter-clockwise r quarter turns."""
    r, m = g
    return np.rot90(a[..., ::-1] if m else a, r, axes=(-2, -1))


def inverse_transform(a: np.ndarray, g: Element) -> np.ndarray:
    """T_g⁻¹: undo the rotation, then the mirror."""
    r, m = g
    a = np.rot90(a, -r, axes=(-2, -1))
    return a[..., ::-1] if m else a


@lru_cache(maxsize=None)
def cayley(group: str) -> tuple[np.ndarray, np.ndarray]:
    """(table, inverse): table[g, h] = index of g∘h (found by applying the transforms), inverse[g] = index of g⁻¹."""
    elements = GROUPS[group]
    probe = np.arange(9.0).reshape(3, 3)  # no symmetry: every element moves it differently
    images = [transform(probe, g) for g in elements]

    def index(a):
        return next(i for i, im in enumerate(images) if np.array_equal(im, a))

    table = np.array([[index(transform(transform(probe, h), g)) for h in elements] for g in elements])
    identity = index(probe)
    inverse = np.array([int(np.flatnonzero(row == identity)[0]) for row in table])  # g∘g⁻¹ = e
    return table, inverse


def _elements(group: str, kernel: tuple[int, ...]) -> tuple[Element, ...]:
    if group not in GROUPS:
        raise ValueError(f"group must be one of {sorted(GROUPS)}, got {group!r}")
    if any(r % 2 for r, _ in GROUPS[group]) and kernel[0] != kernel[1]:
        raise ValueError(f"group {group!r} rotates filters by 90°, which needs square kernels; got {kernel}")
    return GROUPS[group]


def axis_permutations(group: str) -> np.ndarray:
    """perm[g, h] = index of g⁻¹h: which input transform channel feeds slot h of output transform g."""
    table, inverse = cayley(group)
    return table[inverse]


def filter_bank(w: np.ndarray, group: str) -> np.ndarray:
    """Bank (O·|G|, C[·|G|], k, k): lifting T_g w[o]; group conv T_g w[o, :, g⁻¹h]."""
    elements = _elements(group, w.shape[-2:])
    perms = axis_permutations(group)
    lifting = w.ndim == 4
    bank = np.stack([transform(w if lifting else w[:, :, perms[i]], g) for i, g in enumerate(elements)], axis=1)
    return bank.reshape((w.shape[0] * len(elements), -1) + w.shape[-2:])


def filter_bank_grad(dbank: np.ndarray, w_shape: tuple[int, ...], group: str) -> np.ndarray:
    """dW = Σ_g T_g⁻¹(dW_g), each slot h of group-conv filter g returned to transform channel g⁻¹h."""
    elements = GROUPS[group]
    perms = axis_permutations(group)
    per_element = dbank.reshape((w_shape[0], len(elements)) + w_shape[1:])
    dw = np.zeros(w_shape, dtype=dbank.dtype)
    for i, g in enumerate(elements):
        back = inverse_transform(per_element[:, i], g)
        if len(w_shape) == 4:
            dw += back
        else:
            dw[:, :, perms[i]] += back  # perms[i] is a permutation: no index repeats
    return dw


@dataclass(frozen=True)
class TransformConvCache:
    conv: ConvCache
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    group: str
    has_bias: bool


def transform_conv_forward(x, w, b=None, stride=1, padding=0, dilation=1, group="p4", *, lifting: bool):
    """Lifting (x, w 4-d) or group (x, w 5-d) convolution; output (N, O, |G|, H', W')."""
    x, w = np.asarray(x), np.asarray(w)
    rank = 4 if lifting else 5
    if w.ndim != rank or x.ndim != rank or (not lifting and (x.shape[2] != len(GROUPS.get(group, ())) or w.shape[2] != x.shape[2])):
        raise ValueError(
            f"expects lifting x (N, C, H, W), w (O, C, k, k) or group x (N, C, |G|, H, W), w (O, C, |G|, k, k) "
            f"with |G| = order of {group!r}; got x {x.shape}, w {w.shape}"
        )
    bank = filter_bank(w, group)
    z, conv_cache = conv_forward(x.reshape((x.shape[0], prod(x.shape[1:-2])) + x.shape[-2:]), bank, None, stride, padding, dilation)
    z = z.reshape((x.shape[0], w.shape[0], len(GROUPS[group])) + z.shape[2:])
    return add_bias(z, b), TransformConvCache(conv_cache, x.shape, w.shape, group, b is not None)


def transform_conv_backward(dz, cache: TransformConvCache) -> dict[str, np.ndarray]:
    """dX: conv2d's input gradient through the bank; dW = Σ_g T_g⁻¹(dW_g); db = Σ_{n,g,space} dZ."""
    dz = np.asarray(dz)
    flat = dz.reshape((dz.shape[0], prod(dz.shape[1:3])) + dz.shape[3:])
    grads = conv_backward(flat, cache.conv)
    out = {"x": grads["x"].reshape(cache.x_shape), "w": filter_bank_grad(grads["w"], cache.w_shape, cache.group)}
    if cache.has_bias:
        out["b"] = dz.sum(axis=(0, 2, 3, 4))
    return out


@dataclass(frozen=True)
class TransformPoolCache:
    pool: object
    shape: tuple[int, ...]
    backward: object


def _over_transforms(x: np.ndarray, forward, **options):
    """Pool x (N, C, G, H, W) over G by running 1-d pooling of window G along a trailing axis."""
    n, c, g, h, w = x.shape
    lined = np.ascontiguousarray(np.moveaxis(x, 2, -1)).reshape(n, c * h * w, g)
    y, cache = forward(lined, g, **options, nd=1)
    return y.reshape(n, c, h, w), cache


def transform_pool_forward(x, mode="max"):
    """Y[n, c] = max_g or mean_g of X[n, c, g] — invariance by pooling over the transform axis."""
    x = np.asarray(x)
    if x.ndim != 5:
        raise ValueError(f"expects maps with a transform axis (N, C, |G|, H, W); got shape {x.shape}")
    if mode not in ("max", "mean"):
        raise ValueError(f"mode must be 'max' or 'mean', got {mode!r}")
    forward, backward = (max_pool_forward, max_pool_backward) if mode == "max" else (avg_pool_forward, avg_pool_backward)
    y, cache = _over_transforms(x, forward)
    return y, TransformPoolCache(cache, x.shape, backward)


def transform_pool_backward(dy, cache: TransformPoolCache) -> dict[str, np.ndarray]:
    """max: dX[arg-max transform] += dY (max pooling's routing); mean: dX[g] = dY / |G|."""
    n, c, g, h, w = cache.shape
    dx = cache.backward(np.asarray(dy).reshape(n, c * h * w, 1), cache.pool)["x"]
    return {"x": np.moveaxis(dx.reshape(n, c, h, w, g), -1, 2)}


transform_lifting_conv2d_forward = specialise(transform_conv_forward, "transform_lifting_conv2d", lifting=True)
transform_group_conv2d_forward = specialise(transform_conv_forward, "transform_group_conv2d", lifting=False)
transform_max_pool_forward = specialise(transform_pool_forward, "transform_max_pool", mode="max")
transform_avg_pool_forward = specialise(transform_pool_forward, "transform_avg_pool", mode="mean")
transform_lifting_conv2d_backward = transform_group_conv2d_backward = transform_conv_backward
transform_max_pool_backward = transform_avg_pool_backward = transform_pool_backward
