"""Project-wide pytest options.

--seed N            base seed of every case's random inputs (default 0); each case derives its own
                    seed from it and its id, so `--seed N -k <id>` reproduces one failure exactly.
--full-grid         run the big sweep instead of the default grid.
--impl TARGET       grade a hand-in: a dotted module, a .py file or a folder. It runs in a sandboxed
                    worker process; only tests/test_handin.py runs (the harness's own tests are
                    deselected), one test per case of each item of the profile.
--impl-format F     auto (default), native, cs231n or mytorch.
--profile P         course profile (default: the format's; see reference/grading/profiles/).
--time-limit S      seconds per call of the graded code (default 10).
--memory-limit GIB  address space of the worker (default 4).
--forbid-torch      graded code may not import torch.
--rubric FILE       points per op ([ops] TOML), instead of a profile.
--grade-report PATH with --impl: write Gradescope results.json (JUnit XML: pytest's own --junitxml).
"""
from __future__ import annotations

import os

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("gradcheck", "gradient verification")
    group.addoption("--seed", type=int, default=0, help="base seed of all random inputs (default 0)")
    group.addoption("--full-grid", action="store_true", help="run the large case sweep (slow)")
    group.addoption("--impl", default=None, help="implementation to grade (module, .py file or folder)")
    group.addoption("--impl-format", default="auto", choices=("auto", "native", "cs231n", "mytorch"))
    group.addoption("--time-limit", type=float, default=10.0, help="seconds per call of graded code")
    group.addoption("--memory-limit", type=float, default=4.0, help="GiB of address space for graded code")
    group.addoption("--forbid-torch", action="store_true", help="graded code may not import torch")
    group.addoption("--profile", default=None, help="course profile for --impl (default: the format's)")
    group.addoption("--rubric", default=None, help="rubric TOML of points per op, instead of a profile")
    group.addoption("--grade-report", default=None, help="write Gradescope results.json here")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a large sweep, deselected unless --full-grid is given")
    workers = getattr(config.option, "numprocesses", None)
    if workers and not hasattr(config, "workerinput"):
        # pytest-xdist: each worker gets its share of the cores for BLAS / torch / manual_grads (set
        # before the workers start), else their thread pools fight and -n 2 runs slower than -n 0
        from reference.threads import VARIABLES, share

        n = share(workers if isinstance(workers, int) else os.cpu_count() or 1)
        for variable in VARIABLES:
            os.environ.setdefault(variable, str(n))
    config.gradcheck_results = []
    config.gradcheck_impl = None
    target = config.getoption("--impl")
    if target:
        from reference.grading.engine import plan
        from reference.grading.profiles import Profile
        from reference.grading.sandbox import Limits, SandboxedHandIn

        chosen = config.getoption("--profile") or config.getoption("--rubric")
        the_plan, profile = plan(target, config.getoption("--impl-format"), Profile.load(chosen) if chosen else None)
        limits = Limits(config.getoption("--time-limit"), int(config.getoption("--memory-limit") * 2**30),
                        config.getoption("--forbid-torch"))
        config.gradcheck_impl = SandboxedHandIn(the_plan, limits)
        config.gradcheck_profile = profile


def pytest_collection_modifyitems(config, items):
    """Under --impl only the hand-in's cases run: the harness's own tests would pass on manual_grads."""
    if config.getoption("--impl"):
        keep = [i for i in items if i.nodeid.split("::")[0].endswith("test_handin.py")]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_unconfigure(config):
    if getattr(config, "gradcheck_impl", None) is not None:
        config.gradcheck_impl.close()


@pytest.fixture(scope="session")
def base_seed(request) -> int:
    return request.config.getoption("--seed")


def pytest_terminal_summary(terminalreporter, config):
    """With --impl or --grade-report: the score table, and the Gradescope file."""
    if not config.getoption("--impl") or not config.gradcheck_results:
        return
    from reference.grading.scoring import gradescope, score_item, table, write_json

    impl = config.gradcheck_impl
    profile = config.gradcheck_profile
    scores = []
    for item, points in profile.items(impl.format):
        results = [r for name, r in config.gradcheck_results if name == item.name]
        if results:
            scores.append(score_item(item.label, item.op, points, results, profile, impl.problem(item.name)))
    terminalreporter.section("score")
    terminalreporter.write_line(impl.plan.why)
    if impl.load_error:
        terminalreporter.write_line(impl.load_error)
    terminalreporter.write_line(table(scores))
    for s in scores:
        for line in s.summary:
            terminalreporter.write_line(f"{s.name}: {line}")
    path = config.getoption("--grade-report")
    if path:
        write_json(path, gradescope(scores, impl.plan.why))
        terminalreporter.write_line(f"Gradescope results written to {path}")
