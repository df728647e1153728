import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from resampling import *


class Conv2d_stride1():
    def __init__(self, in_channels, out_channels, kernel_size, weight_init_fn=None, bias_init_fn=None):

        # Do not modify this method

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size

        if weight_init_fn is None:
            self.W = np.random.normal(0, 1.0, (out_channels, in_channels, kernel_size, kernel_size))
        else:
            self.W = weight_init_fn(out_channels, in_channels, kernel_size, kernel_size)

        if bias_init_fn is None:
            self.b = np.zeros(out_channels)
        else:
            self.b = bias_init_fn(out_channels)

        self.dLdW = np.zeros(self.W.shape)
        self.dLdb = np.zeros(self.b.shape)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_height, input_width)
        Return:
            Z (np.array): (batch_size, out_channels, output_height, output_width)
        """
        self.A = A
        K = self.kernel_size
        windows = sliding_window_view(A, (K, K), axis=(2, 3))  # (batch, in, H_out, W_out, K, K)
        Z = np.tensordot(windows, self.W, axes=([1, 4, 5], [1, 2, 3]))  # (batch, H_out, W_out, out)
        Z = Z.transpose(0, 3, 1, 2) + self.b.reshape(1, -1, 1, 1)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        K = self.kernel_size

        windows = sliding_window_view(self.A, (K, K), axis=(2, 3))
        self.dLdW = np.tensordot(dLdZ, windows, axes=([0, 2, 3], [0, 2, 3]))  # (out, in, K, K)
        self.dLdb = np.sum(dLdZ, axis=(0, 2, 3))

        dLdZ_padded = np.pad(dLdZ, ((0, 0), (0, 0), (K - 1, K - 1), (K - 1, K - 1)))
        W_flipped = self.W[:, :, ::-1, ::-1]
        grad_windows = sliding_window_view(dLdZ_padded, (K, K), axis=(2, 3))  # (batch, out, H, W, K, K)
        dLdA = np.tensordot(grad_windows, W_flipped, axes=([1, 4, 5], [0, 2, 3]))  # (batch, H, W, in)
        dLdA = dLdA.transpose(0, 3, 1, 2)
        return dLdA


class Conv2d():
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify the variable names
        self.stride = stride
        self.pad = padding

        # Initialize Conv2d() and Downsample2d() isntance
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size, weight_init_fn, bias_init_fn)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_height, input_width)
        Return:
            Z (np.array): (batch_size, out_channels, output_height, output_width)
        """
        # Pad the input appropriately using np.pad() function
        p = self.pad
        A = np.pad(A, ((0, 0), (0, 0), (p, p), (p, p)))

        # Call Conv2d_stride1
        Z = self.conv2d_stride1.forward(A)

        # downsample
        Z = self.downsample2d.forward(Z)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        # Call downsample2d backward
        dLdZ = self.downsample2d.backward(dLdZ)

        # Call Conv2d_stride1 backward
        dLdA = self.conv2d_stride1.backward(dLdZ)

        # Unpad the gradient
        p = self.pad
        if p > 0:
            dLdA = dLdA[:, :, p:-p, p:-p]
        return dLdA
