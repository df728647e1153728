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
        K = self.kernel_size
        windows = np.lib.stride_tricks.sliding_window_view(A, (K, K), axis=(2, 3))
        # windows[n, c, i, j, p, q] = A[n, c, i + p, j + q]
        Z = np.einsum('ncijpq,ocpq->noij', windows, self.W, optimize=True)
        Z = Z + self.b[None, :, None, None]
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        K = self.kernel_size
        out_h, out_w = dLdZ.shape[2], dLdZ.shape[3]

        windows = np.lib.stride_tricks.sliding_window_view(self.A, (K, K), axis=(2, 3))
        self.dLdW = np.einsum('noij,ncijpq->ocpq', dLdZ, windows, optimize=True)
        self.dLdb = dLdZ.sum(axis=(0, 2, 3))

        dLdA = np.zeros(self.A.shape)
        for p in range(K):
            for q in range(K):
                dLdA[:, :, p:p + out_h, q:q + out_w] += np.einsum('noij,oc->ncij', dLdZ, self.W[:, :, p, q])
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
        A_padded = np.pad(A, ((0, 0), (0, 0), (self.pad, self.pad), (self.pad, self.pad)))

        # Call Conv2d_stride1
        Z = self.conv2d_stride1.forward(A_padded)

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
        # Call downsample1d backward
        dLdZ = self.downsample2d.backward(dLdZ)

        # Call Conv1d_stride1 backward
        dLdA = self.conv2d_stride1.backward(dLdZ)

        # Unpad the gradient
        p = self.pad
        dLdA = dLdA[:, :, p:dLdA.shape[2] - p, p:dLdA.shape[3] - p]
        return dLdA
