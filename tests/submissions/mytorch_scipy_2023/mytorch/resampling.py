import numpy as np


class Upsample1d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        """(N, C, W) -> (N, C, factor * (W - 1) + 1) with factor - 1 zeros between samples"""
        k = self.upsampling_factor
        N, C, W = A.shape
        Z = np.zeros((N, C, k * (W - 1) + 1))
        Z[:, :, ::k] = A
        return Z

    def backward(self, dLdZ):
        return dLdZ[:, :, ::self.upsampling_factor]


class Downsample1d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        self.W_in = A.shape[2]
        return A[:, :, ::self.downsampling_factor]

    def backward(self, dLdZ):
        N, C, _ = dLdZ.shape
        dLdA = np.zeros((N, C, self.W_in))
        dLdA[:, :, ::self.downsampling_factor] = dLdZ
        return dLdA


class Upsample2d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        k = self.upsampling_factor
        N, C, H, W = A.shape
        Z = np.zeros((N, C, k * (H - 1) + 1, k * (W - 1) + 1))
        Z[:, :, ::k, ::k] = A
        return Z

    def backward(self, dLdZ):
        k = self.upsampling_factor
        return dLdZ[:, :, ::k, ::k]


class Downsample2d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        k = self.downsampling_factor
        self.H_in, self.W_in = A.shape[2:]
        return A[:, :, ::k, ::k]

    def backward(self, dLdZ):
        k = self.downsampling_factor
        N, C = dLdZ.shape[:2]
        dLdA = np.zeros((N, C, self.H_in, self.W_in))
        dLdA[:, :, ::k, ::k] = dLdZ
        return dLdA
