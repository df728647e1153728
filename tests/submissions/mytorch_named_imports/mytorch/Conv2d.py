import numpy as np
from resampling import Downsample2d


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
        H_out = A.shape[2] - K + 1
        W_out = A.shape[3] - K + 1

        Z = np.zeros((A.shape[0], self.out_channels, H_out, W_out))
        for p in range(K):
            for q in range(K):
                shifted = A[:, :, p:p + H_out, q:q + W_out]
                Z += np.einsum('nchw,oc->nohw', shifted, self.W[:, :, p, q])
        Z += self.b.reshape(1, -1, 1, 1)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        K = self.kernel_size
        H_out, W_out = dLdZ.shape[2], dLdZ.shape[3]

        dLdW = np.zeros(self.W.shape)
        dLdA = np.zeros(self.A.shape)
        for p in range(K):
            for q in range(K):
                shifted = self.A[:, :, p:p + H_out, q:q + W_out]
                dLdW[:, :, p, q] = np.einsum('nohw,nchw->oc', dLdZ, shifted)
                dLdA[:, :, p:p + H_out, q:q + W_out] += np.einsum('nohw,oc->nchw', dLdZ, self.W[:, :, p, q])

        self.dLdW = dLdW
        self.dLdb = dLdZ.sum(axis=(0, 2, 3))
        return dLdA


class Conv2d():
    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 weight_init_fn=None, bias_init_fn=None):
        # Do not modify the variable names
        self.stride = stride

        # Initialize Conv2d() and Downsample2d() isntance
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn=weight_init_fn, bias_init_fn=bias_init_fn)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_height, input_width)
        Return:
            Z (np.array): (batch_size, out_channels, output_height, output_width)
        """
        Z = self.conv2d_stride1.forward(A)
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
        dLdA = self.conv2d_stride1.backward(dLdZ)
        return dLdA
