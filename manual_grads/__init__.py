"""Hand-derived forward and backward passes of CNN layers, in NumPy only.

Every op follows one pattern::

    out, cache = <op>_forward(*arrays, **options)
    grads      = <op>_backward(dout, cache)   # {input name: gradient}, one per differentiable input

``grads`` has one entry per differentiable array argument of the forward,
keyed by that argument's name (``'x'``, ``'w'``, ``'b'``, ...), each with the
shape and dtype of its input. Nothing is modified in place.

This package never imports torch; the torch oracles live in ``reference``. It computes with NumPy only;
threadpoolctl holds BLAS to one thread while its GEMMs run on its own threads (:mod:`manual_grads.gemm`).

An op lives in one module of this package, which lists its public functions in ``__all__``; every module
whose ``__all__`` names a ``*_forward`` is collected here, so adding an op is adding its module. (The
shared mechanics and :mod:`manual_grads.lecture`, the lecture's forms of the ops, have no ``__all__`` of
forwards and are not exported.)
"""

from __future__ import annotations

import importlib as _importlib
import pkgutil as _pkgutil


def _op_modules():
    """The modules of this package whose ``__all__`` names a forward, by name."""
    for info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = _importlib.import_module(f"{__name__}.{info.name}")
        if any(name.endswith("_forward") for name in getattr(module, "__all__", ())):
            yield module


def _collect() -> list[str]:
    names: list[str] = []
    for module in _op_modules():
        for name in module.__all__:
            if name in globals():
                raise ImportError(f"manual_grads.{name} is exported twice (again by {module.__name__})")
            globals()[name] = getattr(module, name)
            names.append(name)
    return names


# the public API: every op's <op>_forward / <op>_backward (and the N-d entry points)
__all__ = _collect()
