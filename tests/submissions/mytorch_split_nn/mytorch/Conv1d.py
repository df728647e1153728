# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from resampling import *


class Conv1d_stride1():
    def __init__(self, in_channels, out_channels, kernel_size, weight_init_fn=None, bias_init_fn=None):
        # Do not modify this method
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size

        if weight_init_fn is None:
            self.W = np.random.normal(0, 1.0, (out_channels, in_channels, kernel_size))
        else:
            self.W = weight_init_fn(out_channels, in_channels, kernel_size)

        if bias_init_fn is None:
            self.b = np.zeros(out_channels)
        else:
            self.b = bias_init_fn(out_channels)

        self.dLdW = np.zeros(self.W.shape)
        self.dLdb = np.zeros(self.b.shape)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_size)
        Return:
            Z (np.array): (batch_size, out_channels, output_size)
        """
        self.A = A
        # windows: (batch, in_channels, output_size, kernel_size)
        windows = sliding_window_view(A, self.kernel_size, axis=2)
        Z = np.tensordot(windows, self.W, axes=([1, 3], [1, 2]))  # (batch, output_size, out_channels)
        Z = Z.transpose(0, 2, 1) + self.b.reshape(1, -1, 1)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_size)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_size)
        """
        K = self.kernel_size

        windows = sliding_window_view(self.A, K, axis=2)  # (batch, in, out_size, K)
        self.dLdW = np.tensordot(dLdZ, windows, axes=([0, 2], [0, 2]))  # (out, in, K)
        self.dLdb = np.sum(dLdZ, axis=(0, 2))

        # full convolution of the zero-padded gradient with the flipped kernel
        dLdZ_padded = np.pad(dLdZ, ((0, 0), (0, 0), (K - 1, K - 1)))
        W_flipped = self.W[:, :, ::-1]
        grad_windows = sliding_window_view(dLdZ_padded, K, axis=2)  # (batch, out, in_size, K)
        dLdA = np.tensordot(grad_windows, W_flipped, axes=([1, 3], [0, 2]))  # (batch, in_size, in)
        dLdA = dLdA.transpose(0, 2, 1)
        return dLdA


class Conv1d():
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify the variable names

        self.stride = stride
        self.pad = padding

        # Initialize Conv1d() and Downsample1d() isntance
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size, weight_init_fn, bias_init_fn)
        self.downsample1d = Downsample1d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_size)
        Return:
            Z (np.array): (batch_size, out_channels, output_size)
        """
        # Pad the input appropriately using np.pad() function
        A = np.pad(A, ((0, 0), (0, 0), (self.pad, self.pad)))

        # Call Conv1d_stride1
        Z = self.conv1d_stride1.forward(A)

        # downsample
        Z = self.downsample1d.forward(Z)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_size)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_size)
        """
        # Call downsample1d backward
        dLdZ = self.downsample1d.backward(dLdZ)

        # Call Conv1d_stride1 backward
        dLdA = self.conv1d_stride1.backward(dLdZ)

        # Unpad the gradient
        if self.pad > 0:
            dLdA = dLdA[:, :, self.pad:-self.pad]
        return dLdA
