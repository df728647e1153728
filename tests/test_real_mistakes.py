"""Mistakes from real hand-ins (11-785 HW2P1, cs231n assignment 2): each catalogued mutant is named by the diagnosis.

For every such mutant, one case that exposes it: with the mistake applied, the case fails in the gradient the
mutant corrupts, and ``reference.diagnosis.known_mistakes`` (which replays the catalogue on the same inputs)
names it among the "probably:" findings — also when the gradient has the wrong shape (empty, H and W swapped,
trailing rows missing). The mutant runs as grading sees a hand-in: an implementation of its own that makes the
mistake (``Mutant.implementation``), the catalogue replayed beside it on the clean manual_grads.
"""
from __future__ import annotations

import manual_grads
import pytest

from reference.cases import Case
from reference.compare import gradient_label
from reference.harness import run_case
from reference.mutants import MUTANTS


def _conv2d(x, w, bias=True, **config) -> Case:
    config = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, **config}
    label = f"x{'x'.join(map(str, x))}-w{'x'.join(map(str, w))}-" + "-".join(f"{k}{v}" for k, v in config.items())
    return Case("conv2d", {"x": x, "w": w, "b": (w[0],) if bias else None}, config, "float64", label)


def _pool2d(op, x, **config) -> Case:
    label = f"x{'x'.join(map(str, x))}-" + "-".join(f"{k}{v}" for k, v in config.items())
    return Case(op, {"x": x}, config, "float64", label)


# (family, mutant name) -> a case that exposes it
EXPOSING = {
    ("conv", "dW from one sample of the batch"): _conv2d((3, 2, 6, 5), (4, 2, 3, 3), padding=1),
    ("conv", "dZ padded by K instead of K-1 in dX (dX shifted by one)"): _conv2d((2, 3, 7, 6), (4, 3, 3, 2)),
    ("conv", "dX cropped as dx_padded[p:-p]: empty when the padding is 0"): _conv2d((2, 3, 7, 6), (4, 3, 3, 3)),
    ("conv", "'=' instead of '+=' in the dX scatter (overlapping windows overwrite)"):
        _conv2d((2, 3, 7, 6), (4, 3, 3, 3), stride=2, padding=1),
    ("conv", "dX allocated as (N, C, W, H): H and W swapped"): _conv2d((2, 3, 7, 5), (4, 3, 3, 3), padding=1),
    ("conv", "dX sized (H_out - 1)*s + K from the output: trailing rows the stride skips are lost"):
        _conv2d((2, 3, 8, 7), (4, 3, 3, 3), stride=2),  # rows: (3 - 1)·2 + 3 = 7 of 8
    ("activation", "sigmoid' = z(1 - z): on the input z instead of the output y"):
        Case("sigmoid", {"x": (3, 16)}, {}, "float64", "x3x16"),
    ("activation", "relu mask taken on the output with >= (y >= 0 is always true)"):
        Case("relu", {"x": (3, 16)}, {}, "float64", "x3x16"),
    ("max pool", "dX allocated as (N, C, W, H): H and W swapped"): _pool2d("max_pool2d", (2, 3, 6, 8), kernel_size=2),
    ("max pool", "dX sized (H_out - 1)*s + K from the output: trailing rows the stride skips are lost"):
        _pool2d("max_pool2d", (2, 3, 7, 9), kernel_size=2),  # rows (3 - 1)·2 + 2 = 6 of 7, columns 8 of 9
    ("mean pool", "2-d backward divides by k instead of k*k (the kernel height only)"):
        _pool2d("avg_pool2d", (2, 3, 6, 8), kernel_size=2),
    ("mean pool", "dX allocated as (N, C, W, H): H and W swapped"): _pool2d("avg_pool2d", (2, 3, 6, 8), kernel_size=2),
}


def _mutant(family, name):
    return next(m for m in MUTANTS if (m.family, m.name) == (family, name))


@pytest.mark.parametrize("key", EXPOSING, ids=[f"{f}:{n}" for f, n in EXPOSING])
def test_diagnosis_names_the_real_mistake(key, base_seed):
    mutant, case = _mutant(*key), EXPOSING[key]
    assert case.op in mutant.ops
    assert run_case(case, manual_grads, base_seed, diagnose=False).ok, "the exposing case fails for the correct layer"
    result = run_case(case, mutant.implementation, base_seed, diagnose=True)
    assert not result.ok, f"the case does not expose {mutant.name!r}"
    assert f"FAILED in {gradient_label(mutant.gradient)}" in result.report(), result.report()
    assert mutant.name in result.diagnosis, result.report()
