import numpy as np
from numpy.lib.stride_tricks import as_strided
from resampling import *


def windows_of(A, kernel):
    """Read-only view (N, C, H_out, W_out, kernel, kernel) of every kernel x kernel window."""
    N, C, H, W = A.shape
    A = np.ascontiguousarray(A)
    s = A.strides
    shape = (N, C, H - kernel + 1, W - kernel + 1, kernel, kernel)
    return as_strided(A, shape=shape, strides=(s[0], s[1], s[2], s[3], s[2], s[3]), writeable=False)


class MaxPool2d_stride1():

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width, input_height)
        Return:
            Z (np.array): (batch_size, out_channels, output_width, output_height)
        """
        k = self.kernel
        self.A_shape = A.shape
        win = windows_of(A, k)
        flat = win.reshape(win.shape[:4] + (k * k,))
        self.idx = np.argmax(flat, axis=4)  # first maximum when there are ties
        Z = np.max(flat, axis=4)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_width, output_height)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width, input_height)
        """
        k = self.kernel
        N, C, H_out, W_out = dLdZ.shape
        dLdA = np.zeros(self.A_shape)
        n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing='ij')
        for i in range(H_out):
            for j in range(W_out):
                r = i + self.idx[:, :, i, j] // k
                s = j + self.idx[:, :, i, j] % k
                # one (n, c) pair per entry, so no duplicates inside this assignment
                dLdA[n_idx, c_idx, r, s] += dLdZ[:, :, i, j]
        return dLdA


class MeanPool2d_stride1():

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width, input_height)
        Return:
            Z (np.array): (batch_size, out_channels, output_width, output_height)
        """
        self.A_shape = A.shape
        Z = windows_of(A, self.kernel).mean(axis=(4, 5))
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_width, output_height)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width, input_height)
        """
        k = self.kernel
        N, C, H_out, W_out = dLdZ.shape
        dLdA = np.zeros(self.A_shape)
        for i in range(H_out):
            for j in range(W_out):
                dLdA[:, :, i:i + k, j:j + k] += (dLdZ[:, :, i, j] / (k * k))[:, :, None, None]
        return dLdA


class MaxPool2d():

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride

        #Create an instance of MaxPool2d_stride1
        self.maxpool2d_stride1 = MaxPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width, input_height)
        Return:
            Z (np.array): (batch_size, out_channels, output_width, output_height)
        """
        Z = self.maxpool2d_stride1.forward(A)
        Z = self.downsample2d.forward(Z)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_width, output_height)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width, input_height)
        """
        dLdZ = self.downsample2d.backward(dLdZ)
        dLdA = self.maxpool2d_stride1.backward(dLdZ)
        return dLdA


class MeanPool2d():

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride

        #Create an instance of MaxPool2d_stride1
        self.meanpool2d_stride1 = MeanPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width, input_height)
        Return:
            Z (np.array): (batch_size, out_channels, output_width, output_height)
        """
        Z = self.meanpool2d_stride1.forward(A)
        Z = self.downsample2d.forward(Z)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_width, output_height)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width, input_height)
        """
        dLdZ = self.downsample2d.backward(dLdZ)
        dLdA = self.meanpool2d_stride1.backward(dLdZ)
        return dLdA
