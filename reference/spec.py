"""What the harness knows about an op: its family, its torch mirror and its case grid."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .cases import Case


@dataclass(frozen=True)
class OpSpec:
    name: str  # the implementation provides <name>_forward and <name>_backward
    family: str
    grid: Callable[[bool], list[Case]]  # full=False: default suite; True: the big sweep
    diagnose: Optional[Callable] = None  # (case, oracle, grads) -> finding or None, on failure
    linear_in: tuple[str, ...] = ()  # inputs the op is linear (affine) in, for the adjoint test

    @property
    def torch_forward(self) -> Callable:
        """The torch mirror: ``reference.torch_ops.<name>``, same signature as ``<name>_forward``.

        Imported on first use, so grading from golden fixtures works without torch.
        """
        from . import torch_ops

        return getattr(torch_ops, self.name)
