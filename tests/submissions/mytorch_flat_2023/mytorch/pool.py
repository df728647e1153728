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
            Z (np.array): (batch_size, in_channels, output_height, output_width)
        """
        self.A_shape = A.shape
        k = self.kernel
        batch_size, in_channels, input_height, input_width = A.shape
        output_height = input_height - k + 1
        output_width = input_width - k + 1

        Z = np.zeros((batch_size, in_channels, output_height, output_width))
        # position (row, col) inside the window of the first maximum, for backward
        self.max_row = np.zeros(Z.shape, dtype=int)
        self.max_col = np.zeros(Z.shape, dtype=int)
        for i in range(output_height):
            for j in range(output_width):
                window = A[:, :, i:i + k, j:j + k].reshape(batch_size, in_channels, k * k)
                flat_idx = np.argmax(window, axis=2)  # first maximum in row-major order
                Z[:, :, i, j] = np.max(window, axis=2)
                self.max_row[:, :, i, j] = flat_idx // k
                self.max_col[:, :, i, j] = flat_idx % k
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, in_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        batch_size, in_channels, output_height, output_width = dLdZ.shape
        dLdA = np.zeros(self.A_shape)
        for n in range(batch_size):
            for c in range(in_channels):
                for i in range(output_height):
                    for j in range(output_width):
                        r = i + self.max_row[n, c, i, j]
                        s = j + self.max_col[n, c, i, j]
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
            Z (np.array): (batch_size, in_channels, output_height, output_width)
        """
        self.A_shape = A.shape
        k = self.kernel
        batch_size, in_channels, input_height, input_width = A.shape
        output_height = input_height - k + 1
        output_width = input_width - k + 1

        Z = np.zeros((batch_size, in_channels, output_height, output_width))
        for i in range(output_height):
            for j in range(output_width):
                Z[:, :, i, j] = np.mean(A[:, :, i:i + k, j:j + k], axis=(2, 3))
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, in_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        k = self.kernel
        _, _, output_height, output_width = dLdZ.shape
        dLdA = np.zeros(self.A_shape)
        for i in range(output_height):
            for j in range(output_width):
                dLdA[:, :, i:i + k, j:j + k] += dLdZ[:, :, i:i + 1, j:j + 1] / (k * k)
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
            Z (np.array): (batch_size, in_channels, output_height, output_width)
        """
        Z = self.maxpool2d_stride1.forward(A)
        return self.downsample2d.forward(Z)

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, in_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        dLdZ_full = self.downsample2d.backward(dLdZ)
        return self.maxpool2d_stride1.backward(dLdZ_full)


class MeanPool2d():

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride

        # Create an instance of MeanPool2d_stride1
        self.meanpool2d_stride1 = MeanPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_height, input_width)
        Return:
            Z (np.array): (batch_size, in_channels, output_height, output_width)
        """
        Z = self.meanpool2d_stride1.forward(A)
        return self.downsample2d.forward(Z)

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, in_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        dLdZ_full = self.downsample2d.backward(dLdZ)
        return self.meanpool2d_stride1.backward(dLdZ_full)
