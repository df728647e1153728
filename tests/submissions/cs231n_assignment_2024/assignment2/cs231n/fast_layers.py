from __future__ import print_function
import numpy as np

try:
    from .im2col_cython import col2im_cython, im2col_cython  # noqa: F401
except ImportError:
    print("[fast_layers] im2col_cython is not compiled here -- "
          "conv_forward_fast / conv_backward_fast use the NumPy im2col below.")

from .layers import max_pool_forward_naive, max_pool_backward_naive


# ---------------------------------------------------------------------------
# My own im2col / col2im (NumPy fancy indexing, no Cython needed).
# Rows of the column matrix run over (c, di, dj), columns over (n, i, j).
# ---------------------------------------------------------------------------

def _patch_indices(C, HH, WW, H_out, W_out, stride):
    c = np.repeat(np.arange(C), HH * WW)
    di = np.tile(np.repeat(np.arange(HH), WW), C)
    dj = np.tile(np.arange(WW), C * HH)
    oi = stride * np.repeat(np.arange(H_out), W_out)
    oj = stride * np.tile(np.arange(W_out), H_out)
    rows = di[:, None] + oi[None, :]
    cols = dj[:, None] + oj[None, :]
    return c[:, None], rows, cols


def _out_size(H, W, HH, WW, stride, pad):
    return 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride


def im2col(x, HH, WW, stride, pad):
    N, C, H, W = x.shape
    H_out, W_out = _out_size(H, W, HH, WW, stride, pad)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    c, r, s = _patch_indices(C, HH, WW, H_out, W_out, stride)
    patches = x_pad[:, c, r, s]                      # (N, C*HH*WW, H_out*W_out)
    return patches.transpose(1, 0, 2).reshape(C * HH * WW, -1)


def col2im(cols, x_shape, HH, WW, stride, pad):
    N, C, H, W = x_shape
    H_out, W_out = _out_size(H, W, HH, WW, stride, pad)
    c, r, s = _patch_indices(C, HH, WW, H_out, W_out, stride)
    dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    vals = cols.reshape(C * HH * WW, N, H_out * W_out).transpose(1, 0, 2)
    np.add.at(dx_pad, (slice(None), c, r, s), vals)
    return dx_pad[:, :, pad:pad + H, pad:pad + W]


def conv_forward_im2col(x, w, b, conv_param):
    """Convolution forward pass as one matrix product over im2col columns."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out, W_out = _out_size(H, W, HH, WW, stride, pad)

    x_cols = im2col(x, HH, WW, stride, pad)
    res = w.reshape(F, -1) @ x_cols + b.reshape(-1, 1)   # (F, N*H_out*W_out)
    out = res.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(out)

    cache = (x, w, b, conv_param, x_cols)
    return out, cache


def conv_backward_im2col(dout, cache):
    """Backward pass matching conv_forward_im2col."""
    x, w, b, conv_param, x_cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape

    db = np.sum(dout, axis=(0, 2, 3))
    dout_r = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dw = (dout_r @ x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(F, -1).T @ dout_r
    dx = col2im(dx_cols, x.shape, HH, WW, stride, pad)
    return dx, dw, db


conv_forward_fast = conv_forward_im2col
conv_backward_fast = conv_backward_im2col


def max_pool_forward_fast(x, pool_param):
    """Pooling is cheap enough here: just use the naive version."""
    return max_pool_forward_naive(x, pool_param)


def max_pool_backward_fast(dout, cache):
    return max_pool_backward_naive(dout, cache)
