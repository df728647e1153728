import numpy as np
from scipy.special import erf


class Identity:

    def forward(self, Z):
        self.A = Z
        return self.A

    def backward(self, dLdA):
        dAdZ = np.ones(self.A.shape)
        dLdZ = dLdA * dAdZ
        return dLdZ


class Sigmoid:
    """
    On same lines as above:
    Define 'forward' function
    Define 'backward' function
    Read the writeup for further details on Sigmoid.
    """

    def forward(self, Z):
        self.A = 1 / (1 + np.exp(-Z))
        return self.A

    def backward(self, dLdA):
        dAdZ = self.A - self.A * self.A
        return dLdA * dAdZ


class Tanh:
    """
    On same lines as above:
    Define 'forward' function
    Define 'backward' function
    Read the writeup for further details on Tanh.
    """

    def forward(self, Z):
        self.A = np.tanh(Z)
        return self.A

    def backward(self, dLdA):
        dAdZ = 1 - self.A * self.A
        return dLdA * dAdZ


class ReLU:
    """
    On same lines as above:
    Define 'forward' function
    Define 'backward' function
    Read the writeup for further details on ReLU.
    """

    def forward(self, Z):
        self.A = np.maximum(0, Z)
        return self.A

    def backward(self, dLdA):
        dAdZ = np.where(self.A > 0, 1.0, 0.0)
        return dLdA * dAdZ


class GELU:
    """
    GELU(Z) = Z * Phi(Z) with the exact Gaussian CDF Phi(Z) = (1 + erf(Z / sqrt(2))) / 2
    """

    def forward(self, Z):
        self.Z = Z
        self.A = 0.5 * Z * (1 + erf(Z / np.sqrt(2)))
        return self.A

    def backward(self, dLdA):
        Z = self.Z
        dAdZ = 0.5 * (1 + erf(Z / np.sqrt(2))) + (Z / np.sqrt(2 * np.pi)) * np.exp(-0.5 * Z * Z)
        return dLdA * dAdZ


class Softmax:
    """
    Softmax does not act element-wise: it uses the whole row of Z.
    """

    def forward(self, Z):
        shifted = Z - np.max(Z, axis=1, keepdims=True)
        expZ = np.exp(shifted)
        self.A = expZ / np.sum(expZ, axis=1, keepdims=True)
        return self.A

    def backward(self, dLdA):
        N, C = dLdA.shape
        dLdZ = np.zeros((N, C))
        for i in range(N):
            J = np.zeros((C, C))
            for m in range(C):
                for n in range(C):
                    if m == n:
                        J[m, n] = self.A[i, m] * (1 - self.A[i, m])
                    else:
                        J[m, n] = -self.A[i, m] * self.A[i, n]
            dLdZ[i, :] = dLdA[i, :] @ J
        return dLdZ
