"""A catalogue of realistic planted mistakes ("mutants") in manual_grads.

Each mutant is a small named patch of one piece of the correct layers — the
kind of one-line slip a student makes — applied with ``unittest.mock.patch``
for the duration of a check. ``expect`` is the gradient the mistake corrupts,
which the failure report must name.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Callable, ContextManager
from unittest import mock

import numpy as np

from manual_grads import activations, conv


@dataclass(frozen=True)
class Mutant:
    family: str
    name: str
    expect: str  # label of the gradient the mistake corrupts, e.g. "dX"
    patch: Callable[[], ContextManager]


def _wrap(module, attr: str, transform: Callable):
    """Patch ``module.attr`` with ``transform(original)``."""
    original = getattr(module, attr)
    return lambda: mock.patch.object(module, attr, transform(original))


def _post(fn_transform):
    """A wrapper that post-processes a function's result: f -> (lambda *a: g(f(*a), *a))."""
    return lambda original: lambda *args, **kw: fn_transform(original(*args, **kw), *args, **kw)


def _derivative(name: str, df: Callable):
    act = activations.ACTIVATIONS[name]
    return lambda: mock.patch.dict(activations.ACTIVATIONS, {name: replace(act, df=df)})


MUTANTS = [
    # --- convolution -----------------------------------------------------------------
    Mutant("conv", "unflipped filter in dX", "dX", lambda: mock.patch.object(conv, "flip_spatial", lambda w: w)),
    Mutant("conv", "stride ignored in dX (no zero-upsampling)", "dX",
           lambda: mock.patch.object(conv, "zero_upsample", lambda x, factor, size=None: x)),
    Mutant("conv", "padding not cropped from dX", "dX", lambda: mock.patch.object(conv, "crop", lambda x, pads: x)),
    Mutant("conv", "padding cropped off by one", "dX",
           lambda: mock.patch.object(conv, "crop", lambda x, pads: x[(Ellipsis,) + tuple(
               slice(lo + 1, n - hi + 1) if lo else slice(lo, n - hi) for n, (lo, hi) in zip(x.shape[-len(pads):], pads))])),
    Mutant("conv", "batch averaged in dW", "dW",
           _wrap(conv, "conv_filter_grad", _post(lambda dw, dz, x, geo: dw / dz.shape[0]))),
    Mutant("conv", "kernel axes swapped in dW", "dW",
           _wrap(conv, "conv_filter_grad", _post(lambda dw, dz, x, geo: np.swapaxes(dw, -1, -2)))),
    Mutant("conv", "in/out channels not swapped in dX", "dX",
           lambda: mock.patch.object(conv, "swap_in_out", lambda w, groups: w)),
    # --- activations -----------------------------------------------------------------
    Mutant("activation", "relu'(0) = 1", "dX", _derivative("relu", lambda x, y: x >= 0)),
    Mutant("activation", "sigmoid' = y(1 + y)", "dX", _derivative("sigmoid", lambda x, y: y * (1 + y))),
    Mutant("activation", "tanh' = 1 - y", "dX", _derivative("tanh", lambda x, y: 1 - y)),
    Mutant("activation", "leaky_relu'(0) = 1", "dX",
           _derivative("leaky_relu", lambda x, y, negative_slope: np.where(x >= 0, 1, negative_slope))),
    Mutant("activation", "gelu' missing x * pdf(x)", "dX",
           _derivative("gelu", lambda x, y, approximate: 0.5 * (1 + activations.erf(x / np.sqrt(2)))
                       if approximate == "none" else activations._gelu_tanh_derivative(x))),
    Mutant("activation", "elu'(x<0) = alpha", "dX",
           _derivative("elu", lambda x, y, alpha: np.where(x > 0, 1, alpha))),
]


@contextlib.contextmanager
def applied(mutant: Mutant):
    with mutant.patch():
        yield
