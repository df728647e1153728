import numpy as np


class Upsample1d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        # insert (factor - 1) zeros between consecutive samples
        N, C, W_in = A.shape
        W_out = self.upsampling_factor * (W_in - 1) + 1
        Z = np.zeros((N, C, W_out))
        for i in range(W_in):
            Z[:, :, i * self.upsampling_factor] = A[:, :, i]
        return Z

    def backward(self, dLdZ):
        N, C, W_out = dLdZ.shape
        W_in = (W_out - 1) // self.upsampling_factor + 1
        dLdA = np.zeros((N, C, W_in))
        for i in range(W_in):
            dLdA[:, :, i] = dLdZ[:, :, i * self.upsampling_factor]
        return dLdA


class Downsample1d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        self.W_in = A.shape[2]
        Z = A[:, :, ::self.downsampling_factor].copy()
        return Z

    def backward(self, dLdZ):
        N, C, W_out = dLdZ.shape
        dLdA = np.zeros((N, C, self.W_in))
        for i in range(W_out):
            dLdA[:, :, i * self.downsampling_factor] = dLdZ[:, :, i]
        return dLdA


class Upsample2d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        f = self.upsampling_factor
        N, C, H_in, W_in = A.shape
        Z = np.zeros((N, C, f * (H_in - 1) + 1, f * (W_in - 1) + 1))
        Z[:, :, ::f, ::f] = A
        return Z

    def backward(self, dLdZ):
        f = self.upsampling_factor
        dLdA = dLdZ[:, :, ::f, ::f].copy()
        return dLdA


class Downsample2d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        f = self.downsampling_factor
        self.in_shape = A.shape
        Z = A[:, :, ::f, ::f].copy()
        return Z

    def backward(self, dLdZ):
        f = self.downsampling_factor
        dLdA = np.zeros(self.in_shape)
        dLdA[:, :, ::f, ::f] = dLdZ
        return dLdA
