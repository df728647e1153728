import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


# ----------------------------------------------------------------------------
# fully connected / activations
# ----------------------------------------------------------------------------

def affine_forward(x, w, b):
    """out = x.reshape(N, -1) @ w + b ; cache = (x, w, b)"""
    out = np.tensordot(x.reshape(x.shape[0], -1), w, axes=1) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = np.einsum('nm,dm->nd', dout, w).reshape(x.shape)
    dw = np.einsum('nd,nm->dm', x2, dout)
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    out = np.maximum(x, 0)
    return out, x


def relu_backward(dout, cache):
    x = cache
    return np.where(x > 0, dout, 0)


# ----------------------------------------------------------------------------
# normalization / dropout
# ----------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)
    D = x.shape[1]
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    cache = None
    if mode == 'train':
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        inv_std = 1.0 / np.sqrt(var + eps)
        xhat = (x - mean) * inv_std
        out = gamma * xhat + beta
        cache = (xhat, gamma, inv_std)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == 'test':
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    else:
        raise ValueError(f'Invalid forward batchnorm mode "{mode}"')

    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def batchnorm_backward_alt(dout, cache):
    xhat, gamma, inv_std = cache
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum('nd,nd->d', dout, xhat)
    dxhat = dout * gamma
    dx = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    return dx, dgamma, dbeta


batchnorm_backward = batchnorm_backward_alt


def dropout_forward(x, dropout_param):
    """Inverted dropout, p = keep probability."""
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])
    mask = None
    if mode == 'train':
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    else:
        out = x
    return out.astype(x.dtype, copy=False), (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout * mask if dropout_param['mode'] == 'train' else dout


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    flat = np.moveaxis(x, 1, -1).reshape(-1, C)
    out, cache = batchnorm_forward(flat, gamma, beta, bn_param)
    return np.moveaxis(out.reshape(N, H, W, C), -1, 1), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    flat = np.moveaxis(dout, 1, -1).reshape(-1, C)
    dx, dgamma, dbeta = batchnorm_backward_alt(flat, cache)
    return np.moveaxis(dx.reshape(N, H, W, C), -1, 1), dgamma, dbeta


# ----------------------------------------------------------------------------
# convolution and pooling (vectorised: sliding windows + einsum)
# ----------------------------------------------------------------------------

def _windows(x, kh, kw, stride):
    """All kh x kw windows of x (N, C, H, W) taken every `stride` pixels:
    shape (N, C, H_out, W_out, kh, kw), H_out = 1 + (H - kh) // stride."""
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def conv_forward_naive(x, w, b, conv_param):
    """
    x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param {'stride', 'pad'}
    out (N, F, 1 + (H + 2 pad - HH) // stride, 1 + (W + 2 pad - WW) // stride)
    """
    stride, pad = conv_param['stride'], conv_param['pad']
    F, C, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = _windows(x_pad, HH, WW, stride)
    out = np.einsum('nchwij,fcij->nfhw', win, w, optimize=True) + b[None, :, None, None]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = dout.shape[2:]

    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = _windows(x_pad, HH, WW, stride)

    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum('nfhw,nchwij->fcij', dout, win, optimize=True)

    # every output pixel sends dout * w back to its window
    dwin = np.einsum('nfhw,fcij->nchwij', dout, w, optimize=True)
    dx_pad = np.zeros(x_pad.shape)
    for i in range(HH):
        for j in range(WW):
            dx_pad[:, :, i:i + stride * H_out:stride, j:j + stride * W_out:stride] += dwin[..., i, j]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    win = _windows(x, ph, pw, stride)
    N, C, H_out, W_out = win.shape[:4]
    flat = win.reshape(N, C, H_out, W_out, ph * pw)
    arg = flat.argmax(axis=-1)               # first maximum in row-major window order
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    cache = (x.shape, pool_param, arg)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x_shape, pool_param, arg = cache
    pw, stride = pool_param['pool_width'], pool_param['stride']
    N, C, H_out, W_out = dout.shape
    rows = np.arange(H_out)[:, None] * stride + arg // pw      # (N, C, H_out, W_out)
    cols = np.arange(W_out)[None, :] * stride + arg % pw
    n_idx = np.arange(N)[:, None, None, None]
    c_idx = np.arange(C)[None, :, None, None]
    dx = np.zeros(x_shape)
    np.add.at(dx, (n_idx, c_idx, rows, cols), dout)   # windows may overlap
    return dx


# ----------------------------------------------------------------------------
# losses
# ----------------------------------------------------------------------------

def softmax_loss(x, y):
    N = x.shape[0]
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(N), y].mean()
    dx = np.exp(logp)
    dx[np.arange(N), y] -= 1
    return loss, dx / N


def svm_loss(x, y):
    N = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(N), y][:, None] + 1.0)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    dx = (margins > 0).astype(float)
    dx[np.arange(N), y] = -dx.sum(axis=1)
    return loss, dx / N
