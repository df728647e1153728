"""Equivariance and invariance of the transform-invariant layers, on random configurations (hypothesis).

For an element g0 of the group and maps with a transform axis, the action is
    (g0 · Z)[g] = T_g0( Z[g0⁻¹ g] )        (transform the plane, permute the transform axis)
Lifting:       lift(T_g0 x)  = g0 · lift(x)
Group conv:    gconv(g0 · x) = g0 · gconv(x)
Invariance:    global pooling of (pooling over transforms) is unchanged by T_g0.
Exact up to float64 rounding of sums taken in another order.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import manual_grads as mg
from manual_grads.transform import GROUPS, transform

TIGHT = dict(rtol=1e-12, atol=1e-12)


def act(g0, maps: np.ndarray, group: str) -> np.ndarray:
    """(g0 · Z)[..., j, :, :] = T_g0(Z[..., i, :, :]) with e_i = g0⁻¹ e_j, found by search on a probe."""
    els = GROUPS[group]
    probe = np.arange(9.0).reshape(3, 3)
    source = [next(i for i, ei in enumerate(els) if np.array_equal(transform(transform(probe, ei), g0), transform(probe, ej)))
              for ej in els]
    return np.stack([transform(maps[..., i, :, :], g0) for i in source], axis=-3)


@st.composite
def configs(draw):
    group = draw(st.sampled_from(sorted(GROUPS)))
    g0 = draw(st.sampled_from(GROUPS[group]))
    k = draw(st.sampled_from([1, 3, 5]))
    d = draw(st.integers(1, 2))
    p = draw(st.integers(0, d * (k - 1) // 2))  # symmetric padding keeps the centre fixed
    h = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 9))
    w = h if group != "reflect" else draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 9))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    return dict(group=group, g0=g0, k=k, dilation=d, padding=p, shape=(n, c, h, w), o=o, seed=seed)


def _conv(kind, x, w, cfg):
    forward = mg.transform_lifting_conv2d_forward if kind == "lifting" else mg.transform_group_conv2d_forward
    return forward(x, w, None, 1, cfg["padding"], cfg["dilation"], cfg["group"])[0]


SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(configs())
def test_lifting_convolution_is_equivariant(cfg):
    rng = np.random.default_rng(cfg["seed"])
    n, c, h, w_ = cfg["shape"]
    x = rng.standard_normal(cfg["shape"])
    w = rng.standard_normal((cfg["o"], c, cfg["k"], cfg["k"]))
    z = _conv("lifting", x, w, cfg)
    z_of_transformed = _conv("lifting", transform(x, cfg["g0"]), w, cfg)
    np.testing.assert_allclose(z_of_transformed, act(cfg["g0"], z, cfg["group"]), **TIGHT)


@SETTINGS
@given(configs())
def test_group_convolution_is_equivariant(cfg):
    rng = np.random.default_rng(cfg["seed"])
    n, c, h, w_ = cfg["shape"]
    order = len(GROUPS[cfg["group"]])
    x = rng.standard_normal((n, c, order, h, w_))
    w = rng.standard_normal((cfg["o"], c, order, cfg["k"], cfg["k"]))
    z = _conv("group", x, w, cfg)
    z_of_transformed = _conv("group", act(cfg["g0"], x, cfg["group"]), w, cfg)
    np.testing.assert_allclose(z_of_transformed, act(cfg["g0"], z, cfg["group"]), **TIGHT)


@SETTINGS
@given(configs(), st.sampled_from(["max", "avg"]), st.sampled_from(["max", "mean"]))
def test_two_layer_features_are_invariant(cfg, transform_pool, spatial_pool):
    """lifting -> relu -> group conv -> pool over transforms -> global spatial pool: unchanged by T_g0."""
    rng = np.random.default_rng(cfg["seed"])
    n, c, h, w_ = cfg["shape"]
    order = len(GROUPS[cfg["group"]])
    w1 = rng.standard_normal((cfg["o"], c, cfg["k"], cfg["k"]))
    w2 = rng.standard_normal((2, cfg["o"], order, 1, 1))
    pool = getattr(mg, f"transform_{transform_pool}_pool_forward")
    reduce = np.max if spatial_pool == "max" else np.mean

    def features(x):
        z = mg.relu_forward(_conv("lifting", x, w1, cfg))[0]
        z = _conv("group", z, w2, {**cfg, "padding": 0, "dilation": 1})
        return reduce(pool(z)[0], axis=(-2, -1))

    x = rng.standard_normal(cfg["shape"])
    np.testing.assert_allclose(features(transform(x, cfg["g0"])), features(x), **TIGHT)


def test_group_tables_are_groups():
    """Closure, identity and inverses of every group's Cayley table."""
    from manual_grads.transform import cayley

    for group, els in GROUPS.items():
        table, inverse = cayley(group)
        assert sorted(map(sorted, table.tolist())) == [list(range(len(els)))] * len(els)  # Latin square: closure
        assert all(table[g, inverse[g]] == 0 == table[inverse[g], g] for g in range(len(els)))  # element 0 is identity
