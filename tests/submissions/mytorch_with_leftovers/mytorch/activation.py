import math
import numpy as np

# scipy is not on my laptop; math.erf applied elementwise does the same job
_erf = np.vectorize(math.erf, otypes=[np.float64])


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
        self.A = 1 / (1 + np.exp(-Z))
        return self.A

    def backward(self, dLdA):
        dLdZ = dLdA * (self.A - self.A * self.A)
        return dLdZ


class Tanh:

    def forward(self, Z):
        self.A = np.tanh(Z)
        return self.A

    def backward(self, dLdA):
        dLdZ = dLdA * (1 - self.A * self.A)
        return dLdZ


class ReLU:

    def forward(self, Z):
        self.A = np.maximum(0, Z)
        return self.A

    def backward(self, dLdA):
        dLdZ = dLdA * (self.A > 0)
        return dLdZ


class GELU:

    def forward(self, Z):
        self.Z = Z
        self.A = 0.5 * Z * (1 + _erf(Z / np.sqrt(2)))
        return self.A

    def backward(self, dLdA):
        Z = self.Z
        dAdZ = 0.5 * (1 + _erf(Z / np.sqrt(2))) + Z * np.exp(-Z * Z / 2) / np.sqrt(2 * np.pi)
        dLdZ = dLdA * dAdZ
        return dLdZ
