import numpy as np
from resampling import Downsample2d


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
        self.in_shape = A.shape

        Z = np.zeros((N, C, H_out, W_out))
        self.argmax = {}
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        window = A[n, c, i:i + k, j:j + k]
                        # np.argmax returns the first maximum in row-major order
                        r, s = np.unravel_index(np.argmax(window), window.shape)
                        Z[n, c, i, j] = window[r, s]
                        self.argmax[(n, c, i, j)] = (i + r, j + s)
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, out_channels, output_height, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_height, input_width)
        """
        dLdA = np.zeros(self.in_shape)
        for (n, c, i, j), (r, s) in self.argmax.items():
            dLdA[n, c, r, s] += dLdZ[n, c, i, j]
        return dLdA


class MeanPool2d_stride1():

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        k = self.kernel
        N, C, H, W = A.shape
        H_out, W_out = H - k + 1, W - k + 1
        self.in_shape = A.shape

        Z = np.zeros((N, C, H_out, W_out))
        for p in range(k):
            for q in range(k):
                Z += A[:, :, p:p + H_out, q:q + W_out]
        Z /= (k * k)
        return Z

    def backward(self, dLdZ):
        k = self.kernel
        H_out, W_out = dLdZ.shape[2], dLdZ.shape[3]
        dLdA = np.zeros(self.in_shape)
        for p in range(k):
            for q in range(k):
                dLdA[:, :, p:p + H_out, q:q + W_out] += dLdZ / (k * k)
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

        # Create an instance of MaxPool2d_stride1
        self.meanpool2d_stride1 = MeanPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        return self.downsample2d.forward(self.meanpool2d_stride1.forward(A))

    def backward(self, dLdZ):
        return self.meanpool2d_stride1.backward(self.downsample2d.backward(dLdZ))
