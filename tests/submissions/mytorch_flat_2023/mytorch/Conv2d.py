import numpy as np
from resampling import *


class Conv2d_stride1():
    def __init__(self, in_channels, out_channels,
                 kernel_size, weight_init_fn=None, bias_init_fn=None):

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
        batch_size, _, input_height, input_width = A.shape
        output_height = input_height - K + 1
        output_width = input_width - K + 1

        Z = np.zeros((batch_size, self.out_channels, output_height, output_width))
        for i in range(output_height):
            for j in range(output_width):
                window = A[:, :, i:i + K, j:j + K]
                Z[:, :, i, j] = np.tensordot(window, self.W, axes=([1, 2, 3], [1, 2, 3])) + self.b
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        K = self.kernel_size
        _, _, output_height, output_width = dLdZ.shape

        self.dLdW = np.zeros(self.W.shape)
        for p in range(K):
            for q in range(K):
                patch = self.A[:, :, p:p + output_height, q:q + output_width]
                self.dLdW[:, :, p, q] = np.tensordot(dLdZ, patch, axes=([0, 2, 3], [0, 2, 3]))

        self.dLdb = np.sum(dLdZ, axis=(0, 2, 3))

        dLdA = np.zeros(self.A.shape)
        for i in range(output_height):
            for j in range(output_width):
                dLdA[:, :, i:i + K, j:j + K] += np.tensordot(dLdZ[:, :, i, j], self.W, axes=([1], [0]))
        return dLdA


class Conv2d():
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify the variable names
        self.stride = stride
        self.pad = padding

        # Initialize Conv2d_stride1() and Downsample2d() instance
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_height, input_width)
        Return:
            Z (np.array): (batch_size, out_channels, output_height, output_width)
        """
        p = self.pad
        A_padded = np.pad(A, ((0, 0), (0, 0), (p, p), (p, p)), mode='constant')
        Z = self.conv2d_stride1.forward(A_padded)
        Z = self.downsample2d.forward(Z)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        dLdZ_full = self.downsample2d.backward(dLdZ)
        dLdA_padded = self.conv2d_stride1.backward(dLdZ_full)

        p = self.pad
        H, W = dLdA_padded.shape[2], dLdA_padded.shape[3]
        dLdA = dLdA_padded[:, :, p:H - p, p:W - p]
        return dLdA
