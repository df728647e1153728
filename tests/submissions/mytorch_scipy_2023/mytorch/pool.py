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
        k = self.kernel
        N, C, H, W = A.shape
        H_out, W_out = H - k + 1, W - k + 1
        self.A_shape = A.shape
        windows = np.lib.stride_tricks.sliding_window_view(A, (k, k), axis=(2, 3))
        flat = windows.reshape(N, C, H_out, W_out, k * k)
        best = flat.argmax(axis=-1)                       # first maximum in row-major order
        # absolute input coordinates of each winner
        self.rows = best // k + np.arange(H_out)[:, None]
        self.cols = best % k + np.arange(W_out)[None, :]
        return flat.max(axis=-1)

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        N, C = dLdZ.shape[:2]
        n = np.arange(N)[:, None, None, None]
        c = np.arange(C)[None, :, None, None]
        dLdA = np.zeros(self.A_shape)
        np.add.at(dLdA, (n, c, self.rows, self.cols), dLdZ)
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
        windows = np.lib.stride_tricks.sliding_window_view(A, (k, k), axis=(2, 3))
        return windows.sum(axis=(4, 5)) / (k * k)

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        k = self.kernel
        # each input pixel receives dLdZ/(k*k) from every window covering it:
        # a full correlation of the zero-padded dLdZ with a k x k box
        padded = np.pad(dLdZ, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(2, 3))
        dLdA = windows.sum(axis=(4, 5)) / (k * k)
        assert dLdA.shape == self.A_shape
        return dLdA


class MaxPool2d():

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride

        # Create an instance of MaxPool2d_stride1
        self.maxpool2d_stride1 = MaxPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        return self.downsample2d.forward(self.maxpool2d_stride1.forward(A))

    def backward(self, dLdZ):
        return self.maxpool2d_stride1.backward(self.downsample2d.backward(dLdZ))


class MeanPool2d():

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride

        # Create an instance of MeanPool2d_stride1
        self.meanpool2d_stride1 = MeanPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        return self.downsample2d.forward(self.meanpool2d_stride1.forward(A))

    def backward(self, dLdZ):
        return self.meanpool2d_stride1.backward(self.downsample2d.backward(dLdZ))
