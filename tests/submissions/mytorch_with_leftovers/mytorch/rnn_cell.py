"""HW3P1 leftover: an Elman RNN cell (h_t = tanh(W_ih x + b_ih + W_hh h + b_hh))."""
import numpy as np
from activation import Tanh


class RNNCell(object):
    """RNN Cell class."""

    def __init__(self, input_size, hidden_size):

        self.input_size = input_size
        self.hidden_size = hidden_size

        # Activation function for the cell
        self.activation = Tanh()

        h = self.hidden_size
        d = self.input_size

        # Weights and biases
        self.W_ih = np.random.randn(h, d)
        self.W_hh = np.random.randn(h, h)
        self.b_ih = np.random.randn(h)
        self.b_hh = np.random.randn(h)

        # Gradients
        self.dW_ih = np.zeros((h, d))
        self.dW_hh = np.zeros((h, h))
        self.db_ih = np.zeros(h)
        self.db_hh = np.zeros(h)

    def init_weights(self, W_ih, W_hh, b_ih, b_hh):
        self.W_ih = W_ih
        self.W_hh = W_hh
        self.b_ih = b_ih
        self.b_hh = b_hh

    def zero_grad(self):
        d = self.input_size
        h = self.hidden_size
        self.dW_ih = np.zeros((h, d))
        self.dW_hh = np.zeros((h, h))
        self.db_ih = np.zeros(h)
        self.db_hh = np.zeros(h)

    def __call__(self, x, h_prev_t):
        return self.forward(x, h_prev_t)

    def forward(self, x, h_prev_t):
        """
        x: (batch_size, input_size), h_prev_t: (batch_size, hidden_size) -> h_t: (batch_size, hidden_size)
        """
        z = x @ self.W_ih.T + self.b_ih + h_prev_t @ self.W_hh.T + self.b_hh
        h_t = self.activation.forward(z)
        return h_t

    def backward(self, delta, h_t, h_prev_l, h_prev_t):
        """
        delta: dL/dh_t (batch_size, hidden_size); h_t: this cell's output;
        h_prev_l: the input x of this cell; h_prev_t: the previous hidden state.
        Parameter gradients are averaged over the batch, as in the HW3P1 handout.
        Returns dx (batch_size, input_size), dh_prev_t (batch_size, hidden_size).
        """
        batch_size = delta.shape[0]
        dz = delta * (1 - h_t * h_t)

        self.dW_ih += dz.T @ h_prev_l / batch_size
        self.dW_hh += dz.T @ h_prev_t / batch_size
        self.db_ih += dz.sum(axis=0) / batch_size
        self.db_hh += dz.sum(axis=0) / batch_size

        dx = dz @ self.W_ih
        dh_prev_t = dz @ self.W_hh
        return dx, dh_prev_t
