"""Every op's forward and every gradient, element-wise against torch.autograd, over the case grid."""
import pytest

from reference.harness import run_case


def test_matches_torch(case, impl, base_seed):
    result = run_case(case, impl, base_seed)
    if not result.ok:
        pytest.fail(result.report(), pytrace=False)
