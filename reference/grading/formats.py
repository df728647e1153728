"""The course formats a hand-in can be in, what each names its layers, and which format a hand-in is.

* ``native``  — the ``manual_grads`` API: ``<op>_forward`` / ``<op>_backward``;
* ``cs231n``  — Stanford cs231n assignment 2 ``layers.py`` functions (``conv_forward_naive``, ...);
* ``mytorch`` — CMU 11-785 HW2P1 classes (``Conv1d_stride1``, ``Conv1d``, ..., ``ReLU``).

An :class:`Item` is one graded unit under the name the student wrote
(``Conv2d_stride1``, ``conv_naive``), the registry op whose torch mirror
checks it, and how the worker calls it. :func:`detect` decides the format from
the source text alone (reference.grading.discovery) and says why; :func:`bind`
picks, for each item, the definition that fits the course's API.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..registry import SPECS
from .adapters import ARGUMENT_SPELLINGS
from .discovery import HandIn, best

FORMATS = ("native", "cs231n", "mytorch")


def _accepts(*arguments: str) -> dict[str, tuple[str, ...]]:
    """{argument: its spellings} for the constructor arguments the mytorch adapter passes an item's class.

    The spellings are the adapter's own table (adapters.ARGUMENT_SPELLINGS), so a class is bound only when
    adapters.construct can fill each parameter it requires.
    """
    return {a: ARGUMENT_SPELLINGS[a] for a in arguments}


_CONV = _accepts("in_channels", "out_channels", "kernel_size", "weight_init_fn", "bias_init_fn")
_STRIDED = {**_CONV, **_accepts("stride", "padding")}
_TRANSPOSE = {**_CONV, **_accepts("upsampling_factor")}
_POOL1 = _accepts("kernel")
_POOL = {**_POOL1, **_accepts("stride")}


@dataclass(frozen=True)
class Item:
    """One graded unit of a format: its student-facing name, registry op, and how it is called."""

    name: str
    op: str
    accepts: dict  # constructor arguments (mytorch) the class may take
    call: str = ""  # how the worker calls it: mytorch class kind, or cs231n function family
    display: str = ""  # the name shown in reports, when not ``name``

    @property
    def label(self) -> str:
        return self.display or self.name


def _mytorch(name, op, accepts, call):
    return Item(name, op, accepts, call)


MYTORCH_ITEMS = {i.name: i for i in (
    _mytorch("Conv1d_stride1", "conv1d", _CONV, "conv"), _mytorch("Conv1d", "conv1d", _STRIDED, "conv"),
    _mytorch("Conv2d_stride1", "conv2d", _CONV, "conv"), _mytorch("Conv2d", "conv2d", _STRIDED, "conv"),
    _mytorch("ConvTranspose1d", "conv_transpose1d", _TRANSPOSE, "conv_transpose"),
    _mytorch("ConvTranspose2d", "conv_transpose2d", _TRANSPOSE, "conv_transpose"),
    _mytorch("Upsample1d", "upsample1d", _accepts("upsampling_factor"), "resample"),
    _mytorch("Upsample2d", "upsample2d", _accepts("upsampling_factor"), "resample"),
    _mytorch("Downsample1d", "downsample1d", _accepts("downsampling_factor"), "resample"),
    _mytorch("Downsample2d", "downsample2d", _accepts("downsampling_factor"), "resample"),
    _mytorch("MaxPool2d_stride1", "max_pool2d", _POOL1, "pool"), _mytorch("MaxPool2d", "max_pool2d", _POOL, "pool"),
    _mytorch("MeanPool2d_stride1", "avg_pool2d", _POOL1, "pool"), _mytorch("MeanPool2d", "avg_pool2d", _POOL, "pool"),
    _mytorch("ReLU", "relu", {}, "activation"), _mytorch("Sigmoid", "sigmoid", {}, "activation"),
    _mytorch("Tanh", "tanh", {}, "activation"),
)}

# cs231n: each item is a forward/backward pair; the naive functions, else the fast ones
CS231N_FUNCTIONS = {
    "conv_naive": ("conv2d", ("conv_forward_naive", "conv_backward_naive"), ("conv_forward_fast", "conv_backward_fast")),
    "max_pool_naive": ("max_pool2d", ("max_pool_forward_naive", "max_pool_backward_naive"),
                       ("max_pool_forward_fast", "max_pool_backward_fast")),
    "relu": ("relu", ("relu_forward", "relu_backward")),
}
CS231N_ITEMS = {name: Item(name, spec[0], {}, "cs231n", " / ".join(spec[1])) for name, spec in CS231N_FUNCTIONS.items()}
CS231N_MARKERS = ("conv_forward_naive", "conv_forward_fast", "max_pool_forward_naive", "affine_forward",
                  "batchnorm_forward", "softmax_loss", "svm_loss")

NATIVE_ITEMS = {op: Item(op, op, {}, "native") for op in SPECS}
ITEMS = {"native": NATIVE_ITEMS, "cs231n": CS231N_ITEMS, "mytorch": MYTORCH_ITEMS}


def items_for_op(fmt: str, op: str) -> list[Item]:
    return [i for i in ITEMS[fmt].values() if i.op == op]


# --- detection ---------------------------------------------------------------------------------

def _native_ops(handin: HandIn) -> list[str]:
    return [op for op in SPECS if f"{op}_forward" in handin.functions and f"{op}_backward" in handin.functions]


def detect(handin: HandIn | None, target: str) -> tuple[str, str]:
    """(format, why) from the hand-in's source text; a dotted module name is native."""
    if handin is None:
        return "native", f"{target} is a module name: graded with the native API"
    mytorch = sorted(n for n in MYTORCH_ITEMS if n in handin.classes)
    native = _native_ops(handin)
    cs231n = sorted(n for n in CS231N_MARKERS if n in handin.functions)
    if mytorch and len(mytorch) >= len(native):
        where = sorted({d.file.rsplit("/", 1)[0] + "/" if "/" in d.file else d.file
                        for n in mytorch for d in handin.classes[n]})
        return "mytorch", f"graded as mytorch: {', '.join(where[:3])} define{'s' if len(where) == 1 else ''} {', '.join(mytorch)}"
    relu_dict = any(d.returns_dict for d in handin.functions.get("relu_backward", []))
    if native and (len([op for op in native if op != "relu"]) > 0 or (not cs231n and relu_dict)):
        return "native", f"graded as native: defines {', '.join(f'{op}_forward/_backward' for op in native[:6])}" + (
            " ..." if len(native) > 6 else "")
    if cs231n or "relu_forward" in handin.functions:
        files = sorted({d.file for n in cs231n or ["relu_forward"] for d in handin.functions[n]})
        return "cs231n", f"graded as cs231n: {', '.join(files[:2])} define{'s' if len(files) == 1 else ''} " \
                         f"{', '.join(cs231n or ['relu_forward'])}"
    return "native", "graded as native: no course's layer names found (nothing recognisable is defined)"


