"""Hand-derived forward and backward passes of CNN layers, in NumPy only.

Every op follows one pattern::

    out, cache = <op>_forward(*arrays, **options)
    grads      = <op>_backward(dout, cache)   # {input name: gradient}, one per differentiable input

``grads`` has one entry per differentiable array argument of the forward,
keyed by that argument's name (``'x'``, ``'w'``, ``'b'``, ...), each with the
shape and dtype of its input. Nothing is modified in place.

This package never imports torch; the torch oracles live in ``reference``.
"""
from .activations import (
    elu_backward,
    elu_forward,
    gelu_backward,
    gelu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softplus_backward,
    softplus_forward,
    tanh_backward,
    tanh_forward,
)
from .conv import (
    conv1d_backward,
    conv1d_forward,
    conv2d_backward,
    conv2d_forward,
    conv3d_backward,
    conv3d_forward,
    conv_backward,
    conv_forward,
)
