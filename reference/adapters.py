"""Present other people's layer code through the native ``<op>_forward`` / ``<op>_backward`` API.

Formats:

* ``native``  — a module (or folder/file) with the same API as ``manual_grads``;
* ``cs231n``  — ``layers.py`` functions: ``conv_forward_naive(x, w, b, conv_param) -> (out, cache)``,
  ``conv_backward_naive(dout, cache) -> (dx, dw, db)``, ``max_pool_forward_naive(x, pool_param)``,
  ``max_pool_backward_naive(dout, cache) -> dx``, ``relu_forward(x)``, ``relu_backward(dout, cache)``
  (``_fast`` variants are used when the naive ones are missing);
* ``mytorch`` — 11-785 HW2P1 classes found anywhere under ``mytorch/`` (``Conv1d``, ``Conv2d``,
  ``Conv1d_stride1``, ``ConvTranspose1d/2d``, ``Upsample1d/2d``, ``Downsample1d/2d``, ``MaxPool2d``,
  ``MeanPool2d``, ``*_stride1``, ``ReLU``, ``Sigmoid``, ``Tanh``) with ``forward(A)``, ``backward(dLdZ)``,
  weights ``W``/``b`` and gradients ``dLdW``/``dLdb``; constructor arguments are bound by name.

:func:`expressible` says, without loading any code, which cases a format can
express (a cs231n convolution has no dilation or groups, ...); only those run.

Standard library and NumPy only: this file runs inside the untrusted worker.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from types import ModuleType, SimpleNamespace

import numpy as np

FORMATS = ("native", "cs231n", "mytorch")


class NotExpressible(Exception):
    """The submission's format (or its particular classes) cannot express this configuration."""


# --- what each format can express (static; shared by grader and worker) ------------------

