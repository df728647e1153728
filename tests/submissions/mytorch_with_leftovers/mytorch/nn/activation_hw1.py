"""HW1P1 bonus (autograd) activations, kept from HW1. Not the HW2P1 API:
the layer needs an autograd engine and the gradient comes from autograd_engine.backward(...)."""
import numpy as np


def relu_backward(grad_output, x):
    return [grad_output * (x > 0)]


def sigmoid_backward(grad_output, x):
    s = 1.0 / (1.0 + np.exp(-x))
    return [grad_output * s * (1.0 - s)]


class Activation(object):
    def __init__(self, autograd_engine):
        self.state = None
        self.autograd_engine = autograd_engine

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def backward(self):
        # the engine owns the tape; there is nothing to do per layer
        raise NotImplementedError("use autograd_engine.backward(divergence)")


class ReLU(Activation):
    def forward(self, x):
        y = np.maximum(x, 0)
        self.autograd_engine.add_operation(inputs=[x], output=y, gradients_to_update=[None],
                                           backward_operation=relu_backward)
        return y


class Sigmoid(Activation):
    def forward(self, x):
        y = 1.0 / (1.0 + np.exp(-x))
        self.autograd_engine.add_operation(inputs=[x], output=y, gradients_to_update=[None],
                                           backward_operation=sigmoid_backward)
        return y
