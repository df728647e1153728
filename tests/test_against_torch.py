"""Every op's forward and every gradient, element-wise against torch.autograd, over the case grid."""
import dataclasses

import manual_grads
import pytest

from reference.harness import run_case
from reference.registry import SPECS

# Calibration guard, from measurement (python -m reference.verify --error-profile and the seed
# sweep): on the default grid manual_grads uses at most ~6e-4 of the float64 tolerance; in float32
# the p99 is ~0.03 and the worst seen over seeds 0-12 was 0.54 (separable_conv2d, seed 11: two
# chained float32 convolutions round their intermediate differently from torch). The guard sits
# above that maximum and below the tolerance itself, so drift towards flaky failures shows here
# first. The pass/fail tolerance is not changed by it.
HEADROOM = 0.75


def test_matches_torch(case, impl, base_seed):
    result = run_case(case, impl, base_seed)
    if not result.ok:
        pytest.fail(result.report(), pytrace=False)
    worst = max((c.tolerance_used for c in result.checks), default=0.0)
    assert worst <= HEADROOM, f"{case.id}: manual_grads used {worst:.2f} of the tolerance (headroom {HEADROOM})"


@pytest.mark.parametrize("op", sorted(SPECS))
def test_an_empty_batch_matches_torch(op, base_seed):
    """N = 0, as torch allows: an empty output and input gradient, parameter gradients of zeros."""
    case = SPECS[op].grid(False)[0]
    shapes = {k: None if v is None else (0,) + tuple(v[1:]) if k == "x" else tuple(v) for k, v in case.shapes.items()}
    result = run_case(dataclasses.replace(case, shapes=shapes, label=f"{case.label}-empty-batch"), manual_grads, base_seed)
    assert result.ok, result.report()
