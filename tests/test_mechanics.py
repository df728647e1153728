"""The shared mechanics' fast paths equal their definitions, on random geometries (hypothesis).

Taps (stride phases, flat runs, small strided arrays) must read exactly the window
elements ``x[..., t*s + i*d]`` and accumulate exactly onto them; along_axes (kron, GEMM,
gathers, tensordot) must equal applying each matrix in turn. The forms are forced with
``tuning(...)``, which is checked too, and every form conv's gradient choosers pick is reached.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manual_grads import mechanics
from manual_grads.geometry import extent
from manual_grads.mechanics import Taps
from manual_grads.tuning import current, tuning


@st.composite
def geometries(draw):
    nd = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    size = tuple(extent(k, d) + draw(st.integers(0, 7)) for k, d in zip(kernel, dilation))
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    big = draw(st.booleans())  # past Tuning.phase_split_min: strided arrays are split into phases
    if big:
        lead = (lead[0], -(-current().phase_split_min // int(np.prod(size))))
    return lead, size, kernel, stride, dilation, draw(st.booleans()), draw(st.integers(0, 2**32 - 1))


def _window_element(x, offset, stride, dilation, out):
    """x[..., t*s + i*d] for every window t, by plain strided slicing (the definition)."""
    return x[(Ellipsis,) + tuple(slice(i * d, i * d + (o - 1) * s + 1, s)
                                 for i, d, o, s in zip(offset, dilation, out, stride))]


@settings(max_examples=60, deadline=None)
@given(geometries())
def test_taps_read_and_accumulate_exactly_the_window_elements(geometry):
    lead, size, kernel, stride, dilation, flat, seed = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lead + size)
    taps = Taps(x, kernel, stride, dilation, flat=flat)
    out = taps.out
    target = Taps.zeros(lead, size, kernel, stride, dilation, out, x.dtype, flat=flat)
    expected = np.zeros_like(x)
    for offset, view in taps:
        np.testing.assert_array_equal(taps.unpack(view), _window_element(x, offset, stride, dilation, out))
        values = rng.standard_normal(lead + out)
        target.add(offset, target.pack(values))
        _window_element(expected, offset, stride, dilation, out)[...] += values
    np.testing.assert_allclose(target.array(), expected, rtol=1e-13, atol=1e-13)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 2), st.lists(st.tuples(st.integers(1, 300), st.integers(1, 300), st.integers(1, 4)), min_size=1,
                                   max_size=2), st.integers(0, 2**32 - 1))
def test_along_axes_equals_applying_each_matrix_in_turn(lead, axes, seed):
    rng = np.random.default_rng(seed)
    matrices = []
    for n, o, per_row in axes:  # per_row non-zeros per row: sparse (gathers) up to dense (GEMM)
        a = np.zeros((o, n))
        ones = rng.random() < 0.3  # weights all 1 (nearest and its adjoint): plain gathers, never a GEMM
        for row in range(o):
            a[row, rng.choice(n, size=min(per_row, n), replace=False)] = 1.0 if ones else rng.standard_normal(min(per_row, n))
        matrices.append(a if rng.random() < 0.8 else rng.standard_normal((o, n)))
    x = rng.standard_normal((lead, 2) + tuple(n for n, _, _ in axes))
    expected = x
    for k, a in enumerate(matrices):
        expected = np.moveaxis(np.tensordot(expected, a, axes=([2 + k], [1])), -1, 2 + k)
    np.testing.assert_allclose(mechanics.along_axes(x, matrices), expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 2), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)),
       st.tuples(st.integers(3, 24), st.integers(3, 24)), st.integers(1, 2), st.integers(0, 2**32 - 1))
def test_im2col_per_sample_and_folded_give_the_same_products(n, groups, channels, size, stride, seed):
    """Correlation and its filter gradient over im2col columns, per sample or with the batch folded in,
    equal the definition ``y[n, o, t] = sum_{c,i} w[o, c, i] x[n, g(o)*Cg + c, t*s + i]``, and the filter
    gradients the lecture's correlation of the input with dZ."""
    from manual_grads import conv, lecture
    rng = np.random.default_rng(seed)
    cg, og = channels
    x = rng.standard_normal((n, groups * cg) + size)
    w = rng.standard_normal((groups * og, cg, 3, 2))
    win = mechanics.windows(x, (3, 2), (stride, stride), (1, 1))  # (N, C, *T, *K)
    per_group = win.reshape((n, groups, cg) + win.shape[2:])
    expected = np.einsum("ngcabij,gocij->ngoab", per_group, w.reshape(groups, og, cg, 3, 2)).reshape(
        (n, groups * og) + win.shape[2:4])
    geo = conv.ConvGeometry.of(x.shape, w.shape, stride, 0, 1, groups)
    dz = rng.standard_normal(expected.shape)
    grads = []
    for fold in (False, True):
        cols = mechanics.im2col(x, (3, 2), (stride, stride), (1, 1), groups, fold=fold)
        y = mechanics.correlate(x, w, (stride, stride), (1, 1), groups, cols=cols)
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12, err_msg=f"fold={fold}")
        grads.append(conv.conv_filter_grad(dz, x, geo, cols))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)
    by_correlation = lecture.filter_gradient(dz, x, lecture.conv_geometry(x.shape, w.shape, stride, 0, 1, groups))
    np.testing.assert_allclose(grads[0], by_correlation, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads[0], conv.conv_filter_grad(dz, x, geo), rtol=1e-12, atol=1e-12)  # column blocks


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 2), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)),
       st.integers(1, 2), st.sampled_from([0, 0.3, 0.5, 1, 2, 3, 4]), st.integers(0, 2**32 - 1))
