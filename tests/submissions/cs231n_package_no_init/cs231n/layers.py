from builtins import range
import numpy as np
from cs231n.im2col import *


def affine_forward(x, w, b):
    """
    Forward pass for an affine layer: x (N, d_1, ..., d_k) -> (N, M).
    cache: (x, w, b)
    """
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """
    Backward pass for an affine layer. Returns dx, dw, db.
    """
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    """
    Forward pass for ReLU. cache: x
    """
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """
    Backward pass for ReLU.
    """
    x = cache
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx


def batchnorm_forward(x, gamma, beta, bn_param):
    """
    Batch normalization forward pass, x of shape (N, D).
    """
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)

    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == 'train':
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
        out = gamma * x_hat + beta
        cache = (x_hat, gamma, sample_var, eps)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    elif mode == 'test':
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """
    Batch normalization backward pass.
    """
    x_hat, gamma, var, eps = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dx = (N * dx_hat - np.sum(dx_hat, axis=0)
          - x_hat * np.sum(dx_hat * x_hat, axis=0)) / (N * np.sqrt(var + eps))
    return dx, dgamma, dbeta


batchnorm_backward_alt = batchnorm_backward


def dropout_forward(x, dropout_param):
    """
    Inverted dropout. p is the probability of keeping a neuron.
    """
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])

    mask = None
    if mode == 'train':
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    else:
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


def dropout_backward(dout, cache):
    """
    Backward pass for inverted dropout.
    """
    dropout_param, mask = cache
    if dropout_param['mode'] == 'train':
        return dout * mask
    return dout


def conv_forward_naive(x, w, b, conv_param):
    """
    Forward pass for a convolutional layer (x: (N, C, H, W), w: (F, C, HH, WW)).

    I did this one with im2col right away: every receptive field becomes a
    column, then the whole layer is one matrix product.

    Returns out (N, F, H', W'), H' = 1 + (H + 2 * pad - HH) // stride,
    and cache = (x, w, b, conv_param, x_cols).
    """
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param['stride'], conv_param['pad']
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride

    x_cols = im2col_indices(x, HH, WW, padding=pad, stride=stride)   # (C*HH*WW, H_out*W_out*N)
    res = w.reshape(F, -1).dot(x_cols) + b.reshape(-1, 1)            # (F, H_out*W_out*N)
    out = res.reshape(F, H_out, W_out, N).transpose(3, 0, 1, 2)

    cache = (x, w, b, conv_param, x_cols)
    return out, cache


def conv_backward_naive(dout, cache):
    """
    Backward pass for a convolutional layer. Returns dx, dw, db.
    """
    x, w, b, conv_param, x_cols = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    F, _, HH, WW = w.shape

    db = np.sum(dout, axis=(0, 2, 3))

    dout_cols = dout.transpose(1, 2, 3, 0).reshape(F, -1)             # (F, H_out*W_out*N)
    dw = dout_cols.dot(x_cols.T).reshape(w.shape)

    dx_cols = w.reshape(F, -1).T.dot(dout_cols)
    dx = col2im_indices(dx_cols, x.shape, HH, WW, padding=pad, stride=stride)

    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """
    Max pooling forward pass, also through im2col: each channel is treated
    as its own one-channel image, every pooling window becomes a column.
    """
    N, C, H, W = x.shape
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride

    x_cols = im2col_indices(x.reshape(N * C, 1, H, W), ph, pw, padding=0, stride=stride)
    arg = np.argmax(x_cols, axis=0)                  # first maximum, row-major in the window
    out = x_cols[arg, np.arange(x_cols.shape[1])]
    out = out.reshape(H_out, W_out, N, C).transpose(2, 3, 0, 1)

    cache = (x, pool_param, x_cols.shape, arg)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """
    Max pooling backward pass: the gradient goes to the argmax of each window.
    """
    x, pool_param, cols_shape, arg = cache
    N, C, H, W = x.shape
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']

    dx_cols = np.zeros(cols_shape)
    dx_cols[arg, np.arange(cols_shape[1])] = dout.transpose(2, 3, 0, 1).ravel()
    dx = col2im_indices(dx_cols, (N * C, 1, H, W), ph, pw, padding=0, stride=stride)
    return dx.reshape(x.shape)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """
    Spatial batch normalization forward, x of shape (N, C, H, W).
    """
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


def spatial_batchnorm_backward(dout, cache):
    """
    Spatial batch normalization backward.
    """
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def softmax_loss(x, y):
    """
    Softmax loss and gradient, x (N, C), y (N,).
    """
    shifted = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted), axis=1, keepdims=True)
    log_probs = shifted - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx
