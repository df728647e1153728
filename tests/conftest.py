"""Parametrize every test that takes a ``case`` with the registry's grids."""
from __future__ import annotations

import manual_grads
import pytest

from reference.adapters import expressible
from reference.registry import SPECS


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        full = metafunc.config.getoption("--full-grid")
        graded = metafunc.config.gradcheck_impl
        cases = [c for spec in SPECS.values() for c in spec.grid(full)
                 if graded is None or expressible(graded.format, c.op, c.shapes, c.config) is None]
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])


@pytest.fixture(scope="session")
def impl(request):
    """The implementation under test: manual_grads, or the sandboxed --impl."""
    return request.config.gradcheck_impl or manual_grads


@pytest.fixture
def record(request):
    """Keep a case result for the score table (--impl / --grade-report)."""
    return request.config.gradcheck_results.append


def pytest_sessionfinish(session):
    """Under pytest-xdist, a worker hands its mutant verdicts to the controller, which prints the summary."""
    if hasattr(session.config, "workeroutput"):
        from tests.test_mutants import KILLS

        session.config.workeroutput["mutant_kills"] = {family: list(kills) for family, kills in KILLS.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: collect a finished worker's mutant verdicts."""
    from tests.test_mutants import KILLS

    for family, kills in getattr(node, "workeroutput", {}).get("mutant_kills", {}).items():
        KILLS[family].extend(kills)


def pytest_terminal_summary(terminalreporter):
    """Kill rate of the mutant catalogue, per family (when the mutant tests ran, in this process or its workers)."""
    from tests.test_mutants import KILLS

    if not KILLS:
        return
    terminalreporter.section("mutant kill rate")
    for family, kills in sorted(KILLS.items()):
        terminalreporter.write_line(f"{family:<30} {sum(kills)}/{len(kills)} caught ({100 * sum(kills) / len(kills):.0f}%)")