def test_column_blocks_are_im2col_of_consecutive_samples(n, groups, cg, kernel, stride, block_samples, seed):
    """Blocks of any size (one sample, several, a ragged last block, the whole batch; a part of one sample's
    windows, down to a single row of them) cover the batch's columns once, in order, each im2col of its samples
    and windows; the GEMMs over them equal those over the whole batch's columns."""
    from manual_grads import conv
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, groups * cg, 9, 8))
    w = rng.standard_normal((2 * groups, cg) + kernel)
    strides = (stride, stride)
    per_sample = groups * cg * int(np.prod(kernel)) * int(np.prod(mechanics.windows(x, kernel, strides, (1, 1)).shape[2:4])) * 8
    with tuning(column_block_bytes=int(block_samples * per_sample), fold_max_windows=1,
                pool_min_work=0):  # never the batch folded into one GEMM, always blocks
        blocks = mechanics.map_column_blocks(lambda rows, span, cols: (rows, span, cols.copy()), x, kernel, strides,
                                             (1, 1), groups, out_channels=2)
        y = mechanics.correlate(x, w, strides, (1, 1), groups, cols=None)
        geo = conv.ConvGeometry.of(x.shape, w.shape, stride, 0, 1, groups)
        dz = rng.standard_normal(y.shape)
        dw = conv.conv_filter_grad(dz, x, geo)
    whole = mechanics.im2col(x, kernel, strides, (1, 1), groups)
    starts = [(rows.start, span.start) for rows, span, _ in blocks]
    assert starts == sorted(starts) and starts[0] == (0, 0)
    covered = np.zeros(whole.shape, int)
    for rows, span, cols in blocks:
        np.testing.assert_array_equal(cols, whole[rows, ..., span])
        covered[rows, ..., span] += 1
    assert (covered == 1).all()
    if block_samples < 1 and whole.shape[-1] > 1 and (kernel, stride) != ((1, 1), 1):  # a sample's columns past the
        # block size (and copied: 1×1 stride-1 columns are views, a block per thread) are taken in spans
        assert any(span != slice(0, whole.shape[-1]) for _, span, _ in blocks)
    np.testing.assert_allclose(y, mechanics.correlate(x, w, strides, (1, 1), groups, cols=whole), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, conv.conv_filter_grad(dz, x, geo, whole), rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)), st.tuples(st.integers(1, 4), st.integers(1, 4)),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_tiling_windows_take_the_same_gradients_as_the_general_adjoints(n, kernel, out, with_nan, seed):
    """Windows that tile the input (stride = kernel): max pooling's all-offsets-at-once forward and one-step
    routing, and average pooling's repeat, equal the general per-offset loops and fold (their '+=' never meets
    an overlap), bit for bit — arg-max ties and NaN included. Tuning forces the general forms: with
    ``tiled_pool_max=0`` no pooling takes every offset at once and fold adds; the repeat is checked against
    fold of every window's dY spread over the window, its definition."""
    from manual_grads import pooling
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (n, 2) + tuple(o * k for o, k in zip(out, kernel))).astype(np.float64)  # ties
    if with_nan:
        x.flat[rng.integers(x.size)] = np.nan
    y, cache = pooling.max_pool_forward(x, kernel, nd=2)
    dy = rng.standard_normal(y.shape)
    avg_y, avg_cache = pooling.avg_pool_forward(x, kernel, nd=2)
    assert cache.geometry.tiles
    fast = y, cache.argmax, pooling.max_pool_backward(dy, cache)["x"], avg_cache.geometry.fold_broadcast(dy)
    with tuning(tiled_pool_max=0, phase_split_min=0):  # the per-offset loops on flat phases; fold's adds
        general_y, general_cache = pooling.max_pool_forward(x, kernel, nd=2)
        spread = np.broadcast_to(dy[..., None, None], dy.shape + kernel)  # every window's dY over the window
        general = (general_y, general_cache.argmax, pooling.max_pool_backward(dy, general_cache)["x"],
                   avg_cache.geometry.fold(spread))
    for f, g in zip(fast, general):
        assert f.dtype == g.dtype
        np.testing.assert_array_equal(f, g)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("n, size", [(1, 60), (3, 30), (2, 70)])
