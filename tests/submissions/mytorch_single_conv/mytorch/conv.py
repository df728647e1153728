# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np
from resampling import *


def corr1d(X, F):
    """Valid cross-correlation. X: (N, C, W), F: (O, C, K) -> (N, O, W - K + 1)."""
    K = F.shape[2]
    out_w = X.shape[2] - K + 1
    Y = np.zeros((X.shape[0], F.shape[0], out_w))
    for k in range(K):
        # (N, C, out_w) . (O, C) over C -> (N, out_w, O)
        Y += np.moveaxis(np.tensordot(X[:, :, k:k + out_w], F[:, :, k], axes=([1], [1])), 2, 1)
    return Y


def corr2d(X, F):
    """Valid cross-correlation. X: (N, C, H, W), F: (O, C, K, K) -> (N, O, H - K + 1, W - K + 1)."""
    K = F.shape[2]
    out_h = X.shape[2] - K + 1
    out_w = X.shape[3] - K + 1
    Y = np.zeros((X.shape[0], F.shape[0], out_h, out_w))
    for p in range(K):
        for q in range(K):
            part = np.tensordot(X[:, :, p:p + out_h, q:q + out_w], F[:, :, p, q], axes=([1], [1]))
            Y += np.moveaxis(part, 3, 1)
    return Y


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
        Z = corr1d(A, self.W) + self.b[np.newaxis, :, np.newaxis]
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_size)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_size)
        """
        K = self.kernel_size
        out_w = dLdZ.shape[2]

        # dLdW[o, c, k] = sum_n sum_i dLdZ[n, o, i] * A[n, c, i + k]
        self.dLdW = np.zeros(self.W.shape)
        for k in range(K):
            self.dLdW[:, :, k] = np.tensordot(dLdZ, self.A[:, :, k:k + out_w], axes=([0, 2], [0, 2]))
        self.dLdb = np.sum(dLdZ, axis=(0, 2))

        # dLdA = full convolution: pad dLdZ by K-1, correlate with the flipped kernel (channels swapped)
        dLdZ_pad = np.pad(dLdZ, ((0, 0), (0, 0), (K - 1, K - 1)), mode='constant')
        W_flip = np.flip(self.W, axis=2).transpose(1, 0, 2)  # (C, O, K)
        dLdA = corr1d(dLdZ_pad, W_flip)
        return dLdA


class Conv1d():
    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify the variable names

        self.stride = stride

        # Initialize Conv1d() and Downsample1d() isntance
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
        # Call Conv1d_stride1
        Z_stride1 = self.conv1d_stride1.forward(A)

        # downsample
        Z = self.downsample1d.forward(Z_stride1)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_size)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_size)
        """
        # Call downsample1d backward
        dLdZ_stride1 = self.downsample1d.backward(dLdZ)

        # Call Conv1d_stride1 backward
        dLdA = self.conv1d_stride1.backward(dLdZ_stride1)
        return dLdA


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
            A (np.array): (batch_size, in_channels, input_width, input_height)
        Return:
            Z (np.array): (batch_size, out_channels, output_width, output_height)
        """
        self.A = A
        Z = corr2d(A, self.W) + self.b[np.newaxis, :, np.newaxis, np.newaxis]
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_width, output_height)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width, input_height)
        """
        K = self.kernel_size
        out_h, out_w = dLdZ.shape[2], dLdZ.shape[3]

        self.dLdW = np.zeros(self.W.shape)
        for p in range(K):
            for q in range(K):
                self.dLdW[:, :, p, q] = np.tensordot(dLdZ, self.A[:, :, p:p + out_h, q:q + out_w],
                                                     axes=([0, 2, 3], [0, 2, 3]))
        self.dLdb = np.sum(dLdZ, axis=(0, 2, 3))

        dLdZ_pad = np.pad(dLdZ, ((0, 0), (0, 0), (K - 1, K - 1), (K - 1, K - 1)), mode='constant')
        W_flip = np.flip(self.W, axis=(2, 3)).transpose(1, 0, 2, 3)  # (C, O, K, K)
        dLdA = corr2d(dLdZ_pad, W_flip)
        return dLdA


class Conv2d():
    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify the variable names
        self.stride = stride

        # Initialize Conv2d() and Downsample2d() isntance
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width, input_height)
        Return:
            Z (np.array): (batch_size, out_channels, output_width, output_height)
        """
        # Call Conv2d_stride1
        Z_stride1 = self.conv2d_stride1.forward(A)

        # downsample
        Z = self.downsample2d.forward(Z_stride1)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_width, output_height)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width, input_height)
        """
        # Call downsample2d backward
        dLdZ_stride1 = self.downsample2d.backward(dLdZ)

        # Call Conv2d_stride1 backward
        dLdA = self.conv2d_stride1.backward(dLdZ_stride1)
        return dLdA


class ConvTranspose1d():
    def __init__(self, in_channels, out_channels, kernel_size, upsampling_factor,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify this method
        self.upsampling_factor = upsampling_factor

        # Initialize Conv1d stride 1 and upsample1d isntance
        self.upsample1d = Upsample1d(upsampling_factor)
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_size)
        Return:
            Z (np.array): (batch_size, out_channels, output_size)
        """
        # upsample
        A_upsampled = self.upsample1d.forward(A)

        # Call Conv1d_stride1()
        Z = self.conv1d_stride1.forward(A_upsampled)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_size)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_size)
        """
        # Call backward in the correct order
        delta_out = self.conv1d_stride1.backward(dLdZ)
        dLdA = self.upsample1d.backward(delta_out)
        return dLdA


class ConvTranspose2d():
    def __init__(self, in_channels, out_channels, kernel_size, upsampling_factor,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify this method
        self.upsampling_factor = upsampling_factor

        # Initialize Conv2d() isntance
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.upsample2d = Upsample2d(upsampling_factor)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width, input_height)
        Return:
            Z (np.array): (batch_size, out_channels, output_width, output_height)
        """
        # upsample
        A_upsampled = self.upsample2d.forward(A)

        # Call Conv2d_stride1()
        Z = self.conv2d_stride1.forward(A_upsampled)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_width, output_height)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width, input_height)
        """
        # Call backward in correct order
        delta_out = self.conv2d_stride1.backward(dLdZ)
        dLdA = self.upsample2d.backward(delta_out)
        return dLdA


class Flatten():

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, in_width)
        Return:
            Z (np.array): (batch_size, in_channels * in width)
        """
        self.A_shape = A.shape
        Z = A.reshape(A.shape[0], -1)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch size, in channels * in width)
        Return:
            dLdA (np.array): (batch size, in channels, in width)
        """
        dLdA = dLdZ.reshape(self.A_shape)
        return dLdA
