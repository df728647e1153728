"""Slab loops on several threads compute exactly what they compute on one.

:mod:`manual_grads.slabs` shares cache-sized slabs of the batch among threads. Each
output element is still computed by one thread, in the same order, so the layers
must agree *bit for bit* with a single-threaded run — on inputs large enough
(past ``Tuning.parallel_min_bytes``) that the threads really run. The pool must also
survive a fork and never wait on itself.
"""
import multiprocessing

import numpy as np
import pytest

import manual_grads as mg
from manual_grads import mechanics, slabs
from manual_grads import tuning as tuning_module
from manual_grads.tuning import current, tuning
from reference.cases import Case
from reference.harness import run_case


def _both(run):
    with tuning(threads=1):
        serial = run()
    with tuning(threads=3):  # more threads than cores: slabs interleave as much as they can
        parallel = run()
    return serial, parallel


def _assert_identical(serial, parallel):
    serial = serial if isinstance(serial, dict) else {"out": serial}
    parallel = parallel if isinstance(parallel, dict) else {"out": parallel}
    assert serial.keys() == parallel.keys()
    for name in serial:
        assert serial[name].dtype == parallel[name].dtype, name
        np.testing.assert_array_equal(parallel[name], serial[name], err_msg=f"{name} differs with threads")


RNG = np.random.default_rng(20261125)
X = RNG.standard_normal((6, 24, 45, 47))  # float64, 2.4 MB: past Tuning.parallel_min_bytes, several slabs
assert X.nbytes > 2 * current().parallel_min_bytes


def _forward_backward(forward, backward, *args, **config):
    def run():
        out, cache = forward(*args, **config)
        grads = backward(np.cos(out), cache)
        return {"out": out, **grads}
    return run


@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (3, 2)])
def test_depthwise_is_bitwise_identical_on_threads(stride, dilation):
    w = RNG.standard_normal((24, 1, 3, 3))
    run = _forward_backward(mg.depthwise_conv2d_forward, mg.depthwise_conv2d_backward, X, w, None,
                            stride=stride, padding=1, dilation=dilation)
    _assert_identical(*_both(run))


@pytest.mark.parametrize("kernel, stride, padding", [(3, 2, 1), (2, 2, 0), (3, 1, 1)])
def test_max_pool_is_bitwise_identical_on_threads(kernel, stride, padding):
    x = X.astype(np.float32)
    x[0, 0, :4, :4] = 1.0  # ties: the first maximum must win on every thread
    run = _forward_backward(mg.max_pool2d_forward, mg.max_pool2d_backward, x, kernel, stride, padding)
    _assert_identical(*_both(run))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batch_norm_over_several_slabs_is_bitwise_identical_on_threads_and_right(dtype, base_seed):
    """batch_norm2d's channel sums are added slab by slab (the grid's inputs fit in one slab): the same bits on
    any number of threads, and right against torch with a slab per sample."""
    x = X.astype(dtype)
    w, b = (RNG.standard_normal(24).astype(dtype) for _ in range(2))
    _assert_identical(*_both(_forward_backward(mg.batch_norm2d_forward, mg.batch_norm2d_backward, x, w, b)))
    case = Case("batch_norm2d", {"x": X.shape, "w": (24,), "b": (24,)}, {"eps": 1e-5}, dtype, "slab-per-sample")
    with tuning(slab_bytes=1, parallel_min_bytes=0):
        result = run_case(case, mg, base_seed)
    assert result.ok, result.report()


def test_strided_conv_and_average_pool_are_bitwise_identical_on_threads():
    w = RNG.standard_normal((8, 24, 3, 3))
    conv = _forward_backward(mg.conv2d_forward, mg.conv2d_backward, X, w, None, stride=2, padding=1)
    _assert_identical(*_both(conv))
    pool = _forward_backward(mg.avg_pool2d_forward, mg.avg_pool2d_backward, X, 3, 2, 1)
    _assert_identical(*_both(pool))