# --- binding: which definition the worker calls for each item ---------------------------------

@dataclass(frozen=True)
class Binding:
    """Where the worker finds an item: a class or function pair in one file, or a module's attribute."""

    item: str
    file: str = ""  # relative to the hand-in root ('' for a dotted module)
    names: tuple[str, ...] = ()  # class name, or forward and backward function names
    params: tuple[str, ...] = ()  # the class constructor's parameters (mytorch)
    problem: str = ""  # why the item cannot be graded (not defined, no definition fits the API)

    def to_wire(self) -> dict:
        return {"file": self.file, "names": list(self.names)}


def bind(handin: HandIn | None, fmt: str, item: Item) -> Binding:
    """The definition the worker should call for ``item`` (or why there is none)."""
    if fmt == "native":
        return Binding(item.name, handin_file(handin, f"{item.op}_forward"), (f"{item.op}_forward", f"{item.op}_backward"))
    if fmt == "cs231n":
        _, *pairs = CS231N_FUNCTIONS[item.name]
        for pair in pairs:
            found = [next(iter(handin.functions.get(n, [])), None) for n in pair]
            if all(found):
                layers = [d for d in handin.functions[pair[0]] if os.path.basename(d.file) == "layers.py"]
                return Binding(item.name, (layers or handin.functions[pair[0]])[-1].file, pair)
        return Binding(item.name, problem=f"not implemented: {' / '.join(pairs[0])} not found in the hand-in")
    defs = handin.classes_named(item.name)
    if not defs:
        return Binding(item.name, problem=f"not implemented: class {item.name} not found in the hand-in")
    chosen = best(defs, item.accepts)
    if chosen is None:
        where = ", ".join(f"{d.file}:{d.line} {d.name}({', '.join(d.params)})" for d in defs[:3])
        return Binding(item.name, problem=f"no {item.name} fits the HW2P1 API (constructor taking {', '.join(item.accepts) or 'nothing'}, "
                                          f"forward(A), backward(dLdZ)): found {where}")
    return Binding(item.name, chosen.file, (chosen.name,), chosen.params)


def handin_file(handin: HandIn | None, function: str) -> str:
    if handin is None:
        return ""
    defs = handin.functions.get(function)
    return defs[-1].file if defs else ""
