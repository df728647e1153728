"""HW2P1 autograd bonus leftover: Conv1d written against the HW1 autograd engine.

Not the HW2P1 Conv1d: it has no weight_init_fn / bias_init_fn, keeps dW / db (not dLdW / dLdb),
and forward needs the engine: forward(x, autograd_engine).
"""
import numpy as np


def conv1d_stride1_backward(dLdZ, A, W, b):
    K = W.shape[2]
    out_w = dLdZ.shape[2]
    dA = np.zeros(A.shape)
    dW = np.zeros(W.shape)
    for k in range(K):
        dW[:, :, k] = np.einsum('noi,nci->oc', dLdZ, A[:, :, k:k + out_w])
        dA[:, :, k:k + out_w] += np.einsum('noi,oc->nci', dLdZ, W[:, :, k])
    db = dLdZ.sum(axis=(0, 2))
    return [dA, dW, db]


def downsampling1d_backward(dLdZ, A, factor):
    dA = np.zeros(A.shape)
    dA[:, :, ::int(factor)] = dLdZ
    return [dA, None]


class Conv1d:
    def __init__(self, in_channel, out_channel, kernel_size, stride=1):
        self.in_channel = in_channel
        self.out_channel = out_channel
        self.kernel_size = kernel_size
        self.stride = stride

        self.W = np.random.normal(0, 1.0, (out_channel, in_channel, kernel_size))
        self.b = np.zeros(out_channel)
        self.dW = np.zeros(self.W.shape)
        self.db = np.zeros(self.b.shape)

    def forward(self, x, autograd_engine):
        K = self.kernel_size
        out_w = x.shape[2] - K + 1
        Z1 = np.zeros((x.shape[0], self.out_channel, out_w))
        for k in range(K):
            Z1 += np.einsum('nci,oc->noi', x[:, :, k:k + out_w], self.W[:, :, k])
        Z1 += self.b[None, :, None]
        autograd_engine.add_operation(inputs=[x, self.W, self.b], output=Z1,
                                      gradients_to_update=[None, self.dW, self.db],
                                      backward_operation=conv1d_stride1_backward)

        factor = np.array(self.stride)
        Z = Z1[:, :, ::self.stride].copy()
        autograd_engine.add_operation(inputs=[Z1, factor], output=Z,
                                      gradients_to_update=[None, None],
                                      backward_operation=downsampling1d_backward)
        return Z
