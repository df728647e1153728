"""An op is declared once (its family file); everything that lists ops agrees with the registry."""
from __future__ import annotations

import manual_grads

from benchmarks.shapes import BENCHES
from reference.grading.profiles import Profile
from reference.registry import SPECS, families, ops_of


def test_every_op_has_a_manual_grads_pair_and_its_torch_mirror():
    for name, spec in SPECS.items():
        assert callable(getattr(manual_grads, f"{name}_forward", None)), name
        assert callable(getattr(manual_grads, f"{name}_backward", None)), name
        # the mirror is torch's side: reference.torch_ops or the family file itself, never manual_grads
        assert spec.torch_mirror.__module__.startswith("reference."), (name, spec.torch_mirror.__module__)
        assert spec.grid(False), f"{name} has an empty default grid"


def test_manual_grads_exports_exactly_the_registry_ops():
    exported = getattr(manual_grads, "__all__", None)
    public = exported if exported is not None else [n for n in dir(manual_grads) if n.endswith(("_forward", "_backward"))]
    pairs = {n.rsplit("_", 1)[0] for n in public if n.endswith(("_forward", "_backward"))}
    generic = {"conv", "conv_transpose", "upsample", "downsample"}  # N-d entry points beside the per-rank ops
    assert pairs - generic == set(SPECS), (sorted(pairs - generic - set(SPECS)), sorted(set(SPECS) - pairs))


def test_the_native_profile_grades_every_op():
    assert set(Profile.load("native").points) == set(SPECS)


def test_benchmark_groups_belong_to_registry_ops():
    assert BENCHES and all(b.op in SPECS for b in BENCHES)
    assert len({b.group for b in BENCHES}) == len(BENCHES)
    assert {b.op for b in BENCHES} >= {"conv2d", "max_pool2d", "depthwise_conv2d", "interpolate"}


def test_families_partition_the_ops():
    assert sorted(op for f in families() for op in ops_of(f)) == sorted(SPECS)
