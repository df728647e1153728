from __future__ import print_function
import numpy as np
from numpy.lib.stride_tricks import as_strided


def _padded_windows(x, HH, WW, stride, pad):
    """View of every receptive field: shape (N, C, H_out, W_out, HH, WW)."""
    N, C, H, W = x.shape
    x_pad = np.ascontiguousarray(
        np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode='constant'))
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    sN, sC, sH, sW = x_pad.strides
    windows = as_strided(x_pad,
                         shape=(N, C, H_out, W_out, HH, WW),
                         strides=(sN, sC, stride * sH, stride * sW, sH, sW),
                         writeable=False)
    return windows


def conv_forward_strides(x, w, b, conv_param):
    """Convolution through a strided view of the padded input (no copies
    until tensordot)."""
    F, C, HH, WW = w.shape
    stride, pad = conv_param['stride'], conv_param['pad']
    windows = _padded_windows(x, HH, WW, stride, pad)
    # contract over C, HH, WW -> (N, H_out, W_out, F)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))
    out = out.transpose(0, 3, 1, 2) + b.reshape(1, F, 1, 1)
    out = np.ascontiguousarray(out)
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_strides(dout, cache):
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param['stride'], conv_param['pad']
    _, _, H_out, W_out = dout.shape

    windows = _padded_windows(x, HH, WW, stride, pad)

    db = dout.sum(axis=(0, 2, 3))
    # sum over n, output rows, output cols -> (F, C, HH, WW)
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))

    # gradient of every window: (N, H_out, W_out, C, HH, WW)
    dwin = np.tensordot(dout, w, axes=([1], [0]))
    dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    h_end = stride * (H_out - 1) + 1
    w_end = stride * (W_out - 1) + 1
    for a in range(HH):
        for c in range(WW):
            dx_pad[:, :, a:a + h_end:stride, c:c + w_end:stride] += \
                dwin[:, :, :, :, a, c].transpose(0, 3, 1, 2)
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


conv_forward_fast = conv_forward_strides
conv_backward_fast = conv_backward_strides


def max_pool_forward_fast(x, pool_param):
    """Reshape trick when the windows tile the input, naive loops otherwise."""
    N, C, H, W = x.shape
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    if ph == pw == stride and H % ph == 0 and W % pw == 0:
        blocks = x.reshape(N, C, H // ph, ph, W // pw, pw).transpose(0, 1, 2, 4, 3, 5)
        blocks = blocks.reshape(N, C, H // ph, W // pw, ph * pw)
        arg = blocks.argmax(axis=-1)
        out = np.take_along_axis(blocks, arg[..., None], axis=-1)[..., 0]
        return out, ('reshape', (x.shape, pool_param, arg))
    from .layers import max_pool_forward_naive
    out, cache = max_pool_forward_naive(x, pool_param)
    return out, ('naive', cache)


def max_pool_backward_fast(dout, cache):
    method, real_cache = cache
    if method == 'reshape':
        x_shape, pool_param, arg = real_cache
        N, C, H, W = x_shape
        ph, pw = pool_param['pool_height'], pool_param['pool_width']
        dblocks = np.zeros((N, C, H // ph, W // pw, ph * pw))
        np.put_along_axis(dblocks, arg[..., None], dout[..., None], axis=-1)
        dx = dblocks.reshape(N, C, H // ph, W // pw, ph, pw).transpose(0, 1, 2, 4, 3, 5)
        return dx.reshape(x_shape)
    from .layers import max_pool_backward_naive
    return max_pool_backward_naive(dout, real_cache)
