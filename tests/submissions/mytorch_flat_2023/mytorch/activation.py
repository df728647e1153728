import numpy as np


class Identity:

    def forward(self, Z):
        self.A = Z
        return self.A

    def backward(self, dLdA):
        dAdZ = np.ones(self.A.shape)
        dLdZ = dLdA * dAdZ
        return dLdZ


class Sigmoid:

    def forward(self, Z):
        self.A = 1.0 / (1.0 + np.exp(-Z))
        return self.A

    def backward(self, dLdA):
        dAdZ = self.A * (1.0 - self.A)
        return dLdA * dAdZ


class Tanh:

    def forward(self, Z):
        self.A = np.tanh(Z)
        return self.A

    def backward(self, dLdA):
        dAdZ = 1.0 - self.A ** 2
        return dLdA * dAdZ


class ReLU:

    def forward(self, Z):
        self.A = np.maximum(0, Z)
        return self.A

    def backward(self, dLdA):
        dAdZ = np.where(self.A > 0, 1.0, 0.0)
        return dLdA * dAdZ
