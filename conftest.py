"""Project-wide pytest options.

--seed N       base seed of every case's random inputs (default 0); each case derives its own
               seed from it and its id, so `--seed N -k <id>` reproduces one failure exactly.
--full-grid    run the big sweep (every channel/bias combination) instead of the default grid.
"""
from __future__ import annotations

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("gradcheck", "gradient verification")
    group.addoption("--seed", type=int, default=0, help="base seed of all random inputs (default 0)")
    group.addoption("--full-grid", action="store_true", help="run the large case sweep (slow)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a large sweep, deselected unless --full-grid is given")


@pytest.fixture(scope="session")
def base_seed(request) -> int:
    return request.config.getoption("--seed")
