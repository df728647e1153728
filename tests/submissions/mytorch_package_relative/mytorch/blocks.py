"""Small helper I used while debugging the scanning MLP: a Conv1d followed by a ReLU."""
import numpy as np
from .Conv1d import Conv1d
from .activation import ReLU


class Conv1dReLU():
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        self.conv = Conv1d(in_channels, out_channels, kernel_size, stride, padding,
                           weight_init_fn, bias_init_fn)
        self.act = ReLU()

    def forward(self, A):
        return self.act.forward(self.conv.forward(A))

    def backward(self, dLdA):
        return self.conv.backward(self.act.backward(dLdA))
