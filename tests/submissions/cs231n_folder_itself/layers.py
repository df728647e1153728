from builtins import range
import numpy as np

from .fast_layers import conv_forward_fast


def affine_forward(x, w, b):
    """
    Computes the forward pass for an affine (fully-connected) layer.
    Returns (out, cache) with cache = (x, w, b).
    """
    out = np.dot(x.reshape(x.shape[0], -1), w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """
    Computes the backward pass for an affine layer: returns dx, dw, db.
    """
    x, w, b = cache
    dx = np.dot(dout, w.T).reshape(x.shape)
    dw = np.dot(x.reshape(x.shape[0], -1).T, dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    """
    Computes the forward pass for a layer of rectified linear units (ReLUs).
    """
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """
    Computes the backward pass for a layer of rectified linear units (ReLUs).
    """
    x = cache
    dx = dout * (x > 0)
    return dx


def conv_forward_naive(x, w, b, conv_param):
    """
    A naive implementation of the forward pass for a convolutional layer.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,)
    conv_param: 'stride', 'pad'
    out: (N, F, 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride)
    """
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    S = conv_param['stride']
    P = conv_param['pad']
    Ho = 1 + (H + 2 * P - HH) // S
    Wo = 1 + (W + 2 * P - WW) // S

    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)), 'constant')
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    field = xp[n, :, i * S:i * S + HH, j * S:j * S + WW]
                    out[n, f, i, j] = np.sum(field * w[f]) + b[f]

    cache = (x, w, b, conv_param)
    return out, cache


def conv_forward_checked(x, w, b, conv_param):
    """
    Debug helper I used while writing the naive version: runs both and
    checks that they agree.
    """
    out, cache = conv_forward_naive(x, w, b, conv_param)
    out_fast, _ = conv_forward_fast(x, w, b, conv_param)
    assert np.allclose(out, out_fast), 'naive and fast convolution disagree'
    return out, cache


def conv_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a convolutional layer.
    Returns dx, dw, db.
    """
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    S = conv_param['stride']
    P = conv_param['pad']
    _, _, Ho, Wo = dout.shape

    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)), 'constant')
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(b.shape)

    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    g = dout[n, f, i, j]
                    db[f] += g
                    dw[f] += g * xp[n, :, i * S:i * S + HH, j * S:j * S + WW]
                    dxp[n, :, i * S:i * S + HH, j * S:j * S + WW] += g * w[f]

    dx = dxp[:, :, P:P + H, P:P + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """
    A naive implementation of the forward pass for a max-pooling layer.
    """
    N, C, H, W = x.shape
    PH = pool_param['pool_height']
    PW = pool_param['pool_width']
    S = pool_param['stride']
    Ho = 1 + (H - PH) // S
    Wo = 1 + (W - PW) // S

    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = np.max(x[n, c, i * S:i * S + PH, j * S:j * S + PW])

    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a max-pooling layer.
    """
    x, pool_param = cache
    N, C, H, W = x.shape
    PH = pool_param['pool_height']
    PW = pool_param['pool_width']
    S = pool_param['stride']
    _, _, Ho, Wo = dout.shape

    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * S:i * S + PH, j * S:j * S + PW]
                    k = np.argmax(window)          # first max in row-major order
                    dx[n, c, i * S + k // PW, j * S + k % PW] += dout[n, c, i, j]
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """
    Spatial batch normalization (train mode uses batch statistics over N, H, W).
    """
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)
    C = x.shape[1]
    running_mean = bn_param.get('running_mean', np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(C, dtype=x.dtype))

    g = gamma.reshape(1, C, 1, 1)
    bt = beta.reshape(1, C, 1, 1)
    cache = None
    if mode == 'train':
        mu = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))
        std = np.sqrt(var + eps).reshape(1, C, 1, 1)
        xhat = (x - mu.reshape(1, C, 1, 1)) / std
        out = g * xhat + bt
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
        cache = (xhat, std, g)
    elif mode == 'test':
        out = g * (x - running_mean.reshape(1, C, 1, 1)) / \
            np.sqrt(running_var.reshape(1, C, 1, 1) + eps) + bt
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """
    Backward pass for spatial batch normalization.
    """
    xhat, std, g = cache
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * xhat).sum(axis=(0, 2, 3))
    dxhat = dout * g
    dx = (dxhat - dxhat.mean(axis=(0, 2, 3), keepdims=True)
          - xhat * (dxhat * xhat).mean(axis=(0, 2, 3), keepdims=True)) / std
    return dx, dgamma, dbeta
