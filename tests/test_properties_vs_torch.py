"""Hypothesis over random valid convolution and pooling configurations, checked against torch.

Shapes are drawn so that the output is non-empty; a failure shrinks to a
minimal configuration and prints the case's full report.
"""
from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reference.cases import Case
from reference.families.pooling import every_window_sees_input
from reference.harness import run_case

SETTINGS = settings(max_examples=60, deadline=None)


def _check(case, impl):
    result = run_case(case, impl)
    if not result.ok:
        pytest.fail(result.report(), pytrace=False)


@st.composite
def conv_cases(draw):
    nd = draw(st.integers(1, 2))
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    p = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    size = tuple(draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 12)) for ki, di, pi in zip(k, d, p))
    n, bias, dtype = draw(st.integers(1, 3)), draw(st.booleans()), draw(st.sampled_from(["float64", "float32"]))
    return Case(f"conv{nd}d", {"x": (n, c_in) + size, "w": (c_out, c_in // groups) + k, "b": (c_out,) if bias else None},
                {"stride": s, "padding": p, "dilation": d, "groups": groups}, dtype, label=f"hyp-{draw(st.integers(0, 10**6))}")


@st.composite
def pool_cases(draw):
    nd = draw(st.integers(1, 2))
    kind = draw(st.sampled_from(["max", "avg"]))
    k = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if kind == "max" else (1,) * nd
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    size = tuple(draw(st.integers(max(1, di * (ki - 1) + 1 - 2 * pi), 11)) for ki, di, pi in zip(k, d, p))
    config = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}
    assume(every_window_sees_input(size, k, s, p, d, config["ceil_mode"]))
    if kind == "max":
        config["dilation"] = d
    else:
        config["count_include_pad"] = draw(st.booleans())
    inputs = draw(st.sampled_from(["normal", "integers", "relu"]))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + size
    return Case(f"{kind}_pool{nd}d", {"x": shape}, config, draw(st.sampled_from(["float64", "float32"])),
                label=f"hyp-{draw(st.integers(0, 10**6))}", inputs=inputs)


@SETTINGS
@given(conv_cases())
def test_random_convolutions_match_torch(impl, case):
    _check(case, impl)


@SETTINGS
@given(pool_cases())
def test_random_poolings_match_torch(impl, case):
    _check(case, impl)
