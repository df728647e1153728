import numpy as np


class Upsample1d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        N, C, W = A.shape
        Z = np.zeros((N, C, self.upsampling_factor * (W - 1) + 1))
        Z[..., ::self.upsampling_factor] = A
        return Z

    def backward(self, dLdZ):
        dLdA = dLdZ[..., ::self.upsampling_factor]
        return dLdA


class Downsample1d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        # remember the width: it cannot be recovered from the output alone
        self.input_shape = A.shape
        return A[..., ::self.downsampling_factor]

    def backward(self, dLdZ):
        dLdA = np.zeros(self.input_shape)
        dLdA[..., ::self.downsampling_factor] = dLdZ
        return dLdA


class Upsample2d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        f = self.upsampling_factor
        N, C, H, W = A.shape
        Z = np.zeros((N, C, f * (H - 1) + 1, f * (W - 1) + 1))
        Z[..., ::f, ::f] = A
        return Z

    def backward(self, dLdZ):
        f = self.upsampling_factor
        return dLdZ[..., ::f, ::f]


class Downsample2d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        f = self.downsampling_factor
        self.input_shape = A.shape
        return A[..., ::f, ::f]

    def backward(self, dLdZ):
        f = self.downsampling_factor
        dLdA = np.zeros(self.input_shape)
        dLdA[..., ::f, ::f] = dLdZ
        return dLdA
