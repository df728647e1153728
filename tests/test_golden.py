"""Golden fixtures: frozen torch results agree with live torch, and an altered file is refused."""
import numpy as np
import pytest

from reference.golden import freeze, load
from reference.harness import oracle
from reference.registry import SPECS


def sample(ops, every: int = 6, limit: int = 40):
    """A spread of each op's default grid."""
    return [c for op in ops for c in SPECS[op].grid(False)[::every][:limit]]


def test_frozen_fixtures_agree_with_live_torch(tmp_path):
    cases = sample(sorted(SPECS), every=40, limit=2)
    path = tmp_path / "golden.npz"
    freeze(str(path), cases, base_seed=3)
    base, frozen = load(str(path))
    assert base == 3 and [c.id for c, _ in frozen] == [c.id for c in cases]
    for case, ref in frozen:
        live = oracle(case, case.seed(3))
        assert all((ref.out == live.out).all() and (ref.upstream == live.upstream).all() for _ in [0])
        assert all((ref.grads[n] == live.grads[n]).all() for n in live.grads), case.id


def test_altered_fixture_is_refused(tmp_path):
    path = tmp_path / "golden.npz"
    freeze(str(path), sample(["relu"], limit=2))
    data = dict(np.load(path))
    data["0/out"] = data["0/out"] + 1
    np.savez_compressed(path, **data)
    with pytest.raises(ValueError, match="SHA-256"):
        load(str(path))


def test_freeze_checks_its_output_path_before_computing(tmp_path):
    import subprocess
    import sys
    import time

    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "reference.golden", "freeze", str(tmp_path / "no" / "such" / "g.npz")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "does not exist" in run.stderr and "Traceback" not in run.stderr
    assert time.perf_counter() - start < 30  # refused before the ~5,000 cases were computed
