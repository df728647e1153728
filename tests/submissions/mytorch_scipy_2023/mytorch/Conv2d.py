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
        N, C, H, W = A.shape
        K = self.kernel_size
        H_out, W_out = H - K + 1, W - K + 1
        windows = np.lib.stride_tricks.sliding_window_view(A, (K, K), axis=(2, 3))  # (N, C, H_out, W_out, K, K)
        self.cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * K * K)
        Z = self.cols @ self.W.reshape(self.out_channels, -1).T + self.b
        return Z.reshape(N, H_out, W_out, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        N, C, H, W = self.A.shape
        K = self.kernel_size
        H_out, W_out = dLdZ.shape[2], dLdZ.shape[3]
        dZ = dLdZ.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)

        self.dLdW = (dZ.T @ self.cols).reshape(self.W.shape)
        self.dLdb = dZ.sum(axis=0)

        dcols = (dZ @ self.W.reshape(self.out_channels, -1)).reshape(N, H_out, W_out, C, K, K)
        dLdA = np.zeros(self.A.shape)
        for p in range(K):
            for q in range(K):
                dLdA[:, :, p:p + H_out, q:q + W_out] += dcols[..., p, q].transpose(0, 3, 1, 2)
        return dLdA


class Conv2d():
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify the variable names
        self.stride = stride
        self.pad = padding

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
        # Pad the input appropriately using np.pad() function
        p = self.pad
        A = np.pad(A, ((0, 0), (0, 0), (p, p), (p, p)), 'constant')

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
        return dLdA[:, :, p:dLdA.shape[2] - p, p:dLdA.shape[3] - p]
