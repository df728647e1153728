"""Normalisation cases: 2-d batch norm in training mode, with and without its affine γ, β, several eps.

Sizes include 1x1 maps (statistics over the batch alone) and non-square ones; torch needs more than one
value per channel (N·H·W > 1), so a single 1x1 sample is not a case.
"""
from __future__ import annotations

from ..benches import Bench
from ..cases import Case, case_label, sweep, unique
from ..spec import OpSpec
from ..torch_ops import F

SIZES = [(1, 1), (2, 2), (3, 5), (6, 4), (7, 7)]
AFFINE = {"affine": (True, True), "noaffine": (False, False), "wonly": (True, False), "bonly": (False, True)}  # (w, b)
EPS = [1e-5, 1e-3, 0.1]


def batch_norm2d(x, w=None, b=None, eps=1e-5):
    """torch's batch norm in training mode, no running statistics."""
    return F.batch_norm(x, None, None, w, b, training=True, eps=eps)


def batch_norm_case(p: dict) -> Case | None:
    n, c, size = p["batch"], p["channels"], p["size"]
    if n * size[0] * size[1] <= 1:
        return None  # torch: expected more than 1 value per channel when training
    has_w, has_b = AFFINE[p["affine"]]
    config = {"eps": p["eps"]}
    return Case("batch_norm2d", {"x": (n, c) + size, "w": (c,) if has_w else None, "b": (c,) if has_b else None},
                config, p["dtype"], case_label(config, {"affine": str}, batch=n, channels=c, x=size, affine=p["affine"]))


def batch_norm_grid(full: bool = False) -> list[Case]:
    structural = {"size": SIZES, "batch": [1, 2, 4], "affine": list(AFFINE)}
    cycled = {"channels": [1, 3], "eps": EPS}
    return unique(batch_norm_case(p) for p in sweep(structural, cycled, expand=("channels", "eps") if full else ()))


SPECS = [
    OpSpec("batch_norm2d", "normalization", batch_norm_grid, batch_norm2d, linear_in=("w", "b"), benches=(
        Bench("batch_norm2d", "resnet18-stem-b8", {"x": (8, 64, 112, 112), "w": (64,), "b": (64,)}),
        Bench("batch_norm2d", "small-b2", {"x": (2, 3, 8, 8), "w": (3,), "b": (3,)}),
    ), lecture_form=False),  # the lecture does not teach batch norm: verified against torch only
]
