"""A hand-in's cases, one test each: collected only with ``--impl HAND-IN`` (see the root conftest.py)."""
import pytest

from reference.harness import run_case


def test_handin_case(handin_case, request, base_seed, record):
    item, case = handin_case
    handin = request.config.gradcheck_impl
    profile = request.config.gradcheck_profile
    problem = handin.problem(item.name)
    if problem:
        from reference.harness import CaseResult

        result = CaseResult(case, case.seed(base_seed), base_seed, error=problem, expected=["out"])
    else:
        result = run_case(case, handin.view(item.name, item.op), base_seed, dtype_policy=profile.dtype_policy)
    result.reproduce = (f"python -m pytest tests/test_handin.py --impl {handin.plan.target} --impl-format {handin.format} "
                        f"--profile {profile.source or profile.name} --seed {base_seed} -k \"{item.name}-{case.id}\"")
    record((item.name, result))
    if not result.ok:
        pytest.fail(result.report(), pytrace=False)
