"""The suite's checks must catch every planted mistake, and name the gradient it corrupts."""
from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor

import manual_grads
import pytest
from manual_grads import lecture

from reference.compare import gradient_label
from reference.harness import run_case
from reference.registry import SPECS

from reference.mutants import MUTANTS

KILLS: dict[str, list[bool]] = collections.defaultdict(list)


def failures(impl, ops, base_seed: int, diagnose: bool = False):
    """``impl``'s failing results over the default grids of ``ops``, lazily, in grid order."""
    for op in ops:
        for case in SPECS[op].grid(False):
            result = run_case(case, impl, base_seed, diagnose=diagnose)
            if not result.ok:
                yield result


def first_failure(impl, ops, base_seed: int, naming: list[str], diagnose: bool = False):
    """The first failing result whose report says everything in ``naming`` (else the first failure, else None)."""
    first = None
    for result in failures(impl, ops, base_seed, diagnose):
        first = first or result
        if all(text in result.report() for text in naming):
            return result
    return first


def test_mutants_leave_manual_grads_and_the_lecture_as_they_were(base_seed):
    """A mutant is an implementation of its own: running every one, each op it changes, leaves manual_grads and
    the lecture unchanged — also while it runs, beside the correct layers on other threads."""
    before = {module: dict(vars(module)) for module in (manual_grads, lecture)}
    changed = sorted({(m.name, name.rsplit("_", 1)[0]) for m in MUTANTS for name in m.functions})
    mutants = {m.name: m for m in MUTANTS}

    def run(pair):
        name, op = pair
        case = SPECS[op].grid(False)[0]
        return run_case(case, mutants[name].implementation, base_seed, diagnose=False), \
            run_case(case, manual_grads, base_seed, diagnose=False), run_case(case, lecture, base_seed, diagnose=False)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, changed))
    assert len(changed) >= len(MUTANTS)
    assert all(correct.ok and read.ok for _, correct, read in results), "a correct layer failed beside a mutant"
    assert all(vars(module) == attrs for module, attrs in before.items())


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.family}:{m.name}" for m in MUTANTS])
def test_mutant_is_caught(mutant, base_seed):
    naming = _naming(mutant)
    failure = first_failure(mutant.implementation, mutant.ops, base_seed, naming, diagnose=bool(mutant.diagnosis))
    KILLS[mutant.family].append(failure is not None)
    assert failure is not None, f"mutant survived the {mutant.family} suite: {mutant.name}"
    report = failure.report()
    assert all(text in report for text in naming) and failure.case.describe() in report, report
    correct = run_case(failure.case, manual_grads, base_seed, diagnose=False)
    assert correct.ok, f"the case that caught the mutant fails for the correct layer too:\n{correct.report()}"


def _naming(mutant) -> list[str]:
    """What the report must say: 'FAILED in <the corrupted gradient>' (e.g. 'FAILED in dX'), and the name the
    op's diagnosis gives the failure where the mutant expects one (e.g. 'tie-convention mismatch')."""
    return [f"FAILED in {gradient_label(mutant.gradient)}"] + ([mutant.diagnosis] if mutant.diagnosis else [])
