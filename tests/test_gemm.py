"""GEMMs on manual_grads' own threads: the same products as np.matmul, the same bits on any number of
threads, and BLAS single-threaded only while they run."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manual_grads import gemm
from manual_grads.tuning import tuning


@pytest.fixture
def split_everything():
    """Every product large enough to be split into pieces."""
    with tuning(pool_min_work=0):
        yield


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([(), (1,), (2,), (5,), (6, 1), (3, 2)]), st.booleans(), st.booleans(),
       st.integers(1, 9), st.integers(1, 9), st.integers(1, 9), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**32 - 1))
def test_matmul_equals_numpy_and_is_the_same_on_any_thread_count(stack, a_stacked, b_stacked, m, k, n, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((stack if a_stacked else ()) + (m, k)).astype(dtype)
    b = rng.standard_normal((stack if b_stacked else ()) + (k, n)).astype(dtype)
    results = []
    for threads in (1, 2, 3):
        with tuning(pool_min_work=0, threads=threads):
            results.append(gemm.matmul(a, b))
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(results[0], np.matmul(a, b), rtol=tolerance, atol=tolerance)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_matmul_writes_into_out(split_everything):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 30, 20)), rng.standard_normal((20, 50))
    out = np.empty((4, 30, 50))
    assert gemm.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not gemm.controls_blas(), reason="no BLAS that threadpoolctl can control")
def test_blas_is_single_threaded_inside_and_restored_after(split_everything):
    before = gemm.blas_threads()
    seen = []

    def recording(a, b, out):  # BLAS's thread counts during each call matmul makes
        seen.append(gemm.blas_threads())
        return gemm.product(a, b, out)
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((64, 32)), rng.standard_normal((32, 48))
    np.testing.assert_allclose(gemm.matmul(a, b, call=recording), a @ b, rtol=1e-12, atol=1e-12)
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert gemm.blas_threads() == before
    with gemm.single_threaded_blas():
        with gemm.single_threaded_blas():  # nested scopes: the outer one restores
            pass
        assert gemm.blas_threads() == [1] * len(before)
    assert gemm.blas_threads() == before


def test_blas_threads_are_restored_when_a_piece_fails(split_everything):
    before = gemm.blas_threads()
    with pytest.raises(ValueError):
        gemm.matmul(np.ones((8, 3, 4)), np.ones((8, 5, 6)))  # mismatched inner dimensions
    assert gemm.blas_threads() == before


def test_without_a_controllable_blas_products_are_plain_and_layers_unchanged(split_everything):
    """threadpoolctl missing (or finding no BLAS): every product is one np.matmul on BLAS's own threads."""
    import manual_grads as mg
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((4, 6, 20, 20)), rng.standard_normal((8, 6, 3, 3))

    def run():
        y, cache = mg.conv2d_forward(x, w, None, stride=1, padding=1)
        return y, mg.conv2d_backward(np.cos(y), cache)
    y, grads = run()
    controlled = gemm.controls_blas()
    calls = []
    with gemm.without_blas_control():
        assert not gemm.controls_blas() and gemm.blas_threads() is None
        gemm.matmul(np.ones((64, 32)), np.ones((32, 48)), call=lambda *args: calls.append(args) or gemm.product(*args))
        y_plain, grads_plain = run()
    assert len(calls) == 1  # one call on BLAS's own threads, not pieces
    assert gemm.controls_blas() == controlled
    np.testing.assert_allclose(y_plain, y, rtol=1e-12, atol=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads_plain[name], grads[name], rtol=1e-12, atol=1e-12)
