# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np
from .resampling import *

__all__ = ["Conv1d_stride1", "Conv1d"]


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

    def _im2col(self, A, out_size):
        # cols[n, i, c * K + k] = A[n, c, i + k]
        N, C, _ = A.shape
        K = self.kernel_size
        cols = np.zeros((N, out_size, C, K))
        for k in range(K):
            cols[:, :, :, k] = A[:, :, k:k + out_size].transpose(0, 2, 1)
        return cols.reshape(N, out_size, C * K)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_size)
        Return:
            Z (np.array): (batch_size, out_channels, output_size)
        """
        self.A = A
        self.out_size = A.shape[2] - self.kernel_size + 1
        self.cols = self._im2col(A, self.out_size)                 # (N, out_size, C*K)
        W_mat = self.W.reshape(self.out_channels, -1)               # (O, C*K)
        Z = self.cols @ W_mat.T + self.b                            # (N, out_size, O)
        return Z.transpose(0, 2, 1)

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_size)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_size)
        """
        N, C, _ = self.A.shape
        K = self.kernel_size
        W_mat = self.W.reshape(self.out_channels, -1)

        # dLdW: sum over the batch of dLdZ[n] (O, out_size) @ cols[n] (out_size, C*K)
        self.dLdW = np.einsum('noi,nij->oj', dLdZ, self.cols).reshape(self.W.shape)
        self.dLdb = dLdZ.sum(axis=(0, 2))

        # gradient of the columns, then scatter it back (col2im)
        dcols = (dLdZ.transpose(0, 2, 1) @ W_mat).reshape(N, self.out_size, C, K)
        dLdA = np.zeros(self.A.shape)
        for k in range(K):
            dLdA[:, :, k:k + self.out_size] += dcols[:, :, :, k].transpose(0, 2, 1)
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
        p = self.padding
        N, C, W = A.shape
        A_pad = np.zeros((N, C, W + 2 * p))
        A_pad[:, :, p:p + W] = A
        return self.downsample1d.forward(self.conv1d_stride1.forward(A_pad))

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_size)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_size)
        """
        p = self.padding
        dLdA_pad = self.conv1d_stride1.backward(self.downsample1d.backward(dLdZ))
        W = dLdA_pad.shape[2] - 2 * p
        return dLdA_pad[:, :, p:p + W]