def test_conv_with_samples_in_spans_of_windows_is_bitwise_identical_on_threads():
    """Columns of one sample taken in spans of its window rows (here a third of a sample per block): every block's
    GEMM on some thread, dW summed over the blocks in block order — the same bits on one thread or three.
    (BLAS held to one thread throughout, as it is when one thread is asked for: OMP_NUM_THREADS=1.)"""
    from threadpoolctl import threadpool_limits

    w = RNG.standard_normal((8, 24, 3, 3))
    with tuning(pool_min_work=0, fold_max_windows=1, column_block_bytes=24 * 9 * 45 * 47 * 8 // 3):
        spans = mechanics.map_column_blocks(lambda rows, span, cols: span, X, (3, 3), (1, 1), (1, 1), out_channels=8)
        assert len(spans) == 3 * len(X)
        conv = _forward_backward(mg.conv2d_forward, mg.conv2d_backward, X, w, None, stride=1, padding=1)
        with threadpool_limits(1, user_api="blas"):
            _assert_identical(*_both(conv))


def test_copies_are_exact_on_threads():
    """pad, the stride-phase split and merge, contiguous copies and im2col/fold on several threads."""
    def run():
        padded = mechanics.pad(X, ((2, 1), (0, 3)), value=-1.0, parallel=True)
        taps = mechanics.Taps(X, (3, 3), (2, 3), (1, 1), pads=((1, 1), (1, 1)), flat=True)
        cols = mechanics.im2col(padded, (3, 2), (1, 2), (2, 1))
        folded = mechanics.col2im(cols, padded.shape[2:], (3, 2), (padded.shape[2] - 4, (padded.shape[3] - 2) // 2 + 1),
                                  (1, 2), (2, 1))
        return {"pad": padded, "phases": taps.data, "merged": taps.array(), "cols": cols, "fold": folded,
                "contiguous": mechanics.contiguous(X[:, :, ::2, 1:])}
    serial, parallel = _both(run)
    _assert_identical(serial, parallel)
    np.testing.assert_array_equal(parallel["contiguous"], X[:, :, ::2, 1:])
    np.testing.assert_array_equal(parallel["merged"][:, :, 1:-1, 1:-1], X)  # phases interleave back to the input


def test_map_slabs_covers_every_row_once_and_keeps_slab_order():
    batch = 37
    with tuning(threads=2):
        slabs_seen = slabs.map_slabs(lambda rows: rows, batch, current().slab_bytes // 3)
    assert [s.start for s in slabs_seen] == sorted(s.start for s in slabs_seen)
    covered = np.concatenate([np.arange(batch)[s] for s in slabs_seen])
    np.testing.assert_array_equal(covered, np.arange(batch))


def test_a_slab_body_may_use_slabs_itself():
    """A body that runs a slab loop of its own runs it serially instead of waiting on its own pool."""
    def inner(rows):
        return slabs.map_slabs(lambda r: 1, 4, current().slab_bytes)

    with tuning(threads=2):
        assert slabs.map_slabs(inner, 4, current().slab_bytes) == [[1] * 4] * 4


def _child(queue):
    queue.put(sum(slabs.map_slabs(lambda rows: rows.stop - rows.start, 8, current().slab_bytes)))


def test_a_forked_child_starts_its_own_pool():
    with tuning(threads=2):
        slabs.map_slabs(lambda rows: None, 8, current().slab_bytes)  # the parent's pool is running
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_child, args=(queue,))
        child.start()
        child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("a forked child hung on its parent's thread pool")
    assert queue.get(timeout=5) == 8


def test_thread_count_reads_the_environment(monkeypatch):
    monkeypatch.setenv("MANUAL_GRADS_THREADS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert tuning_module.thread_count() == 3
    monkeypatch.delenv("MANUAL_GRADS_THREADS")
    assert tuning_module.thread_count() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert tuning_module.thread_count() >= 1
