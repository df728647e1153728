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
    """
    Sigmoid: A = 1 / (1 + exp(-Z)), dA/dZ = A - A * A
    """

    def forward(self, Z):
        self.A = 1 / (1 + np.exp(-Z))
        return self.A

    def backward(self, dLdA):
        dLdZ = dLdA * (self.A - self.A * self.A)
        return dLdZ


class Tanh:
    """
    Tanh: A = tanh(Z), dA/dZ = 1 - A^2
    """

    def forward(self, Z):
        self.A = np.tanh(Z)
        return self.A

    def backward(self, dLdA):
        dLdZ = dLdA * (1 - self.A * self.A)
        return dLdZ


class ReLU:
    """
    ReLU: A = max(0, Z), dA/dZ = 1 where Z > 0 else 0
    """

    def forward(self, Z):
        self.A = np.maximum(0, Z)
        return self.A

    def backward(self, dLdA):
        dLdZ = np.where(self.A > 0, dLdA, 0.0)
        return dLdZ


class Softmax:
    """
    Softmax over each row; backward multiplies each row by its Jacobian.
    """

    def forward(self, Z):
        e = np.exp(Z - np.max(Z, axis=1, keepdims=True))
        self.A = e / np.sum(e, axis=1, keepdims=True)
        return self.A

    def backward(self, dLdA):
        N, C = dLdA.shape
        dLdZ = np.zeros((N, C))
        for i in range(N):
            a = self.A[i]
            J = np.diag(a) - np.outer(a, a)
            dLdZ[i, :] = dLdA[i, :] @ J
        return dLdZ
