import numpy as np
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
        self.A = A
        k = self.kernel
        batch_size, in_channels, H, W = A.shape
        out_h, out_w = H - k + 1, W - k + 1

        Z = np.zeros((batch_size, in_channels, out_h, out_w))
        self.max_pos = np.zeros((batch_size, in_channels, out_h, out_w, 2), dtype=int)
        for n in range(batch_size):
            for c in range(in_channels):
                for i in range(out_h):
                    for j in range(out_w):
                        window = A[n, c, i:i + k, j:j + k]
                        pos = np.unravel_index(np.argmax(window), (k, k))  # first maximum
                        Z[n, c, i, j] = window[pos]
                        self.max_pos[n, c, i, j] = (i + pos[0], j + pos[1])
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        batch_size, in_channels, out_h, out_w = dLdZ.shape
        dLdA = np.zeros(self.A.shape)
        for n in range(batch_size):
            for c in range(in_channels):
                for i in range(out_h):
                    for j in range(out_w):
                        r, s = self.max_pos[n, c, i, j]
                        dLdA[n, c, r, s] += dLdZ[n, c, i, j]
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
        self.A = A
        k = self.kernel
        out_h, out_w = A.shape[2] - k + 1, A.shape[3] - k + 1
        Z = np.zeros((A.shape[0], A.shape[1], out_h, out_w))
        for i in range(out_h):
            for j in range(out_w):
                Z[:, :, i, j] = np.sum(A[:, :, i:i + k, j:j + k], axis=(2, 3)) / (k * k)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        k = self.kernel
        out_h, out_w = dLdZ.shape[2], dLdZ.shape[3]
        dLdA = np.zeros(self.A.shape)
        for i in range(out_h):
            for j in range(out_w):
                dLdA[:, :, i:i + k, j:j + k] += dLdZ[:, :, i, j][:, :, np.newaxis, np.newaxis] / (k * k)
        return dLdA


class MaxPool2d():

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride

        # Create an instance of MaxPool2d_stride1
        self.maxpool2d_stride1 = MaxPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_height, input_width)
        Return:
            Z (np.array): (batch_size, out_channels, output_height, output_width)
        """
        Z = self.maxpool2d_stride1.forward(A)
        Z = self.downsample2d.forward(Z)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        dLdZ = self.downsample2d.backward(dLdZ)
        dLdA = self.maxpool2d_stride1.backward(dLdZ)
        return dLdA


class MeanPool2d():

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride

        # Create an instance of MaxPool2d_stride1
        self.meanpool2d_stride1 = MeanPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_height, input_width)
        Return:
            Z (np.array): (batch_size, out_channels, output_height, output_width)
        """
        Z = self.meanpool2d_stride1.forward(A)
        Z = self.downsample2d.forward(Z)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        dLdZ = self.downsample2d.backward(dLdZ)
        dLdA = self.meanpool2d_stride1.backward(dLdZ)
        return dLdA
