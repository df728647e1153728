# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np
from resampling import *


class Conv1d_stride1():
    def __init__(self, in_channels, out_channels, kernel_size,
                 weight_init_fn=None, bias_init_fn=None):
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
        N, C, W_in = A.shape
        K = self.kernel_size
        W_out = W_in - K + 1
        # im2col: one row per (sample, output position), C*K columns
        windows = np.lib.stride_tricks.sliding_window_view(A, K, axis=2)      # (N, C, W_out, K)
        self.cols = windows.transpose(0, 2, 1, 3).reshape(N * W_out, C * K)
        Z = self.cols @ self.W.reshape(self.out_channels, C * K).T + self.b   # (N*W_out, O)
        return Z.reshape(N, W_out, self.out_channels).transpose(0, 2, 1)

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_size)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_size)
        """
        N, C, W_in = self.A.shape
        K = self.kernel_size
        W_out = dLdZ.shape[2]
        dZ = dLdZ.transpose(0, 2, 1).reshape(N * W_out, self.out_channels)

        self.dLdW = (dZ.T @ self.cols).reshape(self.W.shape)
        self.dLdb = dZ.sum(axis=0)

        dcols = (dZ @ self.W.reshape(self.out_channels, C * K)).reshape(N, W_out, C, K)
        dLdA = np.zeros(self.A.shape)
        for k in range(K):
            dLdA[:, :, k:k + W_out] += dcols[:, :, :, k].transpose(0, 2, 1)
        return dLdA


class Conv1d():
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify the variable names

        self.stride = stride
        self.padding = padding

        # Initialize Conv1d_stride1() and Downsample1d() instance
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample1d = Downsample1d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_size)
        Return:
            Z (np.array): (batch_size, out_channels, output_size)
        """
        # Pad the input appropriately using np.pad() function
        A = np.pad(A, ((0, 0), (0, 0), (self.padding, self.padding)), 'constant')

        # Call conv1d_stride1
        Z = self.conv1d_stride1.forward(A)

        # Call downsample1d
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

        # Call conv1d_stride1 backward
        dLdA = self.conv1d_stride1.backward(dLdZ)

        # Unpad the gradient
        p = self.padding
        return dLdA[:, :, p:dLdA.shape[2] - p]
