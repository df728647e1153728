"""Shrink a failing item to the smallest configuration that still fails the same way.

When an item fails, the student is best served by the smallest case that shows the mistake: one
sample, one channel, the fewest positions. :func:`attach` finds it after the item is scored:

1. **The item's grid first.** Of the cases graded, the ones that fail like the report's most
   informative case (the same gradient, the same catalogue name -- or the same op diagnosis, or the
   same exception at the same line) are ordered by size; the smallest is the starting point.
2. **Then the configuration itself.** From there, single-knob moves -- batch down, channels down,
   each spatial size down, kernel down, stride down, padding down, dilation down, the bias dropped --
   are tried smallest first (by :func:`size_key`: fewest array elements, then the smallest kernel,
   stride, padding, dilation, channels and batch); the first that still fails the same way is taken and the search goes
   on from it, until no smaller move fails (or the time budget is spent). Every candidate is kept
   valid for the item's format, as the course grids are (reference.grading.course_grids): cs231n's
   ``(H + 2 pad - HH) % stride == 0`` and ``(H - pool_height) % stride == 0`` (a size that breaks
   it is moved to the nearest sizes that keep it), mytorch's square kernels, ``*_stride1`` classes
   at stride 1 and padding 0, padding only for classes that take it, the transposed convolution as
   ``conv_transpose`` with padding K - 1; torch refusing a configuration rules it out as well.

Each candidate runs as grading runs it: through the same sandboxed view of the hand-in, against
torch via :func:`reference.harness.run_case` (no frozen reference), its inputs drawn from the case's
seed. Max pooling and activations fail only on some data (ties, zeros, overlapping maxima), so a
candidate of those is first tried on inputs cut from the current failing case around its first
wrong element (keeping the data that shows the mistake), then on two seeds' draws, before it
counts as passing.

Why not hypothesis's shrinker: a configuration is valid only under coupled constraints (the
modular cs231n contract ties size, kernel, stride and padding together; mytorch's transposed
padding follows the kernel; torch rejects more), which a strategy can only express with filters
and ``assume`` -- most drawn examples are rejected, and each accepted one costs a sandbox round trip
and a torch oracle. ``hypothesis.find`` then spends its generate phase (hundreds of examples)
before shrinking, orders examples by its own choice sequence rather than by element count, and is
randomised. A deterministic greedy walk over the validated configuration space finds the same
minima here within a few seconds, the same every run, and says what it tried.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ...cases import Case, case_label, per_dim
from ...harness import CaseResult, diagnose_failure, oracle, run_case
from ...registry import SPECS

BUDGET = 4.0  # seconds of shrinking per item (the brief: under 5 s)
MAX_ROUNDS = 40


@dataclass
class Capture:
    """One case run through the hand-in with every array kept: inputs, upstream gradient, torch's and the student's."""

    case: Case
    result: CaseResult
    inputs: dict  # name -> array (None when not passed), torch's layout
    upstream: np.ndarray
    expected: dict  # 'out' and each gradient name -> torch's array
    got: dict  # the same names -> the student's array (None when missing)

    @property
    def base_seed(self) -> int:
        return self.result.base_seed


@dataclass
class Found:
    """What :func:`attach` found for one failing item."""

    item: str  # the student's name (Conv1d_stride1, conv_naive, conv2d)
    label: str  # the name shown (conv_forward_naive / conv_backward_naive)
    fmt: str
    op: str
    call: str  # formats.Item.call: conv, conv_transpose, pool, resample, activation, cs231n, native
    binding: object  # formats.Binding: file, names, constructor params
    target: str  # the plan's target (hand-in path or dotted module)
    root: str  # the hand-in root
    gradient: str  # the failing gradient kept: 'x', 'w', 'b', 'out', or 'error'
    minimal: Capture
    typical: Capture | None  # the report's most informative failing case, for a second heat-map
    start: Case  # the grid case shrinking started from
    mistakes: list[str] = field(default_factory=list)  # catalogue names kept
    head: str = ""  # the op diagnosis kept, when no catalogue name
    error_key: tuple = ()
    seconds: float = 0.0
    evaluations: int = 0
    complete: bool = True  # False when the budget ran out before a local minimum

    @property
    def spatial(self) -> int:
        """Spatial positions of the minimal case's input (its elements per sample and channel)."""
        return spatial_positions(self.minimal.case)


