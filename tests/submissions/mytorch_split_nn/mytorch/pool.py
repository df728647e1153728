import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from resampling import *


class MaxPool2d_stride1():

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_height, input_width)
        Return:
            Z (np.array): (batch_size, out_channels, output_height, output_width)
        """
        k = self.kernel
        self.A_shape = A.shape
        windows = sliding_window_view(A, (k, k), axis=(2, 3))  # (N, C, H_out, W_out, k, k)
        flat = windows.reshape(windows.shape[:4] + (k * k,))
        self.arg = np.argmax(flat, axis=-1)  # first maximum, row-major inside the window
        Z = np.take_along_axis(flat, self.arg[..., None], axis=-1)[..., 0]
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        k = self.kernel
        N, C, H_out, W_out = dLdZ.shape
        rows = np.arange(H_out).reshape(1, 1, -1, 1) + self.arg // k
        cols = np.arange(W_out).reshape(1, 1, 1, -1) + self.arg % k
        n_idx = np.arange(N).reshape(-1, 1, 1, 1)
        c_idx = np.arange(C).reshape(1, -1, 1, 1)
        dLdA = np.zeros(self.A_shape)
        # windows overlap, so the same input can win several times: accumulate
        np.add.at(dLdA, (n_idx, c_idx, rows, cols), dLdZ)
        return dLdA


class MeanPool2d_stride1():

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_height, input_width)
        Return:
            Z (np.array): (batch_size, out_channels, output_height, output_width)
        """
        k = self.kernel
        self.A_shape = A.shape
        windows = sliding_window_view(A, (k, k), axis=(2, 3))
        return windows.mean(axis=(4, 5))

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        k = self.kernel
        H_out, W_out = dLdZ.shape[2], dLdZ.shape[3]
        share = dLdZ / (k * k)
        dLdA = np.zeros(self.A_shape)
        for p in range(k):
            for q in range(k):
                dLdA[:, :, p:p + H_out, q:q + W_out] += share
        return dLdA


class MaxPool2d():

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride

        # Create an instance of MaxPool2d_stride1
        self.maxpool2d_stride1 = MaxPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        Z = self.maxpool2d_stride1.forward(A)
        Z = self.downsample2d.forward(Z)
        return Z

    def backward(self, dLdZ):
        dLdZ = self.downsample2d.backward(dLdZ)
        dLdA = self.maxpool2d_stride1.backward(dLdZ)
        return dLdA


class MeanPool2d():

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride

        # Create an instance of MeanPool2d_stride1
        self.meanpool2d_stride1 = MeanPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        Z = self.meanpool2d_stride1.forward(A)
        Z = self.downsample2d.forward(Z)
        return Z

    def backward(self, dLdZ):
        dLdZ = self.downsample2d.backward(dLdZ)
        dLdA = self.meanpool2d_stride1.backward(dLdZ)
        return dLdA
