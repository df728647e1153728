"""Call a hand-in's layers through the native ``forward`` / ``backward`` pattern (runs inside the worker).

The trusted side sends, per call, the item (the student's name for the layer),
the registry op and its configuration in torch's terms; an adapter translates
that into the course's call:

* ``native``  — ``<op>_forward(x, ..., **config) -> (out, cache)``, ``<op>_backward(dout, cache) -> dict``;
* ``cs231n``  — ``conv_forward_naive(x, w, b, {'stride', 'pad'})``, ``conv_backward_naive(dout, cache) -> (dx, dw, db)``,
  ``max_pool_forward_naive(x, {'pool_height', 'pool_width', 'stride'})``, ``relu_forward(x)``, ...;
* ``mytorch`` — a class built with the constructor arguments it names (``kernel`` or ``kernel_size``,
  with or without ``padding``), weights injected through ``weight_init_fn``/``bias_init_fn`` and
  ``W``/``b``, ``forward(A)``, ``backward(dLdZ)`` (or ``backward()`` returning dA/dZ for older
  activations), gradients read from ``dLdW``/``dLdb``.

Standard library and NumPy only: the worker loads this file by path.
"""
from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np


class NotExpressible(Exception):
    """The hand-in's class cannot take this configuration (reported as a failure, never as a skip)."""


