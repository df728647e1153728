"""manual_grads in cs231n's layers.py format (x: (N, C, H, W), w: (F, C, HH, WW))."""
import manual_grads as mg


def conv_forward_naive(x, w, b, conv_param):
    out, cache = mg.conv2d_forward(x, w, b, stride=conv_param["stride"], padding=conv_param["pad"])
    return out, cache


def conv_backward_naive(dout, cache):
    g = mg.conv2d_backward(dout, cache)
    return g["x"], g["w"], g["b"]


def max_pool_forward_naive(x, pool_param):
    return mg.max_pool2d_forward(x, (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"])


def max_pool_backward_naive(dout, cache):
    return mg.max_pool2d_backward(dout, cache)["x"]


def relu_forward(x):
    return mg.relu_forward(x)


def relu_backward(dout, cache):
    return mg.relu_backward(dout, cache)["x"]
