"""Point-wise activations. Backward (lecture): dX = dY * f'(X).

Each activation supplies ``f`` and ``f'``; one generic forward/backward pair
does the rest. Conventions at non-differentiable points follow torch:

* relu: f'(0) = 0 (gradient flows only where x > 0);
* leaky_relu: f'(0) = negative_slope (the slope of the x <= 0 branch);
* elu: f'(0) = alpha (the x <= 0 branch: alpha * exp(x));
* softplus: for beta * x > threshold the function is the identity, f' = 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._api import specialise

__all__ = [  # this module's part of the public API (manual_grads/__init__.py collects it)
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softplus_backward",
    "softplus_forward",
    "tanh_backward",
    "tanh_forward",
]

_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x: np.ndarray) -> np.ndarray:
    """Error function, element-wise, via the standard library (float64, math.erf)."""
    return _erf(np.asarray(x, dtype=np.float64)).astype(np.float64)


def _sigmoid(x):
    # numerically stable for large |x|: never exponentiates a large positive number
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


_GELU_C = math.sqrt(2 / math.pi)


def _gelu_tanh_inner(x):
    return _GELU_C * (x + 0.044715 * x**3)


@dataclass(frozen=True)
class Activation:
    """An element-wise function ``f(x, **cfg)`` and its derivative ``df(x, y, **cfg)`` (y = f(x))."""

    name: str
    f: Callable[..., np.ndarray]
    df: Callable[..., np.ndarray]
    defaults: dict = field(default_factory=dict)


ACTIVATIONS = {
    a.name: a
    for a in [
        Activation("relu", lambda x: np.where(x > 0, x, 0), lambda x, y: (x > 0)),
        Activation(
            "leaky_relu",
            lambda x, negative_slope: np.where(x > 0, x, x * negative_slope),
            lambda x, y, negative_slope: np.where(x > 0, 1, negative_slope),
            {"negative_slope": 0.01},
        ),
        Activation("sigmoid", lambda x: _sigmoid(x), lambda x, y: y * (1 - y)),
        Activation("tanh", lambda x: np.tanh(x), lambda x, y: 1 - y * y),
        Activation(
            "softplus",
            lambda x, beta, threshold: np.where(
                x * beta > threshold, x, np.logaddexp(0, x * beta) / beta
            ),
            lambda x, y, beta, threshold: np.where(x * beta > threshold, 1, _sigmoid(x * beta)),
            {"beta": 1.0, "threshold": 20.0},
        ),
        Activation(
            "elu",
            lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
            lambda x, y, alpha: np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))),
            {"alpha": 1.0},
        ),
        Activation(
            "gelu",
            # approximate='none': x * Phi(x);  'tanh': 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
            lambda x, approximate: (
                0.5 * x * (1 + erf(x / math.sqrt(2)))
                if approximate == "none"
                else 0.5 * x * (1 + np.tanh(_gelu_tanh_inner(x)))
            ),
            lambda x, y, approximate: (
                # Phi(x) + x * phi(x)
                0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
                if approximate == "none"
                # 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),  t = tanh(inner)
                else _gelu_tanh_derivative(x)
            ),
            {"approximate": "none"},
        ),
    ]
}


def _gelu_tanh_derivative(x):
    t = np.tanh(_gelu_tanh_inner(x))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)


@dataclass(frozen=True)
class ActivationCache:
    activation: Activation
    x: np.ndarray
    y: np.ndarray
    config: dict


def _config(act: Activation, kwargs: dict) -> dict:
    unknown = set(kwargs) - set(act.defaults)
    if unknown:
        raise TypeError(f"{act.name} got unexpected option(s) {sorted(unknown)}; it takes {sorted(act.defaults) or 'none'}")
    if act.name == "gelu" and kwargs.get("approximate", "none") not in ("none", "tanh"):
        raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {kwargs['approximate']!r}")
    return {**act.defaults, **kwargs}


def activation_forward(x, *, activation: str, **kwargs):
    """Y = f(X) for the named activation; the result keeps X's dtype."""
    act = ACTIVATIONS[activation]
    x = np.asarray(x)
    cfg = _config(act, kwargs)
    y = np.asarray(act.f(x, **cfg)).astype(x.dtype, copy=False)
    return y, ActivationCache(act, x, y, cfg)


def activation_backward(dy, cache: ActivationCache) -> dict[str, np.ndarray]:
    """dX = dY * f'(X)."""
    dy = np.asarray(dy)
    derivative = np.asarray(cache.activation.df(cache.x, cache.y, **cache.config))
    return {"x": (dy * derivative).astype(cache.x.dtype, copy=False)}


relu_forward = specialise(activation_forward, "relu", activation="relu")
leaky_relu_forward = specialise(activation_forward, "leaky_relu", activation="leaky_relu")
sigmoid_forward = specialise(activation_forward, "sigmoid", activation="sigmoid")
tanh_forward = specialise(activation_forward, "tanh", activation="tanh")
softplus_forward = specialise(activation_forward, "softplus", activation="softplus")
elu_forward = specialise(activation_forward, "elu", activation="elu")
gelu_forward = specialise(activation_forward, "gelu", activation="gelu")
relu_backward = leaky_relu_backward = sigmoid_backward = tanh_backward = activation_backward
softplus_backward = elu_backward = gelu_backward = activation_backward