def spatial_positions(case: Case) -> int:
    """Positions per sample and channel of the case's first array (all its elements when it has no spatial axes)."""
    x = next(iter(case.shapes.values()))
    return math.prod(x[2:]) if x is not None and len(x) > 2 else math.prod(x or (1,))


def elements(case: Case) -> int:
    """Elements of all the case's arrays."""
    return sum(math.prod(s) for s in case.shapes.values() if s is not None)


def _scalar_product(v) -> int:
    """The product of a per-axis option (1 for None or a string such as 'same')."""
    if v is None or isinstance(v, str):
        return 1
    return math.prod(per_dim(v, 1)) if isinstance(v, (tuple, list)) else int(v)


def _scalar_sum(v) -> int:
    """The sum of a per-axis option (0 for None or a string such as 'same')."""
    if v is None or isinstance(v, str):
        return 0
    return sum(v) if isinstance(v, (tuple, list)) else int(v)


def size_key(case: Case) -> tuple:
    """Smaller is simpler: fewest array elements, then the smallest kernel, stride, padding, dilation, channels, batch."""
    shapes = list(case.shapes.values())
    x = shapes[0]
    kernel = math.prod(case.shapes["w"][2:]) if case.shapes.get("w") is not None else _scalar_product(
        case.config.get("kernel_size"))
    stride = _scalar_product(case.config.get("stride", case.config.get("factor")))
    channels = (x[1] if len(x) > 1 else 1) + (case.shapes["w"][0] if case.shapes.get("w") is not None else 0)
    options = (_scalar_sum(case.config.get("padding")), _scalar_sum(case.config.get("dilation")))
    return (elements(case), kernel, stride, *options, channels, x[0] if len(x) > 1 else 1)


# --- what "fails the same way" means ----------------------------------------------------------------

def mistake_names(result: CaseResult) -> list[str]:
    """Catalogue names (reference.mutants) the case's findings give, in catalogue order."""
    return next((list(f.names) for f in result.findings if f.names), [])


def _heads(result: CaseResult) -> list[str]:
    """The op diagnoses and the precision finding (not catalogue names, not locations) of the case's findings:
    the same one must hold for a smaller case."""
    return [f.head for f in result.findings if not f.names and f.kind != "location"]


def _error_key(result: CaseResult) -> tuple:
    """(stage, kind, exception type, place in the hand-in) of the case's failure; () for none, or when the
    worker was lost (a timeout or a crash: nothing to keep failing the same way)."""
    return result.failure.key if result.failure is not None else ()


def failing_gradients(result: CaseResult) -> list[str]:
    """The output and gradients compared and wrong (not the input-modification checks)."""
    return [c.name for c in result.checks if not c.ok and not c.name.startswith(("input ", "upstream"))]


def target_gradient(result: CaseResult) -> str:
    """The gradient to keep failing: the named mistake's, else the forward output, else the first wrong one."""
    failing = failing_gradients(result)
    if result.error and not failing:
        return "error"
    from ...mutants import MUTANTS

    for name in mistake_names(result):
        mutant = next(m for m in MUTANTS if m.name == name)
        if mutant.gradient in failing:
            return mutant.gradient
    if "out" in failing:
        return "out"
    return failing[0] if failing else "error"


