import numpy as np
from .resampling import *

__all__ = ["Conv2d_stride1", "Conv2d"]


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
        N, C, H, W = A.shape
        K = self.kernel_size
        self.H_out, self.W_out = H - K + 1, W - K + 1

        # cols[n, i, j, c, p, q] = A[n, c, i + p, j + q]
        cols = np.zeros((N, self.H_out, self.W_out, C, K, K))
        for p in range(K):
            for q in range(K):
                cols[:, :, :, :, p, q] = A[:, :, p:p + self.H_out, q:q + self.W_out].transpose(0, 2, 3, 1)
        self.cols = cols.reshape(N, self.H_out * self.W_out, C * K * K)

        W_mat = self.W.reshape(self.out_channels, -1)
        Z = self.cols @ W_mat.T + self.b                       # (N, H_out * W_out, O)
        return Z.transpose(0, 2, 1).reshape(N, self.out_channels, self.H_out, self.W_out)

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        N, C, H, W = self.A.shape
        K = self.kernel_size
        W_mat = self.W.reshape(self.out_channels, -1)
        dZ = dLdZ.reshape(N, self.out_channels, -1)            # (N, O, H_out * W_out)

        self.dLdW = np.einsum('nol,nlj->oj', dZ, self.cols).reshape(self.W.shape)
        self.dLdb = dLdZ.sum(axis=(0, 2, 3))

        dcols = (dZ.transpose(0, 2, 1) @ W_mat).reshape(N, self.H_out, self.W_out, C, K, K)
        dLdA = np.zeros(self.A.shape)
        for p in range(K):
            for q in range(K):
                dLdA[:, :, p:p + self.H_out, q:q + self.W_out] += dcols[:, :, :, :, p, q].transpose(0, 3, 1, 2)
        return dLdA


class Conv2d():
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify the variable names
        self.stride = stride
        self.padding = padding

        # Initialize Conv2d() and Downsample2d() isntance
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
        p = self.padding
        N, C, H, W = A.shape
        A_pad = np.zeros((N, C, H + 2 * p, W + 2 * p))
        A_pad[:, :, p:p + H, p:p + W] = A
        return self.downsample2d.forward(self.conv2d_stride1.forward(A_pad))

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        p = self.padding
        dLdA_pad = self.conv2d_stride1.backward(self.downsample2d.backward(dLdZ))
        H = dLdA_pad.shape[2] - 2 * p
        W = dLdA_pad.shape[3] - 2 * p
        return dLdA_pad[:, :, p:p + H, p:p + W]
