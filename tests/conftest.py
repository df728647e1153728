"""Parametrize every test that takes a ``case`` with the registry's grids."""
from __future__ import annotations

import manual_grads
import pytest

from reference.registry import SPECS


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        full = metafunc.config.getoption("--full-grid")
        families = getattr(metafunc.module, "FAMILIES", None)
        cases = [
            c for spec in SPECS.values() if families is None or spec.family in families for c in spec.grid(full)
        ]
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])


@pytest.fixture(scope="session")
def impl():
    """The implementation under test."""
    return manual_grads
