"""Hand-derived forward and backward passes of CNN layers, in NumPy only.

Every op follows one pattern::

    out, cache = <op>_forward(*arrays, **options)
    grads      = <op>_backward(dout, cache)   # {input name: gradient}, one per differentiable input

``grads`` has one entry per differentiable array argument of the forward,
keyed by that argument's name (``'x'``, ``'w'``, ``'b'``, ...), each with the
shape and dtype of its input. Nothing is modified in place.

This package never imports torch; the torch oracles live in ``reference``. It computes with NumPy only;
threadpoolctl holds BLAS to one thread while its GEMMs run on its own threads (:mod:`manual_grads.gemm`).
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
from .depthwise import (
    conventional_parameter_count,
    depthwise_conv1d_backward,
    depthwise_conv1d_forward,
    depthwise_conv2d_backward,
    depthwise_conv2d_forward,
    separable_conv1d_backward,
    separable_conv1d_forward,
    separable_conv2d_backward,
    separable_conv2d_forward,
    separable_parameter_count,
)
from .interpolation import interpolate_backward, interpolate_forward
from .pooling import (
    adaptive_avg_pool1d_backward,
    adaptive_avg_pool1d_forward,
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    avg_pool1d_backward,
    avg_pool1d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool1d_backward,
    max_pool1d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from .resampling import (
    downsample1d_backward,
    downsample1d_forward,
    downsample2d_backward,
    downsample2d_forward,
    upsample1d_backward,
    upsample1d_forward,
    upsample2d_backward,
    upsample2d_forward,
)
from .transposed_conv import (
    conv_transpose1d_backward,
    conv_transpose1d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)
from .transform import (
    transform_avg_pool_backward,
    transform_avg_pool_forward,
    transform_group_conv2d_backward,
    transform_group_conv2d_forward,
    transform_lifting_conv2d_backward,
    transform_lifting_conv2d_forward,
    transform_max_pool_backward,
    transform_max_pool_forward,
)

# the public API: every op's <op>_forward / <op>_backward (and the N-d entry points)
__all__ = [
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softplus_backward",
    "softplus_forward",
    "tanh_backward",
    "tanh_forward",
    "conv1d_backward",
    "conv1d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "conv3d_backward",
    "conv3d_forward",
    "conv_backward",
    "conv_forward",
    "conventional_parameter_count",
    "depthwise_conv1d_backward",
    "depthwise_conv1d_forward",
    "depthwise_conv2d_backward",
    "depthwise_conv2d_forward",
    "separable_conv1d_backward",
    "separable_conv1d_forward",
    "separable_conv2d_backward",
    "separable_conv2d_forward",
    "separable_parameter_count",
    "interpolate_backward",
    "interpolate_forward",
    "adaptive_avg_pool1d_backward",
    "adaptive_avg_pool1d_forward",
    "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool2d_forward",
    "avg_pool1d_backward",
    "avg_pool1d_forward",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "max_pool1d_backward",
    "max_pool1d_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "downsample1d_backward",
    "downsample1d_forward",
    "downsample2d_backward",
    "downsample2d_forward",
    "upsample1d_backward",
    "upsample1d_forward",
    "upsample2d_backward",
    "upsample2d_forward",
    "conv_transpose1d_backward",
    "conv_transpose1d_forward",
    "conv_transpose2d_backward",
    "conv_transpose2d_forward",
    "transform_avg_pool_backward",
    "transform_avg_pool_forward",
    "transform_group_conv2d_backward",
    "transform_group_conv2d_forward",
    "transform_lifting_conv2d_backward",
    "transform_lifting_conv2d_forward",
    "transform_max_pool_backward",
    "transform_max_pool_forward",
]
