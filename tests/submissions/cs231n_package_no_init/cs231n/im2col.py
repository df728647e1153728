from builtins import range
import numpy as np


def _output_shape(H, W, field_height, field_width, padding, stride):
    # floor division: windows that would run past the padded border are dropped
    out_height = (H + 2 * padding - field_height) // stride + 1
    out_width = (W + 2 * padding - field_width) // stride + 1
    return out_height, out_width


def get_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    """Index arrays (k, i, j) into the padded input such that
    x_padded[:, k, i, j] has shape (N, C * field_height * field_width, out_h * out_w).

    Row r = (c * field_height + a) * field_width + b  <->  channel c, offset (a, b)
    Col q = p * out_w + t                             <->  output position (p, t)
    """
    N, C, H, W = x_shape
    out_h, out_w = _output_shape(H, W, field_height, field_width, padding, stride)

    chan, a, b = np.meshgrid(np.arange(C), np.arange(field_height),
                             np.arange(field_width), indexing='ij')
    chan, a, b = chan.ravel(), a.ravel(), b.ravel()

    p, t = np.meshgrid(np.arange(out_h), np.arange(out_w), indexing='ij')
    p, t = p.ravel() * stride, t.ravel() * stride

    k = chan[:, np.newaxis]
    i = a[:, np.newaxis] + p[np.newaxis, :]
    j = b[:, np.newaxis] + t[np.newaxis, :]
    return k, i, j


def im2col_indices(x, field_height, field_width, padding=1, stride=1):
    """Columns of shape (C * fh * fw, out_h * out_w * N); the batch index
    varies fastest along the columns."""
    p = padding
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode='constant')
    k, i, j = get_im2col_indices(x.shape, field_height, field_width, padding, stride)
    cols = x_padded[:, k, i, j]                       # (N, K, P)
    K = cols.shape[1]
    return cols.transpose(1, 2, 0).reshape(K, -1)     # (K, P * N)


def col2im_indices(cols, x_shape, field_height=3, field_width=3, padding=1,
                   stride=1):
    """Adjoint of im2col_indices: scatter-add the columns back into an image."""
    N, C, H, W = x_shape
    x_padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    k, i, j = get_im2col_indices(x_shape, field_height, field_width, padding, stride)
    K = C * field_height * field_width
    vals = cols.reshape(K, -1, N).transpose(2, 0, 1)  # (N, K, P)
    np.add.at(x_padded, (slice(None), k, i, j), vals)
    return x_padded[:, :, padding:padding + H, padding:padding + W]
