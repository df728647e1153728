import numpy as np


class MSELoss:

    def forward(self, A, Y):
        """
        Calculate the Mean Squared error
        :param A: Output of the model of shape (N, C)
        :param Y: Ground-truth values of shape (N, C)
        :Return: MSE Loss(scalar)
        """
        self.A = A
        self.Y = Y
        self.N, self.C = A.shape
        se = (A - Y) * (A - Y)
        sse = np.sum(se)
        mse = sse / (self.N * self.C)
        return mse

    def backward(self):
        dLdA = 2 * (self.A - self.Y) / (self.N * self.C)
        return dLdA


class CrossEntropyLoss:

    def forward(self, A, Y):
        """
        Calculate the Cross Entropy Loss
        :param A: Output of the model of shape (N, C)
        :param Y: Ground-truth values of shape (N, C)
        :Return: CrossEntropyLoss(scalar)
        """
        self.A = A
        self.Y = Y
        N = A.shape[0]

        shifted = A - np.max(A, axis=1, keepdims=True)
        exp_A = np.exp(shifted)
        self.softmax = exp_A / np.sum(exp_A, axis=1, keepdims=True)
        crossentropy = -np.sum(Y * np.log(self.softmax), axis=1)
        L = np.sum(crossentropy) / N
        return L

    def backward(self):
        N = self.A.shape[0]
        dLdA = (self.softmax - self.Y) / N
        return dLdA
