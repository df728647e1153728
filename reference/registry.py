"""Every op the harness verifies, by name."""
from __future__ import annotations

from .families import activations, conv, depthwise, pooling, transform, upsampling
from .spec import OpSpec

SPECS: dict[str, OpSpec] = {spec.name: spec for family in (conv, activations, pooling, upsampling, depthwise, transform) for spec in family.SPECS}


def families() -> list[str]:
    return sorted({s.family for s in SPECS.values()})
