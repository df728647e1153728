"""The lecture's formulas as code (manual_grads.lecture) are right, and the fast forms compute the same numbers.

* the lecture module is an implementation of its own, verified against torch.autograd like any other
  (every 5th float64 case of every op's default grid);
* over the whole float64 default grid of every op, manual_grads' output and every gradient equal the
  lecture's to float64 rounding;
* the conv dX and dW kernels of manual_grads (scatter form, GEMMs over kept columns or column blocks) equal
  the lecture's full convolution with the flipped filters and its correlation of the input with dZ, also with
  every sample a block of its own and past the size at which the stride-1 dX changes form;
* each lecture op has its manual_grads counterpart's signature, so either can be passed to run_case.
"""
import inspect
from dataclasses import fields

import numpy as np
import pytest

import manual_grads
from manual_grads import activations, conv, lecture
from manual_grads.tuning import Tuning, current, tuning
from reference import sampling
from reference.compare import compare_array
from reference.harness import run_case
from reference.registry import SPECS, family_file

# every op has its lecture form unless its family file declares OpSpec(lecture_form=False): an op the lecture
# (../shared/lecture-backprop-in-cnns.md) does not teach, verified against torch like the rest
TAUGHT = [op for op, spec in SPECS.items() if spec.lecture_form]
OPS = [op for op in SPECS if hasattr(lecture, f"{op}_forward")]
FLOAT64 = {op: [c for c in SPECS[op].grid(False) if c.dtype == "float64"] for op in OPS}
SPREAD = [c for op in OPS for c in FLOAT64[op][::5]]  # every 5th float64 case of each op


def test_every_op_the_lecture_teaches_has_its_lecture_form():
    missing = [op for op in TAUGHT if not (hasattr(lecture, f"{op}_forward") and hasattr(lecture, f"{op}_backward"))]
    assert not missing, "; ".join(
        f"{op}: add {op}_forward/{op}_backward to manual_grads/lecture.py, or set lecture_form=False in its "
        f"OpSpec in {family_file(op)} if the lecture does not teach it" for op in missing)


# The forms the fast paths pick by size (every threshold of manual_grads.tuning.Tuning one way, then the other):
# the grid's inputs are small, so with the default tuning they take the small inputs' forms only.
HUGE = 1 << 40
FORKS = {
    "default": {},
    "every-fork-taken": dict(phase_split_min=0, tiled_pool_max=0, scatter_min=0, fold_max_windows=1, column_block_bytes=1,
                             batch_in_plane_max=0, parallel_min_bytes=0, pool_min_work=0, small_map=0, dense_axis=0,
                             sparse_max_fraction=1.0, slab_bytes=1, depthwise_min_groups=0),
    "no-fork-taken": dict(phase_split_min=HUGE, tiled_pool_max=HUGE, scatter_min=HUGE, fold_max_windows=HUGE,
                          column_block_bytes=HUGE, batch_in_plane_max=HUGE, parallel_min_bytes=HUGE, pool_min_work=HUGE,
                          small_map=HUGE, dense_axis=HUGE, sparse_max_fraction=0.0, slab_bytes=HUGE,
                          depthwise_min_groups=HUGE),
}
NOT_A_FORK = {"threads", "split_pieces", "memo_size"}  # how much runs at once, not which form (test_slabs.py)


def test_the_forks_set_every_threshold_of_the_tuning():
    thresholds = {f.name for f in fields(Tuning)} - NOT_A_FORK
    assert all(set(forks) == thresholds for name, forks in FORKS.items() if forks), thresholds


@pytest.mark.parametrize("forks", list(FORKS))
@pytest.mark.parametrize("op", OPS)
def test_fast_forms_equal_the_lecture_over_the_float64_grid(op, forks):
    """Y, and every gradient, of manual_grads and of the lecture, case by case over the op's float64 grid, on the
    same inputs and upstream gradient: equal within the float64 tolerance (rounding, never a formula) — with the
    default tuning, and with every size threshold set so each fork of the fast paths is taken, then none."""
    assert FLOAT64[op], f"{op} has no float64 case"
    failures = []
    with tuning(**FORKS[forks]):
        failures = _disagreements(op)
    assert not failures, f"{len(failures)} disagreements, the first:\n" + "\n".join(failures[:3])


def _disagreements(op: str) -> list[str]:
    failures = []
    for case in FLOAT64[op]:
        rng = np.random.default_rng(case.seed(0))
        arrays = sampling.draw_inputs(case, rng)
        fast_out, fast_cache = getattr(manual_grads, f"{op}_forward")(*arrays.values(), **case.config)
        read_out, read_cache = getattr(lecture, f"{op}_forward")(*arrays.values(), **case.config)
        dy = np.asarray(sampling.draw_upstream(rng, fast_out.shape), dtype=case.dtype)
        fast = getattr(manual_grads, f"{op}_backward")(dy.copy(), fast_cache)
        read = getattr(lecture, f"{op}_backward")(dy.copy(), read_cache)
        checks = [compare_array("out", read_out, fast_out)] + [compare_array(k, read.get(k), v) for k, v in fast.items()]
        failures += [f"{case.id}: {c.report()}" for c in checks if not c.ok]
        if set(read) != set(fast):
            failures.append(f"{case.id}: gradients {sorted(read)} from the lecture, {sorted(fast)} from manual_grads")
    return failures


