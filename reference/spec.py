"""What the harness knows about an op, declared once in its family file (reference/families/<family>.py).

An :class:`OpSpec` holds everything about one op: its name (the implementation
provides ``<name>_forward`` / ``<name>_backward``), its family, its torch mirror
(a function of reference.torch_ops or of the family file, held by reference), its case grid, per-dtype
tolerance overrides, the diagnosis run when it fails, the inputs it is linear in
(for the adjoint test), its benchmark shapes, whether manual_grads.lecture
teaches it and which knobs the student report's shrinker turns. The registry
discovers the family files. Apart from the course formats
(reference/grading/formats.py and course_grids.py, which map a course's own layer
names to the ops that check them) and the rubrics (reference/grading/profiles/*.toml,
which give each op its points), nothing else lists ops.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

from .cases import Case


@dataclass(frozen=True)
class OpSpec:
    name: str  # the implementation provides <name>_forward and <name>_backward
    family: str
    grid: Callable[[bool], list[Case]]  # full=False: default suite; True: the big sweep
    torch_mirror: Callable  # same signature as <name>_forward, in torch (reference.torch_ops or the family file)
    diagnose: Optional[Callable] = None  # (case, oracle, grads) -> finding or None, on failure
    linear_in: tuple[str, ...] = ()  # inputs the op is linear (affine) in, for the adjoint test
    tolerances: Mapping = field(default_factory=dict)  # dtype name -> reference.compare.Tolerance, where not the default
    benches: tuple = ()  # reference.benches.Bench shapes timed by benchmarks/
    # the op has a literal form in manual_grads/lecture.py, proven equal to the fast path
    # (tests/test_lecture_forms.py); False only for ops the lecture does not teach
    lecture_form: bool = True
    # the knobs the student report's shrinker (reference.grading.report.shrink) turns to find a smaller failing
    # case: 'conv', 'transpose', 'pool', 'resample' or 'activation'; '' = only the grid's own cases are tried
    shrink: str = ""
