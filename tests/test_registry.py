"""An op is declared once (its family file); everything that lists ops agrees with the registry.

Every failure message says what to do and which file to edit.
"""
from __future__ import annotations

from collections import Counter

import manual_grads

from benchmarks.shapes import BENCHES
from reference.grading.profiles import Profile
from reference.registry import SPECS, families, family_file, ops_of

NATIVE_PROFILE = "reference/grading/profiles/native.toml"
BENCHED = {"conv2d", "max_pool2d", "depthwise_conv2d", "interpolate"}  # ops that must keep benchmark shapes


def _export(op: str) -> str:
    """What to do when manual_grads lacks ``op``'s pair."""
    return (f"{op}: add {op}_forward/{op}_backward to the __all__ of its manual_grads module "
            f"(manual_grads/<module>.py; manual_grads/__init__.py exports every module's __all__)")


def test_every_op_has_a_manual_grads_pair_and_its_torch_mirror():
    for name, spec in SPECS.items():
        assert callable(getattr(manual_grads, f"{name}_forward", None)), _export(name)
        assert callable(getattr(manual_grads, f"{name}_backward", None)), _export(name)
        # the mirror is torch's side: reference.torch_ops or the family file itself, never manual_grads
        assert spec.torch_mirror.__module__.startswith("reference."), (
            f"{name}: its torch_mirror comes from {spec.torch_mirror.__module__}; write it in reference/torch_ops.py "
            f"or in {family_file(spec.name)} (torch's side, never manual_grads) and pass that to its OpSpec")
        assert spec.grid(False), (
            f"{name}: its OpSpec grid in {family_file(spec.name)} gives no case for full=False; make the default grid "
            f"return at least one Case")


def test_manual_grads_exports_exactly_the_registry_ops():
    exported = getattr(manual_grads, "__all__", None)
    public = exported if exported is not None else [n for n in dir(manual_grads) if n.endswith(("_forward", "_backward"))]
    pairs = {n.rsplit("_", 1)[0] for n in public if n.endswith(("_forward", "_backward"))}
    generic = {"conv", "conv_transpose", "upsample", "downsample"}  # N-d entry points beside the per-rank ops
    assert pairs - generic == set(SPECS), "; ".join(
        [f"{op}: manual_grads exports {op}_forward/_backward but no OpSpec declares it: add OpSpec({op!r}, ...) to "
         f"the SPECS of its reference/families/<family>.py (or, for an N-d entry point beside the per-rank ops, add "
         f"{op!r} to `generic` in tests/test_registry.py)" for op in sorted(pairs - generic - set(SPECS))]
        + [_export(op) for op in sorted(set(SPECS) - pairs)])


def test_the_native_profile_grades_every_op():
    points = set(Profile.load("native").points)
    assert points == set(SPECS), "; ".join(
        [f"add `{op} = N` under [ops] in {NATIVE_PROFILE}" for op in sorted(set(SPECS) - points)]
        + [f"remove `{op}` from [ops] in {NATIVE_PROFILE}: no OpSpec declares it" for op in sorted(points - set(SPECS))])


def test_benchmark_groups_belong_to_registry_ops():
    assert BENCHES and all(b.op in SPECS for b in BENCHES), (
        "benchmarks: " + ("no Bench at all" if not BENCHES else
                          f"Bench op(s) {sorted({b.op for b in BENCHES} - set(SPECS))} are not registry ops")
        + ": benchmark shapes are declared by OpSpec(benches=(Bench(<op>, ...), ...)) in reference/families/<family>.py,"
          " each Bench naming its own op")
    assert len({b.group for b in BENCHES}) == len(BENCHES), "; ".join(
        f"benchmarks: group {group!r} is declared {n} times: rename all but one of those Benches in the "
        f"OpSpec(benches=...) of {family_file(group.split(' ', 1)[0])}"
        for group, n in sorted(Counter(b.group for b in BENCHES).items()) if n > 1)
    assert {b.op for b in BENCHES} >= BENCHED, "; ".join(
        f"benchmarks: {op} has no Bench: declare its shapes by OpSpec(benches=(Bench({op!r}, ...),)) in {family_file(op)}"
        for op in sorted(BENCHED - {b.op for b in BENCHES}))


def test_families_partition_the_ops():
    assert sorted(op for f in families() for op in ops_of(f)) == sorted(SPECS), (
        f"ops by family {sorted(op for f in families() for op in ops_of(f))} are not the registry's {sorted(SPECS)}: "
        f"give each OpSpec exactly one family (its second argument) in its reference/families/<family>.py")


def test_every_op_names_knobs_the_shrinker_has():
    """OpSpec.shrink is one of the student report's families of knobs (or '' for the grid's cases only)."""
    from reference.grading.report.shrink import KINDS

    wrong = {op: s.shrink for op, s in SPECS.items() if s.shrink not in ("", *KINDS)}
    assert not wrong, [f"{op}: shrink={k!r} in {family_file(op)} is none of {KINDS} (or '')" for op, k in wrong.items()]
