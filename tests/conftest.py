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


def pytest_terminal_summary(terminalreporter):
    """Kill rate of the mutant catalogue, per family (when the mutant tests ran)."""
    from tests.test_mutants import KILLS

    if not KILLS:
        return
    terminalreporter.section("mutant kill rate")
    for family, kills in sorted(KILLS.items()):
        terminalreporter.write_line(f"{family:<30} {sum(kills)}/{len(kills)} caught ({100 * sum(kills) / len(kills):.0f}%)")
