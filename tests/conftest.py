"""Parametrize every test that takes a ``case`` with the registry's grids."""
from __future__ import annotations

import manual_grads
import pytest

from reference.registry import SPECS


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        full = metafunc.config.getoption("--full-grid")
        cases = [c for spec in SPECS.values() for c in spec.grid(full)]
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])
    if "handin_case" in metafunc.fixturenames:
        handin = metafunc.config.gradcheck_impl
        if handin is not None:
            from reference.grading.course_grids import item_grid

            profile = metafunc.config.gradcheck_profile
            points = [(item, c) for item, _ in profile.items(handin.format)
                      for c in item_grid(handin.format, item, handin.plan.bindings[item.name], profile.dtypes)]
            metafunc.parametrize("handin_case", points, ids=[f"{item.name}-{c.id}" for item, c in points])
        else:
            metafunc.parametrize("handin_case", [pytest.param(None, marks=pytest.mark.skip(
                reason="grades a hand-in: run with --impl HAND-IN"))], ids=["no-hand-in"])


@pytest.fixture(scope="session")
def impl():
    """The implementation the harness's own tests verify."""
    return manual_grads


@pytest.fixture
def record(request):
    """Keep a hand-in's case result for the score table (--impl / --grade-report): (item name, result)."""
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