def test_depthwise_layouts_give_the_same_sums(n, size, stride):
    """ChannelPlanes: the batch in each channel's planes, or each sample's planes on their own (both with
    arrays large enough to be flattened), give the same forward and dX bit for bit (every element is summed
    in the same order) and the same dW; and both equal the grouped GEMM path (im2col), which shares none of their code."""
    from manual_grads import conv
    rng = np.random.default_rng(size + stride)
    x = rng.standard_normal((n, 12, size, size))
    w = rng.standard_normal((12, 1, 3, 3))

    def step():
        y, cache = conv.conv_forward(x, w, None, stride, 1, 1, 12)
        return (y, *conv.conv_backward(np.cos(y), cache).values())
    results = {}
    for name, threshold in (("batch in planes", 1 << 30), ("per sample", 0)):
        with tuning(batch_in_plane_max=threshold, slab_bytes=1 << 15):  # slabs of a few channels, or of one sample
            results[name] = step()
    with tuning(depthwise_min_groups=13):  # 12 groups are too few for the depthwise loops: GEMMs
        assert not conv.ConvGeometry.of(x.shape, w.shape, stride, 1, 1, 12).depthwise
        by_gemm = step()
    for a, b, c in zip(results["batch in planes"], results["per sample"], by_gemm):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-11)
    for a, b in zip(results["batch in planes"][:2], results["per sample"][:2]):
        np.testing.assert_array_equal(a, b)


