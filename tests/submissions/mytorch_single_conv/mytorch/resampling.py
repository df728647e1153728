import numpy as np


class Upsample1d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width)
        Return:
            Z (np.array): (batch_size, in_channels, output_width)
        """
        factor = self.upsampling_factor
        output_width = A.shape[2] * factor - (factor - 1)
        Z = np.zeros((A.shape[0], A.shape[1], output_width))
        Z[:, :, ::factor] = A
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, in_channels, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width)
        """
        dLdA = np.array(dLdZ[:, :, ::self.upsampling_factor])
        return dLdA


class Downsample1d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width)
        Return:
            Z (np.array): (batch_size, in_channels, output_width)
        """
        self.input_width = A.shape[2]
        Z = np.array(A[:, :, ::self.downsampling_factor])
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, in_channels, output_width)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width)
        """
        dLdA = np.zeros((dLdZ.shape[0], dLdZ.shape[1], self.input_width))
        dLdA[:, :, ::self.downsampling_factor] = dLdZ
        return dLdA


class Upsample2d():

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width, input_height)
        Return:
            Z (np.array): (batch_size, in_channels, output_width, output_height)
        """
        factor = self.upsampling_factor
        out_h = A.shape[2] * factor - (factor - 1)
        out_w = A.shape[3] * factor - (factor - 1)
        Z = np.zeros((A.shape[0], A.shape[1], out_h, out_w))
        Z[:, :, ::factor, ::factor] = A
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, in_channels, output_width, output_height)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width, input_height)
        """
        factor = self.upsampling_factor
        dLdA = np.array(dLdZ[:, :, ::factor, ::factor])
        return dLdA


class Downsample2d():

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        """
        Argument:
            A (np.array): (batch_size, in_channels, input_width, input_height)
        Return:
            Z (np.array): (batch_size, in_channels, output_width, output_height)
        """
        factor = self.downsampling_factor
        self.input_size = (A.shape[2], A.shape[3])
        Z = np.array(A[:, :, ::factor, ::factor])
        return Z

    def backward(self, dLdZ):
        """
        Argument:
            dLdZ (np.array): (batch_size, in_channels, output_width, output_height)
        Return:
            dLdA (np.array): (batch_size, in_channels, input_width, input_height)
        """
        factor = self.downsampling_factor
        dLdA = np.zeros((dLdZ.shape[0], dLdZ.shape[1]) + self.input_size)
        dLdA[:, :, ::factor, ::factor] = dLdZ
        return dLdA
