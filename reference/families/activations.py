"""Activation cases: every option, tie-heavy inputs (exact zeros, small integers, saturating values)."""
from __future__ import annotations

from functools import partial

from ..cases import Case, case_label, sweep, unique
from ..diagnosis import derivative_at_zero
from ..spec import OpSpec
from .. import torch_ops

OPTIONS = {
    "relu": [{}],
    "leaky_relu": [{}, {"negative_slope": 0.2}],
    "sigmoid": [{}],
    "tanh": [{}],
    "softplus": [{}, {"beta": 2.0, "threshold": 5.0}],
    "elu": [{}, {"alpha": 0.5}],
    "gelu": [{"approximate": "none"}, {"approximate": "tanh"}],
}
SHAPES = [(7,), (3, 16), (2, 3, 4, 5)]


def _case(name: str, p: dict) -> Case:
    opts = p["options"]
    return Case(name, {"x": p["shape"]}, opts, p["dtype"], case_label(opts, x=p["shape"]), inputs="ties")


def activation_grid(name: str, full: bool = False) -> list[Case]:
    """The activation grid is small enough to be the same in both modes."""
    return unique(_case(name, p) for p in sweep({"options": OPTIONS[name], "shape": SHAPES}, {}))


MIRRORS = {"relu": torch_ops.relu, "leaky_relu": torch_ops.leaky_relu, "sigmoid": torch_ops.sigmoid, "tanh": torch_ops.tanh,
           "softplus": torch_ops.softplus, "elu": torch_ops.elu, "gelu": torch_ops.gelu}

SPECS = [OpSpec(name, "activation", partial(activation_grid, name), MIRRORS[name], shrink="activation",
                diagnose=derivative_at_zero if name in ("relu", "leaky_relu") else None) for name in OPTIONS]
