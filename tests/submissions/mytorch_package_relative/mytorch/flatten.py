import numpy as np


class Flatten():

    def forward(self, A):
        """(batch_size, in_channels, in_width) -> (batch_size, in_channels * in_width)"""
        self.A_shape = A.shape
        return A.reshape(A.shape[0], -1)

    def backward(self, dLdZ):
        """(batch_size, in_channels * in_width) -> (batch_size, in_channels, in_width)"""
        return dLdZ.reshape(self.A_shape)
