"""The benchmark shapes: every op's, as its family file declares them (reference/families/*.py, ``benches=``)."""
from __future__ import annotations

from reference.benches import Bench, conv_bench  # noqa: F401 - re-exported for scripts and tests
from reference.registry import SPECS

BENCHES = [bench for spec in SPECS.values() for bench in spec.benches]
