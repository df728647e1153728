"""The suite's checks must catch every planted mistake, and name the gradient it corrupts."""
from __future__ import annotations

import collections

import manual_grads
import pytest

from reference.harness import run_case
from reference.registry import SPECS

from .mutants import MUTANTS, applied

KILLS: dict[str, list[bool]] = collections.defaultdict(list)


def failures(family: str, base_seed: int):
    """Failing results of the family's default grid, lazily, in grid order."""
    for spec in SPECS.values():
        if spec.family == family:
            for case in spec.grid(False):
                result = run_case(case, manual_grads, base_seed)
                if not result.ok:
                    yield result


def first_failure(family: str, base_seed: int, naming: str = ""):
    """The first failing result whose report names ``naming`` (else the first failure, else None)."""
    first = None
    for result in failures(family, base_seed):
        first = first or result
        if naming in result.report():
            return result
    return first


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.family}:{m.name}" for m in MUTANTS])
def test_mutant_is_caught(mutant, base_seed):
    with applied(mutant):
        failure = first_failure(mutant.family, base_seed, naming=f"FAILED in {mutant.expect}")
    KILLS[mutant.family].append(failure is not None)
    assert failure is not None, f"mutant survived the {mutant.family} suite: {mutant.name}"
    report = failure.report()
    assert f"FAILED in {mutant.expect}" in report and failure.case.describe() in report, report


@pytest.mark.parametrize("family", sorted({m.family for m in MUTANTS}))
def test_correct_layers_pass_the_family(family, base_seed):
    assert first_failure(family, base_seed) is None
