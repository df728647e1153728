"""Oracles independent of torch: central finite differences and the adjoint (dot-product) identity.

All work in float64 on any forward ``f(**arrays, **config) -> array``, so they
also check ops that torch has no single function for.

* :func:`numeric_gradients` — every element's central difference of <dY, f>:
  every element (small shapes only), one pair of forward passes per input element;
* :func:`directional_derivative` — the randomized check  uᵀ(Jᵀ dY) = d/dt <dY, f(x + t u)>,
  two forward passes whatever the size;
* :func:`adjoint_gap` — for an op linear (or affine) in one input,
  <A x, y> = <x, Aᵀ y>: a gradient that is not the exact transpose shows.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

EPS = 1e-6  # central differences: truncation O(EPS^2), rounding O(1e-16 / EPS)


def _objective(f: Callable, arrays: Mapping, config: Mapping, dy: np.ndarray) -> Callable[[dict], float]:
    return lambda changed: float(np.vdot(dy, f(**{**arrays, **changed}, **config)))


def numeric_gradients(f: Callable, arrays: Mapping[str, np.ndarray | None], config: Mapping, dy: np.ndarray,
                      names, eps: float = EPS) -> dict[str, np.ndarray]:
    """Central-difference gradient of <dY, f(arrays)> w.r.t. each input in ``names``."""
    objective = _objective(f, arrays, config, dy)
    grads = {}
    for name in names:
        base = np.asarray(arrays[name], dtype=np.float64)
        grad = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[i] += eps
            minus[i] -= eps
            grad[i] = (objective({name: plus}) - objective({name: minus})) / (2 * eps)
        grads[name] = grad
    return grads


def directional_derivative(f: Callable, arrays: Mapping[str, np.ndarray | None], config: Mapping, dy: np.ndarray,
                           direction: Mapping[str, np.ndarray], eps: float = EPS) -> float:
    """d/dt <dY, f(x + t u)> at t = 0, by a central difference along the direction u."""
    objective = _objective(f, arrays, config, dy)
    step = lambda t: {k: arrays[k] + t * u for k, u in direction.items()}  # noqa: E731
    return (objective(step(eps)) - objective(step(-eps))) / (2 * eps)


def adjoint_gap(f: Callable, arrays: Mapping[str, np.ndarray | None], config: Mapping, name: str,
                transpose: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator) -> tuple[float, float]:
    """(<A x, y>, <x, Aᵀ y>) for A = the linear part of f in ``name`` (f(x) - f(0)), random x and y."""
    x = rng.standard_normal(np.shape(arrays[name]))
    zero = f(**{**arrays, name: np.zeros_like(x)}, **config)
    ax = f(**{**arrays, name: x}, **config) - zero
    y = rng.standard_normal(ax.shape)
    return float(np.vdot(ax, y)), float(np.vdot(x, transpose(y)))
