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
        self.N = A.shape[0]
        self.C = A.shape[1]
        se = (A - Y) ** 2
        sse = np.ones((1, self.N)) @ se @ np.ones((self.C, 1))
        mse = sse[0, 0] / (self.N * self.C)
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
        C = A.shape[1]

        Ones_C = np.ones((C, 1))
        Ones_N = np.ones((N, 1))

        e = np.exp(A - np.max(A, axis=1, keepdims=True))
        self.softmax = e / (e @ Ones_C)
        crossentropy = (-Y * np.log(self.softmax)) @ Ones_C
        sum_crossentropy = Ones_N.T @ crossentropy
        L = sum_crossentropy[0, 0] / N
        return L

    def backward(self):
        N = self.A.shape[0]
        dLdA = (self.softmax - self.Y) / N
        return dLdA
