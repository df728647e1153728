"""The readable, literal forms of the lecture's formulas agree with the fast forms the suite verifies."""
import numpy as np
import pytest

from manual_grads import conv, gemm, mechanics
from reference import sampling
from reference.registry import SPECS

CASES = [c for op in ("conv1d", "conv2d", "conv3d") for c in SPECS[op].grid(False)[::7] if c.dtype == "float64"]


@pytest.mark.parametrize("blocks", [False, True], ids=["as-chosen", "blocks-of-one-sample"])
@pytest.mark.parametrize("conv_case", CASES, ids=[c.id for c in CASES])
def test_input_gradient_by_convolution_equals_scatter_form(conv_case, blocks, monkeypatch):
    """crop(upsample(dZ) (*) flip(W)) == crop(col2im(Wᵀ dZ)), and Xpad ⋆ dZ == Σ_n dZ[n] · cols[n]ᵀ — also with
    every sample's columns (and Wᵀ·dZ) a block of its own on the thread pool, never the batch folded into one GEMM."""
    case = conv_case
    if blocks:
        monkeypatch.setattr(mechanics, "COLUMN_BLOCK_BYTES", 1)
        monkeypatch.setattr(mechanics, "FOLD_MAX_WINDOWS", 1)
        monkeypatch.setattr(gemm, "POOL_MIN_WORK", 0)
    rng = np.random.default_rng(case.seed(0))
    arrays = sampling.draw_inputs(case, rng)
    z, cache = conv.conv_forward(*arrays.values(), **case.config)
    dz = rng.standard_normal(z.shape)
    lecture = conv.conv_input_grad_by_convolution(dz, cache.w, cache.geometry)
    np.testing.assert_allclose(conv.conv_input_grad(dz, cache.w, cache.geometry), lecture, rtol=1e-12, atol=1e-12)
    by_correlation = conv.conv_filter_grad_by_correlation(dz, cache.padded_input, cache.geometry)
    for cols in {id(c): c for c in (cache.cols, None)}.values():  # the forward's columns (if kept) and column blocks
        np.testing.assert_allclose(conv.conv_filter_grad(dz, cache.padded_input, cache.geometry, cols), by_correlation,
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("c_in, c_out, groups, stride, dilation", [
    (3, 24, 1, 1, 1),  # fewer input than output channels: dX at stride 1 in scatter form
    (4, 32, 2, 1, 2),
    (24, 6, 1, 1, 1),  # more: dX as the correlation with the flipped filters
    (6, 12, 3, 2, 1),  # a stride: scatter form
])
def test_both_forms_of_dx_agree_past_the_size_that_picks_one(c_in, c_out, groups, stride, dilation):
    """Past conv.SCATTER_MIN the stride-1 dX form depends on the channel counts; both equal the literal form."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, c_in, 48, 45))
    w = rng.standard_normal((c_out, c_in // groups, 3, 3))
    z, cache = conv.conv_forward(x, w, None, stride=stride, padding=1, dilation=dilation, groups=groups)
    dz = rng.standard_normal(z.shape)
    assert stride > 1 or dz.size >= conv.SCATTER_MIN
    lecture = conv.conv_input_grad_by_convolution(dz, cache.w, cache.geometry)
    np.testing.assert_allclose(conv.conv_input_grad(dz, cache.w, cache.geometry), lecture, rtol=1e-12, atol=1e-12)
