"""Naming: expose generic forwards as the per-op functions of the public pattern."""
from __future__ import annotations

from typing import Callable


def specialise(forward: Callable, name: str, **fixed) -> Callable:
    """``<name>_forward``: ``forward`` with the keyword arguments ``fixed`` bound (e.g. ``nd=2``)."""

    def bound(*args, **kwargs):
        return forward(*args, **kwargs, **fixed)

    bound.__name__ = bound.__qualname__ = f"{name}_forward"
    bound.__doc__ = f"{name}: {forward.__doc__}"
    bound.__wrapped__ = forward
    return bound
