"""How a case's arrays and upstream gradient are drawn from its seed.

* ``normal``: i.i.d. standard normal — generic values, no ties;
* ``ties``: a tie-heavy mix, on purpose: exact zeros (post-ReLU), small
  integers (equal values in a window), and large magnitudes (saturated
  sigmoid/tanh, softplus above its threshold), with normal values between;
* ``relu``: post-ReLU activations — about half exact zeros;
* ``integers``: small integers, so windows hold equal maxima;
* ``constant``: one value per (sample, channel) map — every window is a full tie.
"""
from __future__ import annotations

import numpy as np

from .cases import Case


def _ties(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    kind = rng.integers(0, 4, size=shape)
    values = rng.standard_normal(shape)
    values = np.where(kind == 1, 0.0, values)
    values = np.where(kind == 2, rng.integers(-3, 4, size=shape), values)
    values = np.where(kind == 3, rng.choice([-30.0, -6.0, 6.0, 30.0], size=shape), values)
    return values


def _constant(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    per_map = rng.standard_normal(shape[:2] + (1,) * (len(shape) - 2))
    return np.broadcast_to(per_map, shape)


SAMPLERS = {
    "normal": lambda rng, shape: rng.standard_normal(shape),
    "ties": _ties,
    "relu": lambda rng, shape: np.maximum(rng.standard_normal(shape), 0.0),
    "integers": lambda rng, shape: rng.integers(-2, 3, size=shape),
    "constant": _constant,
}


def draw_inputs(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray | None]:
    sample = SAMPLERS[case.inputs]
    return {
        name: None if shape is None else np.asarray(sample(rng, shape), dtype=case.dtype)
        for name, shape in case.shapes.items()
    }


def draw_upstream(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A random (never all-ones) upstream gradient."""
    return rng.standard_normal(shape)
