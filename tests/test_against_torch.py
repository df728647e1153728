"""Every op's forward and every gradient, element-wise against torch.autograd, over the case grid."""
import manual_grads
import pytest

from reference.harness import run_case

# Measured on the default grid over 20 seeds, manual_grads uses at most ~0.3 of the float32
# tolerance and ~6e-4 of the float64 one (python -m reference.verify --error-profile). The
# reference implementation must keep this headroom, so a seed never flips it to a failure.
HEADROOM = 0.5


def test_matches_torch(case, impl, base_seed, record):
    result = run_case(case, impl, base_seed)
    record(result)
    if result.skipped:
        pytest.skip(f"not expressible in this implementation's format: {result.skipped}")
    if not result.ok:
        pytest.fail(result.report(), pytrace=False)
    if impl is manual_grads:
        worst = max((c.tolerance_used for c in result.checks), default=0.0)
        assert worst <= HEADROOM, f"{case.id}: manual_grads used {worst:.2f} of the tolerance (headroom {HEADROOM})"