@pytest.mark.parametrize("spread_case", SPREAD, ids=[c.id for c in SPREAD])
def test_the_lecture_passes_against_torch(spread_case, base_seed):
    """The lecture module on its own, verified by the harness against torch.autograd (a parameter named
    ``case`` would get every grid case from tests/conftest.py)."""
    result = run_case(spread_case, lecture, base_seed)
    assert result.ok, result.report()


def _parameters(function, op: str) -> list[tuple[str, object]]:
    """(name, default) of each parameter a caller passes: a specialised forward's fixed keywords
    (``manual_grads._api.specialise``: nd=, activation=, ...) left out, an activation's ``**options`` spelled
    out with their defaults."""
    fixed = inspect.getclosurevars(function).nonlocals.get("fixed", {})
    spelled = []
    for p in inspect.signature(function).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            spelled += list(activations.ACTIVATIONS[op].defaults.items())
        elif p.name not in fixed:
            spelled.append((p.name, p.default))
    return spelled


@pytest.mark.parametrize("op", OPS)
def test_every_lecture_op_has_its_counterparts_signature(op):
    for stage in ("forward", "backward"):
        name = f"{op}_{stage}"
        assert _parameters(getattr(lecture, name), op) == _parameters(getattr(manual_grads, name), op), name


CASES = [c for op in ("conv1d", "conv2d", "conv3d") for c in SPECS[op].grid(False)[::7] if c.dtype == "float64"]


@pytest.mark.parametrize("blocks", [False, True], ids=["as-chosen", "blocks-of-one-sample"])
@pytest.mark.parametrize("conv_case", CASES, ids=[c.id for c in CASES])
def test_conv_kernels_equal_the_lectures_convolution_and_correlation(conv_case, blocks):
    """crop(col2im(Wᵀ dZ)) (or the stride-1 correlation) == the lecture's crop(upsample(dZ) (*) flip(W)), and
    Σ_n dZ[n] · cols[n]ᵀ == the lecture's Xpad ⋆ dZ, over the forward's columns and over column blocks — also
    with every sample's columns (and Wᵀ·dZ) a block of its own on the thread pool, never the batch folded into one GEMM."""
    case = conv_case
    with tuning(**(dict(column_block_bytes=1, fold_max_windows=1, pool_min_work=0) if blocks else {})):
        _compare_conv_kernels(case, blocks)


def _compare_conv_kernels(case, blocks: bool):
    rng = np.random.default_rng(case.seed(0))
    arrays = sampling.draw_inputs(case, rng)
    z, cache = conv.conv_forward(*arrays.values(), **case.config)
    assert cache.cols is None or not blocks, "blocks of one sample, yet the forward kept the columns of the batch"
    _, read = getattr(lecture, f"{case.op}_forward")(*arrays.values(), **case.config)
    dz = rng.standard_normal(z.shape)
    dx = lecture.input_gradient(dz, read.w, read.geometry)
    np.testing.assert_allclose(conv.conv_input_grad(dz, cache.w, cache.geometry), dx, rtol=1e-12, atol=1e-12)
    dw = lecture.filter_gradient(dz, read.x_padded, read.geometry)
    for cols in {id(c): c for c in (cache.cols, None)}.values():  # the forward's columns (if kept) and column blocks
        np.testing.assert_allclose(conv.conv_filter_grad(dz, cache.padded_input, cache.geometry, cols), dw,
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("c_in, c_out, groups, stride, dilation", [
    (3, 24, 1, 1, 1),  # fewer input than output channels: dX at stride 1 in scatter form
    (4, 32, 2, 1, 2),
    (24, 6, 1, 1, 1),  # more: dX as the correlation with the flipped filters
    (6, 12, 3, 2, 1),  # a stride: scatter form
])
def test_both_forms_of_dx_agree_past_the_size_that_picks_one(c_in, c_out, groups, stride, dilation):
    """Past Tuning.scatter_min the stride-1 dX form depends on the channel counts; both equal the lecture's."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, c_in, 48, 45))
    w = rng.standard_normal((c_out, c_in // groups, 3, 3))
    z, cache = conv.conv_forward(x, w, None, stride=stride, padding=1, dilation=dilation, groups=groups)
    _, read = lecture.conv2d_forward(x, w, None, stride=stride, padding=1, dilation=dilation, groups=groups)
    dz = rng.standard_normal(z.shape)
    assert stride > 1 or dz.size >= current().scatter_min
    np.testing.assert_allclose(conv.conv_input_grad(dz, cache.w, cache.geometry),
                               lecture.input_gradient(dz, read.w, read.geometry), rtol=1e-12, atol=1e-12)