def _ints(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


class NativeAdapter:
    def __init__(self, module):
        self.module = module

    def forward(self, item, op, *arrays, **config):
        return getattr(self.module, f"{op}_forward")(*arrays, **config)

    def backward(self, item, op, dout, cache):
        grads = getattr(self.module, f"{op}_backward")(dout, cache)
        if not isinstance(grads, dict):
            raise TypeError(f"{op}_backward must return a dict {{input name: gradient}}; got {type(grads).__name__}")
        return grads


class Cs231nAdapter:
    """cs231n ``layers.py`` function pairs: items ``conv_naive``, ``max_pool_naive``, ``relu``."""

    def __init__(self, functions: dict):
        self.functions = functions  # item -> (forward, backward)

    def forward(self, item, op, x, *arrays, **config):
        fwd = self.functions[item][0]
        if item == "conv_naive":
            w, b = arrays
            bias = np.zeros(w.shape[0], dtype=x.dtype) if b is None else b
            out, cache = fwd(x, w, bias, {"stride": _ints(config.get("stride", 1), 2)[0],
                                          "pad": _ints(config.get("padding", 0), 2)[0]})
            return out, (cache, b is not None)
        if item == "max_pool_naive":
            k = _ints(config["kernel_size"], 2)
            s = _ints(config.get("stride") or k, 2)[0]
            return fwd(x, {"pool_height": k[0], "pool_width": k[1], "stride": s})
        return fwd(x)

    def backward(self, item, op, dout, cache):
        bwd = self.functions[item][1]
        if item == "conv_naive":
            dx, dw, db = bwd(dout, cache[0])
            return {"x": dx, "w": dw, **({"b": db} if cache[1] else {})}
        return {"x": bwd(dout, cache)}


# The one table of mytorch constructor arguments: each argument the adapter passes -> the spellings
# semesters used, preferred first. reference.grading.formats builds each item's ``accepts`` from it (so a
# class is bound only when construct() can fill every parameter it requires) and report.calls spells the
# constructor line with it. A transposed convolution's factor is ``upsampling_factor`` or ``stride``.
ARGUMENT_SPELLINGS = {
    "in_channels": ("in_channels", "in_channel"), "out_channels": ("out_channels", "out_channel"),
    "kernel_size": ("kernel_size", "kernel"), "kernel": ("kernel", "kernel_size"), "stride": ("stride",),
    "padding": ("padding", "pad"), "upsampling_factor": ("upsampling_factor", "upsample_factor", "stride"),
    "downsampling_factor": ("downsampling_factor", "downsample_factor"),
    "weight_init_fn": ("weight_init_fn",), "bias_init_fn": ("bias_init_fn",),
}


def construct(cls, **known):
    """Instantiate ``cls`` passing the known arguments under the spellings its constructor uses."""
    params = inspect.signature(cls).parameters
    kwargs = {}
    for arg, value in known.items():
        if value is None:
            continue
        for spelling in ARGUMENT_SPELLINGS.get(arg, (arg,)):
            if spelling in params and spelling not in kwargs:
                kwargs[spelling] = value
                break
    return cls(**kwargs)


def _holders(obj, attr: str, depth: int = 3):
    """Objects reachable from ``obj`` (itself first) that have ``attr``: weights may live in a sub-layer."""
    seen, frontier, found = set(), [obj], []
    for _ in range(depth):
        nxt = []
        for o in frontier:
            if id(o) in seen:
                continue
            seen.add(id(o))
            if hasattr(o, attr):
                found.append(o)
            nxt += [v for v in vars(o).values() if hasattr(v, "__dict__") and not inspect.isclass(v)] if hasattr(o, "__dict__") else []
        frontier = nxt
    return found


class MytorchAdapter:
    """11-785 HW2P1 classes: one per item (``Conv1d_stride1``, ``Conv1d``, ...)."""

    def __init__(self, classes: dict):
        self.classes = classes  # item -> class

    def forward(self, item, op, x, *arrays, **config):
        cls = self.classes[item]
        x = np.asarray(x)
        nd = max(x.ndim - 2, 1)
        state = SimpleNamespace(w_transform=None, has_bias=False, op=op)
        params = inspect.signature(cls).parameters
        if op.startswith("conv"):
            w, b = arrays
            state.has_bias = b is not None
            weights = np.asarray(w)
            stride = _ints(config.get("stride", 1), nd)[0]
            padding = _ints(config.get("padding", 0), nd)[0]
            known = {"stride": stride}
            if op.startswith("conv_transpose"):  # torch layout (C_in, C_out, K) -> mytorch (C_out, C_in, K) flipped
                flip = (slice(None), slice(None)) + (slice(None, None, -1),) * nd
                weights = np.ascontiguousarray(weights[flip].swapaxes(0, 1))
                state.w_transform = lambda dw: np.ascontiguousarray(np.asarray(dw).swapaxes(0, 1)[flip])
                known = {"upsampling_factor": stride}
            else:
                if padding and not any(s in params for s in ARGUMENT_SPELLINGS["padding"]):
                    raise NotExpressible(f"{cls.__name__} takes no padding")
                known["padding"] = padding
            bias = np.zeros(weights.shape[0], dtype=x.dtype) if b is None else np.asarray(b)
            layer = construct(cls, in_channels=weights.shape[1], out_channels=weights.shape[0], kernel_size=weights.shape[2],
                              weight_init_fn=lambda *shape: weights.copy(), bias_init_fn=lambda *shape: bias.copy(), **known)
            for holder in _holders(layer, "W"):  # in case the init functions were ignored
                if np.shape(holder.W) == weights.shape:
                    holder.W, holder.b = weights.copy(), bias.copy()
        elif op.startswith(("upsample", "downsample")):
            # only the op's own factor: ``stride`` spells upsampling_factor, and must not reach a Downsample class
            factor = "upsampling_factor" if op.startswith("upsample") else "downsampling_factor"
            layer = construct(cls, **{factor: _ints(config["factor"], nd)[0]})
        elif op.endswith("pool2d"):
            k = _ints(config["kernel_size"], 2)[0]
            layer = construct(cls, kernel=k, stride=_ints(config.get("stride") or k, 2)[0])
        else:
            layer = cls()
        return layer.forward(x), (layer, state)

    def backward(self, item, op, dout, cache):
        layer, state = cache
        params = [p for p in inspect.signature(layer.backward).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        # older handouts: backward() takes nothing and returns the derivative dA/dZ only
        dx = layer.backward(dout) if params else np.asarray(dout) * layer.backward()
        grads = {"x": dx}
        if state.op.startswith("conv"):
            holder = next((h for h in _holders(layer, "dLdW")), None)
            if holder is None:
                raise AttributeError(f"{type(layer).__name__} (or a sub-layer) has no dLdW after backward")
            grads["w"] = holder.dLdW if state.w_transform is None else state.w_transform(holder.dLdW)
            if state.has_bias:
                grads["b"] = holder.dLdb
        return grads