@dataclass(frozen=True)
class Signature:
    """How a case fails: the gradient kept, and the catalogue name, op diagnosis or error (stage, type, line)."""

    gradient: str
    mistake: str = ""  # the first catalogue name the reference case carries
    head: str = ""  # else its op diagnosis
    error_key: tuple = ()

    @classmethod
    def of(cls, result: CaseResult) -> "Signature":
        gradient = target_gradient(result)
        if gradient == "error":
            return cls("error", error_key=_error_key(result))
        names = mistake_names(result)
        heads = _heads(result)
        return cls(gradient, names[0] if names else "", "" if names else (heads[0] if heads else ""))

    def matches(self, result: CaseResult) -> bool:
        """Whether ``result`` (diagnosed) fails in the same gradient with the same diagnosis."""
        if self.gradient == "error":
            return bool(result.error) and _error_key(result) == self.error_key
        check = result.check(self.gradient)
        if check is None or check.ok:
            return False
        if self.mistake:
            return self.mistake in mistake_names(result)
        if self.head:
            return self.head in _heads(result)
        return True

    def needs_diagnosis(self) -> bool:
        """Whether matching needs the case's diagnosis (a catalogue name or an op diagnosis to keep)."""
        return bool(self.mistake or self.head)


# --- running a case with its arrays kept -------------------------------------------------------------

class _Recorder:
    """The view of one item, recording the student's output and gradients as run_case calls it."""

    def __init__(self, view, op: str):
        self.__name__ = getattr(view, "__name__", op)
        self.out, self.grads = None, None
        forward, backward = getattr(view, f"{op}_forward"), getattr(view, f"{op}_backward")

        def fwd(*arrays, **config):
            returned = forward(*arrays, **config)
            if isinstance(returned, tuple) and len(returned) == 2:
                self.out = returned[0]
            return returned

        def bwd(dy, cache):
            self.grads = backward(dy, cache)
            return self.grads

        setattr(self, f"{op}_forward", fwd)
        setattr(self, f"{op}_backward", bwd)


class Runner:
    """Runs cases of one item through its sandboxed view against torch, keeping the arrays (see :class:`Capture`)."""

    def __init__(self, view, op: str, base_seed: int, dtype_policy: str = "strict"):
        self.view, self.op, self.base_seed, self.dtype_policy = view, op, base_seed, dtype_policy
        self.evaluations = 0
        self.lost = ""  # set when the worker timed out or died: shrinking stops

    def capture(self, case: Case, base_seed: int | None = None, diagnose: bool = True,
                around: Capture | None = None, gradient: str = "x") -> Capture | None:
        """Run ``case``; None when torch refuses the configuration (it is not a valid case).

        Its inputs are drawn from its seed; with ``around``, the inputs are instead cut from that larger
        case's around its first wrong element of ``gradient`` (fresh values where the new case is larger).
        """
        base = self.base_seed if base_seed is None else base_seed
        seed = case.seed(base)
        try:
            ref = oracle(case, seed) if around is None else _cut_oracle(case, seed, around, gradient)
        except Exception:
            return None
        recorder = _Recorder(self.view, self.op)
        self.evaluations += 1
        result = run_case(case, recorder, base, reference=ref, diagnose=False, dtype_policy=self.dtype_policy)
        if result.failure is not None and result.failure.lost:
            self.lost = result.error
        grads = recorder.grads if isinstance(recorder.grads, dict) else {}
        got = {"out": recorder.out, **{n: grads.get(n) for n in ref.grads}}
        capture = Capture(case, result, ref.inputs, ref.upstream, {"out": ref.out, **ref.grads}, got)
        if diagnose and not result.ok and not result.error:
            self.diagnose(capture, ref, grads)
        return capture

    def diagnose(self, capture: Capture, ref, grads) -> None:
        diagnose_failure(capture.result, capture.case, ref, grads)


# --- the configuration space -------------------------------------------------------------------------

KINDS = ("conv", "transpose", "pool", "resample", "activation")


def kind_of(op: str) -> str:
    """Which family of knobs an op has, as its OpSpec declares (``shrink``: one of :data:`KINDS`; '' when it is
    not shrunk beyond the grid)."""
    return SPECS[op].shrink


@dataclass(frozen=True)
class Space:
    """The item whose configurations are shrunk: its format, name, constructor parameters, family of knobs."""

    fmt: str
    item: str
    op: str
    params: tuple = ()
    target: str = "x"

    @property
    def kind(self) -> str:
        return kind_of(self.op)

    @property
    def takes_padding(self) -> bool:
        return not self.params or any(p in self.params for p in ("padding", "pad"))


