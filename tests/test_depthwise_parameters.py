"""The lecture's parameter counts: conventional I·O·K·K vs depthwise-separable I·K·K + I·O."""
import pytest
import torch

import manual_grads


@pytest.mark.parametrize("c_in, c_out, kernel", [(3, 8, (3, 3)), (32, 64, (3, 3)), (16, 16, (5, 5)), (4, 7, (3, 2))])
def test_parameter_counts_match_the_lecture_and_torch(c_in, c_out, kernel):
    k = kernel[0] * kernel[1]
    conventional = torch.nn.Conv2d(c_in, c_out, kernel, bias=False)
    depthwise = torch.nn.Conv2d(c_in, c_in, kernel, groups=c_in, bias=False)
    pointwise = torch.nn.Conv2d(c_in, c_out, 1, bias=False)
    torch_count = lambda *mods: sum(p.numel() for m in mods for p in m.parameters())  # noqa: E731
    assert manual_grads.conventional_parameter_count(c_in, c_out, kernel) == c_in * c_out * k == torch_count(conventional)
    assert manual_grads.separable_parameter_count(c_in, c_out, kernel) == c_in * k + c_in * c_out == torch_count(depthwise, pointwise)
    assert manual_grads.separable_parameter_count(c_in, c_out, kernel) < manual_grads.conventional_parameter_count(c_in, c_out, kernel)

