"""manual_grads in 11-785 HW2P1 form: layers hold W, b, compute dLdW, dLdb, backward returns dLdA."""
import numpy as np

import manual_grads as mg
from manual_grads import resampling


class _Conv:
    nd = 1
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, weight_init_fn=None, bias_init_fn=None):
        shape = (out_channels, in_channels) + (kernel_size,) * self.nd
        self.W = weight_init_fn(*shape) if weight_init_fn else np.random.normal(0, 1.0, shape)
        self.b = bias_init_fn(out_channels) if bias_init_fn else np.zeros(out_channels)
        self.stride, self.padding = stride, padding

    def forward(self, A):
        Z, self.cache = mg.conv_forward(A, self.W, self.b, self.stride, self.padding)
        return Z

    def backward(self, dLdZ):
        g = mg.conv_backward(dLdZ, self.cache)
        self.dLdW, self.dLdb = g["w"], g["b"]
        return g["x"]


class Conv1d_stride1(_Conv):
    def __init__(self, in_channels, out_channels, kernel_size, weight_init_fn=None, bias_init_fn=None):
        super().__init__(in_channels, out_channels, kernel_size, 1, 0, weight_init_fn, bias_init_fn)


class Conv1d(_Conv):
    pass


class Conv2d_stride1(_Conv):
    nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, weight_init_fn=None, bias_init_fn=None):
        super().__init__(in_channels, out_channels, kernel_size, 1, 0, weight_init_fn, bias_init_fn)


class Conv2d(_Conv):
    nd = 2


class _ConvTranspose:
    """Upsample by the factor, then a stride-1 'valid' convolution (the handout's construction)."""
    nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, upsampling_factor, weight_init_fn=None, bias_init_fn=None):
        self.factor = upsampling_factor
        self.conv = (Conv1d_stride1 if self.nd == 1 else Conv2d_stride1)(in_channels, out_channels, kernel_size,
                                                                          weight_init_fn, bias_init_fn)

    def forward(self, A):
        up, self.up_cache = resampling.upsample_forward(A, self.factor, nd=self.nd)
        return self.conv.forward(up)

    def backward(self, dLdZ):
        return resampling.upsample_backward(self.conv.backward(dLdZ), self.up_cache)["x"]


class ConvTranspose1d(_ConvTranspose):
    pass


class ConvTranspose2d(_ConvTranspose):
    nd = 2
