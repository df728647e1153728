import numpy as np

__all__ = ["Identity", "Sigmoid", "Tanh", "ReLU"]


class Identity:

    def forward(self, Z):
        self.A = Z
        return self.A

    def backward(self, dLdA):
        return dLdA * np.ones(self.A.shape)


class Sigmoid:

    def forward(self, Z):
        self.A = 1.0 / (1.0 + np.exp(-Z))
        return self.A

    def backward(self, dLdA):
        return dLdA * self.A * (1.0 - self.A)


class Tanh:

    def forward(self, Z):
        self.A = np.tanh(Z)
        return self.A

    def backward(self, dLdA):
        return dLdA * (1.0 - np.square(self.A))


class ReLU:

    def forward(self, Z):
        self.Z = Z
        self.A = np.where(Z > 0, Z, 0.0)
        return self.A

    def backward(self, dLdA):
        return dLdA * (self.Z > 0)
