import numpy as np

__all__ = ["Upsample1d", "Downsample1d", "Upsample2d", "Downsample2d"]


class Upsample1d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        """A: (N, C, W_in) -> Z: (N, C, k * (W_in - 1) + 1), zeros between samples."""
        k = self.upsampling_factor
        N, C, W_in = A.shape
        Z = np.zeros((N, C, k * (W_in - 1) + 1))
        Z[:, :, 0::k] = A
        return Z

    def backward(self, dLdZ):
        """Only the positions that held input samples carry gradient back."""
        return dLdZ[:, :, 0::self.upsampling_factor].copy()


class Downsample1d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        """Keep every k-th sample, starting with the first."""
        self.W_in = A.shape[-1]
        return A[:, :, 0::self.downsampling_factor].copy()

    def backward(self, dLdZ):
        N, C, _ = dLdZ.shape
        dLdA = np.zeros((N, C, self.W_in))
        dLdA[:, :, 0::self.downsampling_factor] = dLdZ
        return dLdA


class Upsample2d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        k = self.upsampling_factor
        N, C, H_in, W_in = A.shape
        Z = np.zeros((N, C, k * (H_in - 1) + 1, k * (W_in - 1) + 1))
        Z[:, :, 0::k, 0::k] = A
        return Z

    def backward(self, dLdZ):
        k = self.upsampling_factor
        return dLdZ[:, :, 0::k, 0::k].copy()


class Downsample2d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        k = self.downsampling_factor
        self.H_in, self.W_in = A.shape[2], A.shape[3]
        return A[:, :, 0::k, 0::k].copy()

    def backward(self, dLdZ):
        k = self.downsampling_factor
        N, C = dLdZ.shape[:2]
        dLdA = np.zeros((N, C, self.H_in, self.W_in))
        dLdA[:, :, 0::k, 0::k] = dLdZ
        return dLdA
