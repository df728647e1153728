"""Case labels are one table and one function; input sizes grow by one rule (reference.cases).

A case id seeds the case's random inputs and names its golden fixture, so within a
grid it must tell every configuration apart and name every option.
"""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from reference.cases import Case, case_label, ceil_div, fitted, label_token, unique, window_span
from reference.cases import pooled_length
from reference.grading.course_grids import item_grid
from reference.grading.formats import ITEMS, Binding
from reference.registry import SPECS


def _grids():
    """Every grid: each op's default and full grid, and each course item's (with and without a padding parameter)."""
    for name, spec in SPECS.items():
        for full in (False, True):
            yield f"{name}-{'full' if full else 'default'}", lambda spec=spec, full=full: spec.grid(full)
    for fmt_name in ("cs231n", "mytorch"):
        for name, item in ITEMS[fmt_name].items():
            for binding in (None, Binding(name, params=("padding",))):
                tag = f"{fmt_name}-{name}-{'nobinding' if binding is None else 'padding'}"
                yield tag, lambda item=item, binding=binding, fmt_name=fmt_name: item_grid(fmt_name, item, binding)


GRIDS = dict(_grids())


def _has_token(case: Case, token: str) -> bool:
    return f"-{token}-" in f"-{case.label}-"  # tokens may hold '-' themselves ('nearest-exact', 'out1-global')


@pytest.mark.parametrize("grid", list(GRIDS))
def test_a_grid_names_every_option_and_tells_its_options_apart(grid):
    cases = GRIDS[grid]()  # unique() refuses two different cases with one id
    assert cases, grid
    spelled: dict[tuple[str, str], set] = {}  # (key, token) -> the values written so
    for case in cases:
        for key, value in case.config.items():
            token = label_token(key)(value)
            assert _has_token(case, token), (case.id, key, token)
            spelled.setdefault((key, token), set()).add(repr(value))
    assert not {k: v for k, v in spelled.items() if len(v) > 1}, "one token for several values"


def test_unique_drops_repeats_and_refuses_two_cases_with_one_id():
    a = Case("relu", {"x": (3,)}, {}, "float64", "same")
    assert unique([a, None, Case("relu", {"x": (3,)}, {}, "float64", "same")]) == [a]
    with pytest.raises(ValueError, match="relu-same-float64"):
        unique([a, Case("relu", {"x": (4,)}, {}, "float64", "same")])
    with pytest.raises(ValueError, match="share the id"):
        unique([a, Case("relu", {"x": (3,)}, {}, "float64", "same", inputs="ties")])


def test_case_label_follows_the_table_order_whatever_the_argument_order():
    config = {"ceil_mode": True, "padding": 1, "stride": None, "kernel_size": (2, 3)}
    assert case_label(config, x=(5, 6), inputs="ties", batch=2, channels=3) == "n2-c3-x5x6-k2x3-stridek-pad1-ceil-inties"
    assert case_label({"recompute_scale_factor": False, "mode": "nearest-exact"}, x=4) == "x4-nearest-exact"


def test_an_option_without_a_token_is_spelled_by_its_name_after_the_family_tokens():
    assert case_label({"stride": 1, "momentum": 0.1}, batch=1) == "n1-stride1-momentum0.1"
    assert case_label({"momentum": 0.1, "eps": 1e-5}, {"affine": str}, affine="wonly", x=(2, 2)) == \
        "x2x2-wonly-momentum0.1-eps1e-05"


def _conv_accepts(n: int, k: int, d: int, padding) -> bool:
    try:
        F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), padding=padding, dilation=d)
    except RuntimeError:
        return False
    return True


def test_fitted_grows_a_size_to_the_smallest_one_torch_accepts_and_keeps_sizes_that_fit():
    for n, k, d, padding in itertools.product(range(1, 7), range(1, 6), (1, 3), (0, 1, 2, "same", "valid")):
        (grown,) = fitted(n, (k,), d, padding)
        assert _conv_accepts(grown, k, d, padding), (n, k, d, padding, grown)
        if grown > n:
            assert not _conv_accepts(grown - 1, k, d, padding), (n, k, d, padding, grown)
        else:
            assert grown == n


def test_fitted_works_per_axis():
    assert fitted((2, 9), (3, 1), (2, 1)) == (fitted(2, (3,), 2)[0], 9)
    assert fitted(1, (5, 5), 1, (1, 2)) == (fitted(1, (5,), 1, 1)[0], fitted(1, (5,), 1, 2)[0])


def test_window_span_brackets_torchs_output_length():
    for n, k, s, d, p in itertools.product(range(1, 9), range(1, 5), (1, 2, 3), (1, 2), (0, 1, 2)):
        if n + 2 * p < window_span(k, d):
            continue
        out = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1]
        assert window_span(k, d, out, s) <= n + 2 * p < window_span(k, d, out + 1, s), (n, k, s, d, p, out)


def test_pooled_length_is_torchs_with_and_without_ceil_mode():
    for n, k, s, d, ceil_mode in itertools.product(range(1, 12), range(1, 5), (1, 2, 3), (1, 2), (False, True)):
        for p in range(k // 2 + 1):
            if n + 2 * p < window_span(k, d):
                continue
            x = torch.zeros(1, 1, n)
            expected = F.max_pool1d(x, k, s, p, d, ceil_mode).shape[-1]
            assert pooled_length(n, k, s, p, d, ceil_mode) == expected, (n, k, s, p, d, ceil_mode)


def test_ceil_div_is_the_ceiling():
    for a, b in itertools.product(range(-7, 12), range(1, 5)):
        assert ceil_div(a, b) * b >= a > (ceil_div(a, b) - 1) * b, (a, b)