def knobs_of(case: Case) -> dict:
    """The configuration of ``case`` as independent knobs (batch, channels, sizes, kernel, options)."""
    x = case.shapes["x"] if "x" in case.shapes else next(iter(case.shapes.values()))
    k = {"config": dict(case.config), "dtype": case.dtype, "inputs": case.inputs}
    kind = kind_of(case.op)
    if kind in ("conv", "transpose"):
        w, g = case.shapes["w"], case.config.get("groups", 1)
        k.update(n=x[0], c_in=x[1], c_out=w[0] if kind == "conv" else w[1] * g, size=tuple(x[2:]),
                 kernel=tuple(w[2:]), bias=case.shapes.get("b") is not None)
    elif kind in ("pool", "resample"):
        k.update(n=x[0], c=x[1], size=tuple(x[2:]))
    else:
        k.update(shape=tuple(x))
    return k


def case_of(op: str, k: dict) -> Case:
    """The case of a knob configuration (its label lists every knob, so its seed is its own)."""
    kind, config = kind_of(op), dict(k["config"])
    if kind in ("conv", "transpose"):
        g = config.get("groups", 1)
        w = (k["c_out"], k["c_in"] // g) if kind == "conv" else (k["c_in"], k["c_out"] // g)
        shapes = {"x": (k["n"], k["c_in"]) + k["size"], "w": w + k["kernel"], "b": (k["c_out"],) if k["bias"] else None}
        axes = {"batch": k["n"], "channels": (k["c_in"], k["c_out"]), "x": k["size"], "kernel": k["kernel"], "bias": k["bias"]}
    elif kind in ("pool", "resample"):
        shapes = {"x": (k["n"], k["c"]) + k["size"]}
        axes = {"batch": k["n"], "channels": k["c"], "x": k["size"]}
    else:
        shapes = {"x": k["shape"]}
        axes = {"x": k["shape"]}
    if k["inputs"] != "normal":
        axes["inputs"] = k["inputs"]
    label = "min-" + case_label(config, **axes)  # the grid's tokens (reference.cases.LABEL_TOKENS)
    return Case(op, shapes, config, k["dtype"], label, inputs=k["inputs"])


def _ints(v, nd):
    """A per-axis tuple of an option (None and strings repeated)."""
    return per_dim(v, nd) if v is not None and not isinstance(v, str) else (v,) * nd


def valid(space: Space, k: dict) -> bool:
    """Whether a configuration is one the item's format can be graded on (torch's own checks come later)."""
    kind = space.kind
    if kind == "conv":
        return _valid_conv_common(space, k) and _valid_conv(space, k)
    if kind == "transpose":
        return _valid_conv_common(space, k) and _valid_transpose(space, k)
    if kind == "pool":
        return _valid_pool(space, k)
    c = k["config"]
    if kind == "resample":
        factor = _ints(c["factor"], len(k["size"]))
        return min(k["size"]) >= 1 and k["n"] >= 1 and k["c"] >= 1 and min(factor) >= 1
    return min(k["shape"]) >= 1



def _conv_options(k: dict) -> tuple:
    """(nd, stride, dilation, padding as given) of a convolution configuration."""
    c, nd = k["config"], len(k["size"])
    return nd, _ints(c.get("stride", 1), nd), _ints(c.get("dilation", 1), nd), c.get("padding", 0)


def _valid_conv_common(space: Space, k: dict) -> bool:
    """Shapes, channels, groups and the format's conv rules shared by convolution and its transpose."""
    c = k["config"]
    nd = len(k["size"])
    g = c.get("groups", 1)
    if min(k["size"] + k["kernel"]) < 1 or k["n"] < 1 or k["c_in"] < 1 or k["c_out"] < 1:
        return False
    if k["c_in"] % g or k["c_out"] % g:
        return False
    if space.target == "b" and not k["bias"]:
        return False
    stride, dilation = _ints(c.get("stride", 1), nd), _ints(c.get("dilation", 1), nd)
    padding = c.get("padding", 0)
    if min(stride) < 1 or min(dilation) < 1:
        return False
    if space.fmt != "native":
        if g != 1 or max(dilation) != 1 or isinstance(padding, str):
            return False
        if len(set(k["kernel"])) != 1 and space.fmt == "mytorch":
            return False
    return not (space.fmt == "cs231n" and not k["bias"])  # the handout's conv always takes b; the grid passes one


def _valid_conv(space: Space, k: dict) -> bool:
    """A convolution: padding, the dilated kernel fits, the handout's stride and padding rules."""
    nd, stride, dilation, padding = _conv_options(k)
    if padding == "same":
        if max(stride) > 1:
            return False
        pads = (0,) * nd
    else:
        pads = (0,) * nd if padding == "valid" else _ints(padding, nd)
    if min(pads) < 0:
        return False
    if any(n + 2 * p < d * (kk - 1) + 1 for n, p, d, kk in zip(k["size"], pads, dilation, k["kernel"])):
        return False
    if space.fmt == "mytorch":
        if space.item.endswith("_stride1") and (max(stride) != 1 or max(pads) != 0):
            return False
        if max(pads) and not space.takes_padding:
            return False
    return not (space.fmt == "cs231n" and any((n + 2 * p - kk) % s for n, p, kk, s in zip(k["size"], pads, k["kernel"], stride)))


def _valid_transpose(space: Space, k: dict) -> bool:
    """A transposed convolution: output padding below stride or dilation, a non-empty output;
    for mytorch, upsampling then a valid convolution (padding K - 1)."""
    nd, stride, dilation, padding = _conv_options(k)
    c = k["config"]
    pads = _ints(padding, nd)
    out_pad = _ints(c.get("output_padding", 0), nd)
    if space.fmt == "mytorch":
        if any(p != kk - 1 for p, kk in zip(pads, k["kernel"])) or max(out_pad) != 0:
            return False
        if any((n - 1) * s + 1 < kk for n, s, kk in zip(k["size"], stride, k["kernel"])):
            return False
    if any(o >= max(s, d) for o, s, d in zip(out_pad, stride, dilation)):
        return False
    return not any((n - 1) * s - 2 * p + d * (kk - 1) + o + 1 < 1 for n, s, p, d, kk, o in zip(k["size"], stride, pads, dilation, k["kernel"], out_pad))


def _valid_pool(space: Space, k: dict) -> bool:
    """A pooling window that fits and sees input, within the format's pooling rules."""
    c = k["config"]
    from ...families.pooling import every_window_sees_input

    nd = len(k["size"])
    if min(k["size"]) < 1 or k["n"] < 1 or k["c"] < 1:
        return False
    kernel = _ints(c["kernel_size"], nd)
    stride = kernel if c.get("stride") is None else _ints(c["stride"], nd)
    pads, dilation = _ints(c.get("padding", 0), nd), _ints(c.get("dilation", 1), nd)
    if min(kernel) < 1 or min(stride) < 1 or min(pads) < 0:
        return False
    if any(p > kk // 2 for p, kk in zip(pads, kernel)):
        return False
    if space.fmt != "native" and (len(set(kernel)) != 1 or max(pads) != 0 or max(dilation) != 1):
        return False
    if space.fmt == "mytorch" and space.item.endswith("_stride1") and max(stride) != 1:
        return False
    if any(n + 2 * p < d * (kk - 1) + 1 for n, p, d, kk in zip(k["size"], pads, dilation, kernel)):
        return False
    if space.fmt == "cs231n" and any((n - kk) % s for n, kk, s in zip(k["size"], kernel, stride)):
        return False
    return every_window_sees_input(k["size"], kernel, stride, pads, dilation, c.get("ceil_mode", False))
def _smaller(v, square: bool, low: int = 1) -> list:
    """Values below ``v`` (an int, or a per-axis tuple: per axis, or every axis at once when ``square``)."""
    if v is None or isinstance(v, (str, bool)):
        return []
    if isinstance(v, int):
        return list(range(low, v))
    v = tuple(v)
    out = [tuple([m] * len(v)) for m in range(low, max(v)) if tuple([m] * len(v)) != v and all(m <= a for a in v)]
    if not square:
        out += [v[:i] + (m,) + v[i + 1:] for i in range(len(v)) for m in range(low, v[i])]
    return list(dict.fromkeys(out))


def _with(k: dict, **changes) -> dict:
    """``k`` with some knobs (or options of its configuration) changed."""
    config = dict(k["config"])
    for name in list(changes):
        if name in config and name not in ("n", "c", "c_in", "c_out", "size", "kernel", "bias", "shape"):
            config[name] = changes.pop(name)
    return {**k, **changes, "config": config}


def moves(space: Space, k: dict) -> list[dict]:
    """Every configuration one knob smaller than ``k`` (and one with every non-spatial knob at its minimum)."""
    kind, c = space.kind, k["config"]
    square = space.fmt != "native"
    out = []
    if kind == "activation":
        shape = k["shape"]
        return [{**k, "shape": shape[:i] + (m,) + shape[i + 1:]} for i in range(len(shape)) for m in range(1, shape[i])]
    out += [_with(k, n=m) for m in range(1, k["n"])]
    out += [_with(k, size=s) for s in _smaller(k["size"], square=False)]
    if kind in ("conv", "transpose"):
        g = c.get("groups", 1)
        out += [_with(k, c_in=m) for m in range(g, k["c_in"], g)]
        out += [_with(k, c_out=m) for m in range(g, k["c_out"], g)]
        smallest = dict(n=1, c_in=g, c_out=g, bias=k["bias"] if space.fmt == "cs231n" or space.target == "b" else False)
        out.append(_with(k, **smallest))
        if k["bias"]:
            out.append(_with(k, bias=False))
        for kernel in _smaller(k["kernel"], square=space.fmt == "mytorch"):
            moved = _with(k, kernel=kernel)
            if kind == "transpose" and space.fmt == "mytorch":
                moved = _with(moved, padding=kernel[0] - 1)
            out.append(moved)
        for name in ("stride", "padding", "dilation", "output_padding"):
            low = 0 if name in ("padding", "output_padding") else 1
            if name in c and not (kind == "transpose" and space.fmt == "mytorch" and name == "padding"):
                out += [_with(k, **{name: v}) for v in _smaller(c[name], square, low)]
    elif kind == "pool":
        out += [_with(k, c=m) for m in range(1, k["c"])]
        out.append(_with(k, n=1, c=1))
        out += [_with(k, kernel_size=v) for v in _smaller(c["kernel_size"], square, 1)]
        for name, low in (("stride", 1), ("padding", 0), ("dilation", 1)):
            if c.get(name) is not None:
                out += [_with(k, **{name: v}) for v in _smaller(c[name], square, low)]
    elif kind == "resample":
        out += [_with(k, c=m) for m in range(1, k["c"])]
        out.append(_with(k, n=1, c=1))
        out += [_with(k, factor=v) for v in _smaller(c["factor"], square, 1)]
    return out


def repairs(space: Space, k: dict) -> list[dict]:
    """``k`` itself when valid, else the nearest valid sizes (cs231n's modular contract, a kernel that must fit)."""
    if valid(space, k):
        return [k]
    if space.kind not in ("conv", "pool", "transpose"):
        return []
    nd = len(k["size"])
    c = k["config"]
    kernel = k["kernel"] if "kernel" in k else _ints(c["kernel_size"], nd)
    stride = _ints(c.get("stride") or kernel, nd)
    padding = c.get("padding", 0)
    pads = (0,) * nd if isinstance(padding, str) else _ints(padding, nd)
    options = []
    for n, kk, s, p in zip(k["size"], kernel, stride, pads):
        reach = kk - 2 * p if space.kind == "conv" else kk
        base = max(n, reach, 1)
        if space.fmt == "cs231n":
            r = (base - reach) % s
            choices = {base + (s - r) % s}
            if r and base - r >= max(reach, 1):
                choices.add(base - r)
        else:
            choices = {base}
        options.append(sorted(choices))
    fixed = []
    for size in np.array(np.meshgrid(*options, indexing="ij")).reshape(nd, -1).T:
        candidate = _with(k, size=tuple(int(v) for v in size))
        if valid(space, candidate):
            fixed.append(candidate)
    return fixed


# --- the search -------------------------------------------------------------------------------------

def _data_dependent(op: str) -> bool:
    """Ops whose mistakes show only on some inputs (ties, zeros, a shared maximum)."""
    return op.startswith("max_pool") or kind_of(op) == "activation"


def shrink(space: Space, runner: Runner, start: Capture, signature: Signature, budget: float = BUDGET,
           deadline: float | None = None) -> tuple[Capture, bool]:
    """The smallest configuration reachable from ``start`` by shrinking moves that fails like ``signature``.

    Returns (its capture, whether a local minimum was reached within the budget).
    """
    deadline = deadline if deadline is not None else time.perf_counter() + budget
    if not space.kind:
        return start, True
    # data-dependent failures: the inputs cut from the failing case around its first wrong element, then two seeds
    tries = [(runner.base_seed, "cut"), (runner.base_seed, None), (runner.base_seed + 1, None)] \
        if _data_dependent(space.op) else [(runner.base_seed, None)]
    best, tried = start, {start.case.id}
    for _ in range(MAX_ROUNDS):
        current = knobs_of(best.case)
        candidates = {}
        for moved in moves(space, current):
            for fixed in repairs(space, moved):
                case = case_of(space.op, fixed)
                if size_key(case) < size_key(best.case) and case.id not in tried:
                    candidates[case.id] = case
        improved = False
        for case in sorted(candidates.values(), key=size_key):
            if time.perf_counter() > deadline or runner.lost:
                return best, False
            tried.add(case.id)
            for seed, how in tries:
                capture = runner.capture(case, seed, diagnose=False, around=best if how else None,
                                         gradient=signature.gradient)
                if capture is None:
                    break
                if _fails_same(runner, capture, signature):
                    best, improved = capture, True
                    break
            if improved:
                break
        if not improved:
            return best, True
    return best, False


def _fails_same(runner: Runner, capture: Capture, signature: Signature) -> bool:
    """Whether ``capture`` fails like ``signature`` (diagnosing it only once its gradient is known to be wrong)."""
    result = capture.result
    if signature.gradient != "error":
        check = result.check(signature.gradient)
        if check is None or check.ok:
            return False
        if signature.needs_diagnosis() and not result.findings:
            grads = {n: v for n, v in capture.got.items() if n != "out" and v is not None}
            runner.diagnose(capture, _Oracle(capture), grads)
    return signature.matches(result)


def _cut_oracle(case: Case, seed: int, around: Capture, gradient: str):
    """torch's results for ``case`` on inputs cut from ``around``'s, centred on its first wrong element."""
    from ...harness import Oracle
    from ...sampling import draw_inputs, draw_upstream
    from ...torch_ops import autograd_vjp

    rng = np.random.default_rng(seed)
    inputs = draw_inputs(case, rng)
    centre = None
    expected, got = around.expected.get(gradient), around.got.get(gradient)
    if isinstance(got, np.ndarray) and expected is not None and got.shape == expected.shape:
        from ...diagnosis import mismatches

        wrong = np.argwhere(mismatches(around.case, got, expected))
        centre = tuple(wrong[0]) if len(wrong) else None
    for name, new in inputs.items():
        old = around.inputs.get(name)
        if new is None or old is None or old.ndim != new.ndim:
            continue
        source, target = [], []
        for axis, (n_old, n_new) in enumerate(zip(old.shape, new.shape)):
            c = centre[axis] if centre is not None and name == "x" and axis < len(centre) else 0
            start = int(min(max(c - (n_new - 1) // 2, 0), max(n_old - n_new, 0)))
            width = min(n_new, n_old - start)
            source.append(slice(start, start + width))
            target.append(slice(0, width))
        inputs[name] = np.array(new, copy=True)
        inputs[name][tuple(target)] = old[tuple(source)]
    out, grads, upstream = autograd_vjp(SPECS[case.op].torch_mirror, inputs, case.config,
                                        lambda shape: draw_upstream(rng, shape))
    return Oracle(inputs, upstream, out, grads)


class _Oracle:
    """The oracle of a capture, in reference.harness.Oracle's shape (for the diagnosis)."""

    def __init__(self, capture: Capture):
        self.inputs, self.upstream, self.out = capture.inputs, capture.upstream, capture.expected["out"]
        self.grads = {n: v for n, v in capture.expected.items() if n != "out"}


def counted_failing(results: list[CaseResult], profile) -> list[CaseResult]:
    """The item's failing cases as scoring counts them (a convention under a 'note' profile is not one)."""
    from ..scoring import convention_only

    return [r for r in results if not r.ok and not r.skipped
            and not (profile.conventions == "note" and convention_only(r))]


def attach(score, item, binding, the_plan, profile, results: list[CaseResult], view, base_seed: int,
           budget: float = BUDGET) -> None:
    """Find the item's smallest failing case and set ``score.minimal`` (a :class:`Found`).

    Nothing is attached when the item did not fail, could not run, failed by a timeout or crash (each smaller
    case would cost a time limit) or torch is not installed (the oracle of new configurations); a note says
    when the failing case did not fail again the same way.
    """
    from ..scoring import most_informative

    failing = counted_failing(results, profile)
    if not failing or score.problem:
        return
    ranked = most_informative(failing)
    # the item's dominant named way of failing: of the signatures with a catalogue name or an op diagnosis (else
    # of all), the one most failing cases share; ties go to the most informative case's
    signatures = [Signature.of(r) for r in ranked]
    signature = max(signatures, key=lambda sig: (sig.needs_diagnosis(), signatures.count(sig), -signatures.index(sig)))
    reference = ranked[signatures.index(signature)]
    if signature.gradient == "error" and not signature.error_key:
        return  # timeouts and crashes: running smaller cases would cost a time limit each
    try:
        import torch  # noqa: F401 - the oracle of new configurations
    except ImportError:
        return  # grading from frozen fixtures without torch: the report quotes the grid's cases only
    start_time = time.perf_counter()
    runner = Runner(view, item.op, base_seed, profile.dtype_policy)
    space = Space(the_plan.format, item.name, item.op, tuple(getattr(binding, "params", ()) or ()), signature.gradient)
    same = sorted((r for r in failing if signature.matches(r)), key=lambda r: size_key(r.case))
    start_case = same[0].case if same else reference.case
    start = runner.capture(start_case)
    if start is None or not signature.matches(start.result):
        start = runner.capture(reference.case)
        start_case = reference.case
    if start is None or not signature.matches(start.result):
        score.notes.append("no smallest failing case: the failing case did not fail again the same way when re-run")
        return
    minimal, complete = shrink(space, runner, start, signature, deadline=start_time + budget)
    if not minimal.result.findings and not minimal.result.ok and not minimal.result.error:
        grads = {n: v for n, v in minimal.got.items() if n != "out" and v is not None}
        runner.diagnose(minimal, _Oracle(minimal), grads)
    seconds = time.perf_counter() - start_time
    typical = start if reference.case.id == start_case.id else runner.capture(reference.case)
    score.minimal = Found(item.name, item.label, the_plan.format, item.op, item.call, binding, the_plan.target,
                          the_plan.root, signature.gradient, minimal, typical, start_case,
                          _ordered(mistake_names(minimal.result), signature.mistake),
                          signature.head, signature.error_key, seconds, runner.evaluations, complete)


def _ordered(names: list[str], first: str) -> list[str]:
    """The catalogue names with the one the search kept first."""
    return ([first] if first else []) + [n for n in names if n != first]