def test_memoised_geometry_keeps_validating_and_tells_equal_looking_arguments_apart():
    from manual_grads import conv, pooling

    x = np.zeros((1, 2, 8, 8), np.float32)
    w = np.zeros((3, 2, 3, 3), np.float32)
    first = conv.ConvGeometry.of(x.shape, w.shape, 2, 1, 1, 1)
    assert conv.ConvGeometry.of(x.shape, w.shape, 2, 1, 1, 1) is first  # remembered
    assert conv.ConvGeometry.of(x.shape, w.shape, [2, 2], 1, 1, 1) == first  # a list: computed afresh, the same
    for bad in (2.0, True, (2, 2.0)):  # equal to 2 (or (2, 2)) as dict keys, but not valid arguments
        with pytest.raises((TypeError, ValueError)):
            conv.ConvGeometry.of(x.shape, w.shape, bad, 1, 1, 1)
    assert pooling.PoolGeometry.of(x, 2, 2, None, 0, 1, False).out == (4, 4)
    with pytest.raises(TypeError):
        pooling.PoolGeometry.of(x, 2, 2.0, None, 0, 1, False)
    with pytest.raises(ValueError):  # the input's rank is checked on every call
        pooling.PoolGeometry.of(x[0], 2, 2, None, 0, 1, False)
    calls = []
    square = mechanics.memoised(lambda v: calls.append(v) or v * v)
    assert [square(3), square(3), square(np.int64(3)), square(3.0)] == [9, 9, 9, 9.0]
    assert calls == [3, np.int64(3), 3.0]


def test_tuning_overrides_nest_and_restore():
    """``tuning(...)`` replaces fields for a block and restores them, nested; bad fields and values are refused."""
    from manual_grads import columns

    default = current()
    with tuning(column_block_bytes=7) as outer:
        assert current() is outer and outer.column_block_bytes == 7
        with tuning(fold_max_windows=1, threads=3):
            assert (current().column_block_bytes, current().fold_max_windows, current().threads) == (7, 1, 3)
            assert not columns.folds_batch(2)
        assert current() is outer and columns.folds_batch(2)
    assert current() is default
    with pytest.raises(TypeError), tuning(no_such_threshold=1):
        pass
    with pytest.raises(ValueError), tuning(threads=0):
        pass
    assert current() is default


def test_every_gradient_strategy_is_reached_and_equals_the_lecture_form():
    """conv_input_grad and conv_filter_grad choose among four forms each by shape (and tuning); every form is
    chosen for some convolution, and each equals the literal lecture form (manual_grads.lecture): dX the full
    convolution of the zero-upsampled dZ with the flipped filters, dW the padded input correlated with dZ."""
    from manual_grads import conv, lecture
    rng = np.random.default_rng(11)
    seen_dx, seen_dw = set(), set()
    cases = [  # (x shape, w shape, stride, groups, tuning)
        ((2, 4, 9, 9), (4, 4, 3, 3), 1, 1, {}),  # stride 1: the flipped filters
        ((2, 4, 9, 9), (4, 1, 3, 3), 2, 4, {}),  # depthwise with a stride: per-offset scatter
        ((2, 4, 9, 9), (6, 4, 3, 3), 2, 1, {}),  # few windows: one GEMM for the batch
        ((2, 4, 9, 9), (6, 4, 3, 3), 2, 1, {"fold_max_windows": 1}),  # blocks of samples, per-sample kept columns
        ((2, 2, 9, 9), (6, 2, 3, 3), 1, 1, {"scatter_min": 0, "fold_max_windows": 1,
                                            "column_block_bytes": 0}),  # scatter at stride 1; columns not kept
    ]
    for x_shape, w_shape, stride, groups, tuned in cases:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        with tuning(**tuned):
            z, cache = conv.conv_forward(x, w, None, stride, 1, 1, groups)
            dz = rng.standard_normal(z.shape)
            seen_dx.add(conv.input_grad_strategy(dz, cache.geometry).__name__)
            seen_dw.add(conv.filter_grad_strategy(cache.geometry, cache.cols).__name__)
            grads = conv.conv_backward(dz, cache)
        geo = lecture.conv_geometry(x_shape, w_shape, stride, 1, 1, groups)
        np.testing.assert_allclose(grads["x"], lecture.input_gradient(dz, w, geo), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grads["w"], lecture.filter_gradient(dz, cache.padded_input, geo), rtol=1e-12, atol=1e-12)
    assert seen_dx == {"input_grad_by_flipped_filters", "input_grad_depthwise_scatter", "input_grad_scatter_folded",
                       "input_grad_scatter_blocks"}
    assert seen_dw == {"filter_grad_depthwise", "filter_grad_folded_columns", "filter_grad_kept_columns",
                       "filter_grad_column_blocks"}