def _ints(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def _uniform(v, nd) -> bool:
    return len(set(_ints(v, nd))) == 1


def expressible(fmt: str, op: str, shapes: dict, config: dict) -> str | None:
    """None if ``fmt`` can express the case, else the reason it cannot."""
    if fmt == "native":
        return None
    rules = CS231N_OPS if fmt == "cs231n" else MYTORCH_OPS
    if op not in rules:
        return f"{fmt} has no counterpart of {op}"
    return rules[op](shapes, config)


def _conv_rule(nd, need_square_kernel):
    def rule(shapes, config):
        if config.get("dilation", 1) not in (1, (1,) * nd) or config.get("groups", 1) != 1:
            return "no dilation or groups"
        if isinstance(config.get("padding", 0), str) or not _uniform(config.get("padding", 0), nd):
            return "padding must be one int"
        if not _uniform(config.get("stride", 1), nd):
            return "stride must be one int"
        if need_square_kernel and len(set(shapes["w"][2:])) != 1:
            return "kernel must be square"
        return None
    return rule


def _pool_rule(shapes, config):
    k = _ints(config["kernel_size"], 2)
    stride = config.get("stride") or k
    if config.get("padding", 0) not in (0, (0, 0)) or config.get("dilation", 1) not in (1, (1, 1)) or config.get("ceil_mode"):
        return "no padding, dilation or ceil_mode"
    if k[0] != k[1] or not _uniform(stride, 2):
        return "kernel must be square and stride one int"
    if config.get("divisor_override"):
        return "no divisor_override"
    return None


def _transpose_rule(nd):
    def rule(shapes, config):
        k = shapes["w"][2:]
        reason = _conv_rule(nd, nd == 2)(shapes, {**config, "padding": 0})
        if reason:
            return reason
        if _ints(config.get("padding", 0), nd) != tuple(ki - 1 for ki in k) or any(_ints(config.get("output_padding", 0), nd)):
            return "mytorch ConvTranspose is upsample + valid conv: padding must be kernel-1, no output_padding"
        return None
    return rule


def _factor_rule(nd):
    return lambda shapes, config: None if _uniform(config["factor"], nd) else "factor must be one int"


CS231N_OPS = {"conv2d": _conv_rule(2, False), "max_pool2d": _pool_rule, "relu": lambda s, c: None}
MYTORCH_OPS = {
    "conv1d": _conv_rule(1, False), "conv2d": _conv_rule(2, True),
    "conv_transpose1d": _transpose_rule(1), "conv_transpose2d": _transpose_rule(2),
    "upsample1d": _factor_rule(1), "upsample2d": _factor_rule(2),
    "downsample1d": _factor_rule(1), "downsample2d": _factor_rule(2),
    "max_pool2d": _pool_rule, "avg_pool2d": _pool_rule,  # no padding, so count_include_pad cannot matter
    "relu": lambda s, c: None, "sigmoid": lambda s, c: None, "tanh": lambda s, c: None,
}


# --- loading -----------------------------------------------------------------------------

def _import_path(path: str) -> ModuleType:
    """Import a .py file, or a folder (its __init__.py, else the single / 'layers' module inside)."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        init = os.path.join(path, "__init__.py")
        if os.path.exists(init):
            sys.path.insert(0, os.path.dirname(path))
            return importlib.import_module(os.path.basename(path))
        sys.path.insert(0, path)
        candidates = [f for f in sorted(os.listdir(path)) if f.endswith(".py")]
        for preferred in ("layers.py", "submission.py"):
            if preferred in candidates:
                return importlib.import_module(preferred[:-3])
        if len(candidates) == 1:
            return importlib.import_module(candidates[0][:-3])
        raise ImportError(f"folder {path} has no __init__.py and no single module to load ({candidates})")
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _mytorch_classes(root: str) -> dict:
    """Every class defined in the .py files under ``root/mytorch`` (or ``root`` itself), by name."""
    base = os.path.join(root, "mytorch") if os.path.isdir(os.path.join(root, "mytorch")) else root
    sys.path.insert(0, os.path.dirname(base))
    classes = {}
    for folder, _, files in os.walk(base):
        for f in sorted(files):
            if not f.endswith(".py") or f == "__init__.py":
                continue
            rel = os.path.relpath(os.path.join(folder, f[:-3]), os.path.dirname(base))
            module = importlib.import_module(rel.replace(os.sep, "."))
            classes.update({n: c for n, c in vars(module).items() if inspect.isclass(c) and c.__module__ == module.__name__})
    return classes


def detect(path: str) -> str:
    """Guess a submission's format from its files."""
    if os.path.isdir(path) and (os.path.isdir(os.path.join(path, "mytorch")) or os.path.basename(path.rstrip("/")) == "mytorch"):
        return "mytorch"
    files = [path] if os.path.isfile(path) else [os.path.join(path, f) for f in os.listdir(path) if f.endswith(".py")]
    text = "".join(open(f, encoding="utf-8", errors="replace").read() for f in files if os.path.isfile(f))
    if "def conv_forward_naive" in text or "def conv_forward_fast" in text or "def relu_forward" in text and "def relu_backward" in text:
        return "cs231n"
    return "native"


def load(target: str, fmt: str = "auto"):
    """The implementation object for ``target`` (dotted module, .py file or folder) in ``fmt``."""
    is_path = os.path.exists(target)
    if fmt == "auto":
        fmt = detect(target) if is_path else "native"
    if fmt == "mytorch":
        return fmt, MytorchAdapter(_mytorch_classes(target))
    module = _import_path(target) if is_path else importlib.import_module(target)
    return fmt, (Cs231nAdapter(module) if fmt == "cs231n" else module)


# --- cs231n ------------------------------------------------------------------------------

class Cs231nAdapter:
    """cs231n ``layers.py`` functions as native ops (conv2d, max_pool2d, relu)."""

    def __init__(self, module: ModuleType):
        self._m = module
        pick = lambda *names: next((getattr(module, n) for n in names if hasattr(module, n)), None)  # noqa: E731
        self._conv = (pick("conv_forward_naive", "conv_forward_fast"), pick("conv_backward_naive", "conv_backward_fast"))
        self._pool = (pick("max_pool_forward_naive", "max_pool_forward_fast"), pick("max_pool_backward_naive", "max_pool_backward_fast"))
        self._relu = (pick("relu_forward"), pick("relu_backward"))
        for op, (fwd, bwd) in (("conv2d", self._conv), ("max_pool2d", self._pool), ("relu", self._relu)):
            if fwd and bwd:
                setattr(self, f"{op}_forward", getattr(self, f"_{op}_forward"))
                setattr(self, f"{op}_backward", getattr(self, f"_{op}_backward"))

    def _conv2d_forward(self, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        bias = np.zeros(w.shape[0], dtype=x.dtype) if b is None else b
        out, cache = self._conv[0](x, w, bias, {"stride": _ints(stride, 2)[0], "pad": _ints(padding, 2)[0] if padding != "valid" else 0})
        return out, (cache, b is not None)

    def _conv2d_backward(self, dout, cache):
        dx, dw, db = self._conv[1](dout, cache[0])
        return {"x": dx, "w": dw, **({"b": db} if cache[1] else {})}

    def _max_pool2d_forward(self, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        k = _ints(kernel_size, 2)
        s = _ints(stride or k, 2)[0]
        return self._pool[0](x, {"pool_height": k[0], "pool_width": k[1], "stride": s})

    def _max_pool2d_backward(self, dout, cache):
        return {"x": self._pool[1](dout, cache)}

    def _relu_forward(self, x):
        return self._relu[0](x)

    def _relu_backward(self, dout, cache):
        return {"x": self._relu[1](dout, cache)}


# --- 11-785 mytorch ------------------------------------------------------------------------

def _construct(cls, **known):
    """Instantiate ``cls`` passing the known arguments its constructor names."""
    params = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in known.items() if k in params})


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
    """11-785 HW2P1 classes as native ops."""

    def __init__(self, classes: dict):
        self._c = classes
        ops = {
            "conv1d": ("Conv1d", "Conv1d_stride1"), "conv2d": ("Conv2d", "Conv2d_stride1"),
            "conv_transpose1d": ("ConvTranspose1d",), "conv_transpose2d": ("ConvTranspose2d",),
            "upsample1d": ("Upsample1d",), "upsample2d": ("Upsample2d",),
            "downsample1d": ("Downsample1d",), "downsample2d": ("Downsample2d",),
            "max_pool2d": ("MaxPool2d", "MaxPool2d_stride1"), "avg_pool2d": ("MeanPool2d", "MeanPool2d_stride1"),
            "relu": ("ReLU",), "sigmoid": ("Sigmoid",), "tanh": ("Tanh",),
        }
        for op, names in ops.items():
            if any(n in classes for n in names):
                setattr(self, f"{op}_forward", self._bind_forward(op, names))
                setattr(self, f"{op}_backward", self._backward)

    def _class(self, names, stride):
        full = next((self._c[n] for n in names if n in self._c and not n.endswith("_stride1")), None)
        unit = next((self._c[n] for n in names if n in self._c and n.endswith("_stride1")), None)
        if full is not None:
            return full
        if unit is not None and stride == 1:
            return unit
        raise NotExpressible(f"only {[n for n in names if n in self._c]} is defined, which cannot take stride {stride}")

    def _bind_forward(self, op, names):
        def forward(x, *arrays, **config):
            return self._forward(op, names, x, *arrays, **config)
        return forward

    def _forward(self, op, names, x, w=None, b=None, **config):
        x = np.asarray(x)
        nd = max(x.ndim - 2, 1)  # activations take any shape and have no stride
        stride = _ints(config.get("stride") or config.get("kernel_size") or 1, nd)[0]
        cls = self._class(names, stride)
        state = SimpleNamespace(w_transform=None, has_bias=b is not None, op=op)
        known = {"stride": stride, "upsampling_factor": None, "downsampling_factor": None}
        if op.startswith(("conv", "conv_transpose")):
            weights = np.asarray(w)
            if op.startswith("conv_transpose"):  # torch layout (C_in, C_out, K) -> mytorch (C_out, C_in, K) flipped
                flip = (slice(None), slice(None)) + (slice(None, None, -1),) * nd
                weights = np.ascontiguousarray(weights[flip].swapaxes(0, 1))
                state.w_transform = lambda dw: np.ascontiguousarray(np.asarray(dw).swapaxes(0, 1)[flip])
                known["upsampling_factor"] = stride
            bias = np.zeros(weights.shape[0], dtype=x.dtype) if b is None else np.asarray(b)
            params = inspect.signature(cls).parameters
            if "padding" not in params and _ints(config.get("padding", 0), nd)[0] and not op.startswith("conv_transpose"):
                raise NotExpressible(f"{cls.__name__} takes no padding")
            known.update(in_channels=weights.shape[1], out_channels=weights.shape[0], kernel_size=weights.shape[2],
                         padding=_ints(config.get("padding", 0), nd)[0],
                         weight_init_fn=lambda *shape: weights.copy(), bias_init_fn=lambda *shape: bias.copy())
            layer = _construct(cls, **known)
            for holder in _holders(layer, "W"):  # in case the init functions were ignored
                if np.shape(holder.W) == weights.shape:
                    holder.W, holder.b = weights.copy(), bias.copy()
        elif op.startswith(("upsample", "downsample")):
            factor = _ints(config["factor"], nd)[0]
            layer = _construct(cls, upsampling_factor=factor, downsampling_factor=factor)
        elif op.endswith("pool2d"):
            layer = _construct(cls, kernel=_ints(config["kernel_size"], 2)[0], kernel_size=_ints(config["kernel_size"], 2)[0],
                               stride=stride)
        else:
            layer = cls()
        return layer.forward(x), (layer, state)

    def _backward(self, dout, cache):
        layer, state = cache
        params = inspect.signature(layer.backward).parameters
        if params:
            dx = layer.backward(dout)
        else:  # older handouts: backward() returns the derivative dA/dZ only
            dx = np.asarray(dout) * layer.backward()
        grads = {"x": dx}
        if state.op.startswith("conv"):
            holder = next((h for h in _holders(layer, "dLdW")), None)
            if holder is None:
                raise AttributeError(f"{type(layer).__name__} (or a sub-layer) has no dLdW after backward")
            grads["w"] = holder.dLdW if state.w_transform is None else state.w_transform(holder.dLdW)
            if state.has_bias:
                grads["b"] = holder.dLdb
        return grads
