"""Benchmarks run with `pytest --benchmark-only` (or --benchmark-enable); plain `pytest` skips them."""
import pytest


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_only", False) or config.getoption("benchmark_enable", False):
        return
    skip = pytest.mark.skip(reason="benchmark: run with pytest --benchmark-only")
    for item in items:
        if "benchmark" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)
