import numpy as np
from .resampling import *

__all__ = ["MaxPool2d_stride1", "MeanPool2d_stride1", "MaxPool2d", "MeanPool2d"]


class MaxPool2d_stride1():

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        """
        Slide over the k*k offsets in row-major order and keep a running max;
        a later offset only wins when strictly larger, so ties go to the first one.
        """
        k = self.kernel
        N, C, H, W = A.shape
        H_out, W_out = H - k + 1, W - k + 1
        self.A_shape = A.shape

        Z = A[:, :, 0:H_out, 0:W_out].copy()
        self.offset = np.zeros((N, C, H_out, W_out), dtype=int)
        for p in range(k):
            for q in range(k):
                candidate = A[:, :, p:p + H_out, q:q + W_out]
                better = candidate > Z
                Z[better] = candidate[better]
                self.offset[better] = p * k + q
        return Z

    def backward(self, dLdZ):
        k = self.kernel
        H_out, W_out = dLdZ.shape[2], dLdZ.shape[3]
        dLdA = np.zeros(self.A_shape)
        for p in range(k):
            for q in range(k):
                routed = np.where(self.offset == p * k + q, dLdZ, 0.0)
                dLdA[:, :, p:p + H_out, q:q + W_out] += routed
        return dLdA


class MeanPool2d_stride1():

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        k = self.kernel
        H_out, W_out = A.shape[2] - k + 1, A.shape[3] - k + 1
        self.A_shape = A.shape
        total = np.zeros((A.shape[0], A.shape[1], H_out, W_out))
        for p in range(k):
            for q in range(k):
                total += A[:, :, p:p + H_out, q:q + W_out]
        return total / (k * k)

    def backward(self, dLdZ):
        k = self.kernel
        H_out, W_out = dLdZ.shape[2], dLdZ.shape[3]
        dLdA = np.zeros(self.A_shape)
        for p in range(k):
            for q in range(k):
                dLdA[:, :, p:p + H_out, q:q + W_out] += dLdZ
        return dLdA / (k * k)


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
