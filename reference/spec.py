"""What the harness knows about an op: its family, its torch mirror and its case grid."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .cases import Case


@dataclass(frozen=True)
class OpSpec:
    name: str  # the implementation provides <name>_forward and <name>_backward
    family: str
    torch_forward: Callable  # same signature as <name>_forward, in torch
    grid: Callable[[bool], list[Case]]  # full=False: default suite; True: the big sweep
    diagnose: Optional[Callable] = None  # (case, oracle, grads) -> finding or None, on failure
    linear_in: tuple[str, ...] = ()  # inputs the op is linear (affine) in, for the adjoint test
