"""A script that reruns a failing item's smallest case on the student's own code, without the grader.

For each failing item, :func:`write` writes ``reproduce_<item>.py`` and ``reproduce_<item>.npz``
(the case's inputs, upstream gradient and torch's results, in the student's layout and names; a
small case's arrays are also written into the script as exact literals, so the script alone -- as
the Markdown and the page show it -- runs anywhere). The hand-in's path is written in, and a first
argument replaces it. The script imports only NumPy and the student's module -- the way the
course's runner does:

* mytorch -- ``mytorch/`` (and ``mytorch/nn/``, and the hand-in's other folders) on ``sys.path``,
  the class imported from its file by bare name (``from Conv1d import Conv1d_stride1``), or from its
  package when the file uses relative imports; the layer built with the arguments its constructor
  spells, W and b given through ``weight_init_fn`` / ``bias_init_fn`` and set on every (sub-)layer
  holding a W of that shape, as reference.grading.adapters.MytorchAdapter does (a transposed
  convolution's W already in the layer's layout);
* cs231n -- ``layers.py`` imported as ``cs231n.layers`` (whatever its folder is called), then
  ``conv_forward_naive(x, w, b, {'stride': ..., 'pad': ...})`` / ``conv_backward_naive(dout, cache)``;
* native -- the module (file, package or dotted name), ``<op>_forward`` / ``<op>_backward``.

It prints the call, the inputs, and for the output and every gradient either "matches" or torch's
array and the student's in full with '*' on the elements outside the grader's tolerance (the
same printing and tolerance code as the report: reference.grading.report.arrays, embedded), and
ends with ``result: matches`` (exit 0) or ``result: MISMATCH in ...`` (exit 1). Student-controlled
strings (paths) enter the script only as ``repr`` literals.
"""
from __future__ import annotations

import inspect
import io
import os
import re
import sys

import numpy as np

from ...compare import tolerance_for
from .. import adapters
from ..loading import RELATIVE_IMPORT
from . import arrays
from .calls import describe


def safe_name(item: str) -> str:
    """The item's name as a file-name part (letters, digits, underscores)."""
    return re.sub(r"\W", "_", item) or "item"


def file_names(found) -> tuple[str, str]:
    """('reproduce_<item>.py', 'reproduce_<item>.npz')."""
    stem = f"reproduce_{safe_name(found.item)}"
    return stem + ".py", stem + ".npz"


EMBED = 5000  # arrays of at most this many elements in all are written into the script itself


def _data(found, call=None) -> dict:
    """Every input, the upstream gradient, and expected_<name> for each output, under the student's names."""
    call = call or describe(found, found.minimal)
    data = {key: np.asarray(a) for _, key, a in call.inputs if a is not None}
    data[call.upstream[1]] = np.asarray(call.upstream[2])
    for o in call.outputs:
        data[f"expected_{o.key}"] = np.asarray(o.expected)
    return data


def _embedded(data: dict) -> str:
    """``DATA = {...}``: the arrays as exact literals (repr of each float round-trips)."""
    items = [f"    {key!r}: np.array({a.tolist()!r}, dtype={a.dtype.name!r})," for key, a in data.items()]
    return "DATA = {\n" + "\n".join(items) + "\n}"


def npz_bytes(found) -> bytes:
    """The .npz of the minimal case (see :func:`_data`)."""
    buffer = io.BytesIO()
    np.savez(buffer, **_data(found))
    return buffer.getvalue()


def write(found, folder: str) -> tuple[str, str]:
    """Write the script and its .npz into ``folder``; their paths."""
    script_name, data_name = file_names(found)
    os.makedirs(folder, exist_ok=True)
    script, data = os.path.join(folder, script_name), os.path.join(folder, data_name)
    with open(data, "wb") as f:
        f.write(npz_bytes(found))
    with open(script, "w") as f:
        f.write(script_text(found))
    return script, data


# --- the script ---------------------------------------------------------------------------------------

_SHOW = '''
def indent(text, by="    "):
    return "\\n".join(by + line for line in text.splitlines())


def show(label, got, expected):
    """Print one array's verdict: 'matches', or torch's array and yours with '*' on the elements that differ."""
    expected = np.asarray(expected)
    if got is None:
        print("%s: MISMATCH: your code gave no %s" % (label, label))
        return False
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        print("%s: MISMATCH: not a numeric array (%s)" % (label, exc))
        return False
    if got.shape != expected.shape:
        print("%s: MISMATCH: shape %s, expected %s" % (label, got.shape, expected.shape))
        print("  expected (torch):")
        print(indent(format_array(expected)))
        print("  yours:")
        print(indent(format_array(got)))
        return False
    bad = differs(got, expected, RTOL, ATOL)
    if not bad.any():
        print("%s: matches" % label)
        return True
    print("%s: MISMATCH at %d of %d elements (* marks them)" % (label, bad.sum(), bad.size))
    print("  expected (torch):")
    print(indent(format_array(expected, bad)))
    print("  yours:")
    print(indent(format_array(got, bad)))
    return False


def finish(verdicts):
    wrong = [label for label, right in verdicts if not right]
    print("result: matches" if not wrong else "result: MISMATCH in " + ", ".join(wrong))
    sys.exit(1 if wrong else 0)
'''

# the grader's own search for the layer that holds the weights (reference/grading/adapters.py), written into
# the script as its source: the script needs only NumPy and the hand-in
_HOLDERS = inspect.getsource(adapters._holders).replace("def _holders(", "def holders(", 1)


def _mytorch_folders(root: str) -> tuple[list[str], list[str]]:
    """(folders the course runner puts on sys.path, first first; parents of mytorch/ folders), relative to root."""
    dirs = []
    for folder, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "__")))
        if any(f.endswith(".py") for f in files):
            dirs.append(folder)
    mytorch = [d for d in dirs if os.path.basename(d) == "mytorch"]

    def within(d, m):
        return d == m or d.startswith(m.rstrip(os.sep) + os.sep)

    order = sorted(dirs, key=lambda d: (not any(within(d, m) for m in mytorch), d.count(os.sep), d))
    return [os.path.relpath(d, root) for d in order], [os.path.relpath(os.path.dirname(m), root) for m in mytorch]


def _package_chain(path: str, root: str) -> list[str]:
    """The package folders of a file that needs its package (top first), as reference.grading.loading finds them."""
    chain = [os.path.dirname(path)]
    while (os.path.exists(os.path.join(os.path.dirname(chain[0]), "__init__.py"))
           and os.path.dirname(chain[0]).startswith(root) and os.path.dirname(chain[0]) != chain[0]):
        chain.insert(0, os.path.dirname(chain[0]))
    return chain


def _mytorch_import(found) -> list[str]:
    """The script's lines that import the student's class as the course's runner does."""
    root = found.root
    rel = found.binding.file
    cls = found.binding.names[0]
    path = os.path.join(root, rel)
    folders, parents = _mytorch_folders(root)
    lines = ["# your code, imported as the course's runner imports it: mytorch/ (and mytorch/nn/) on sys.path",
             f"FOLDERS = [os.path.join(HAND_IN, folder) for folder in {folders!r}]",
             "for folder in reversed(FOLDERS):",
             "    sys.path.insert(0, folder)",
             f"for parent in {parents!r}:  # so `from mytorch.nn... import` works too",
             "    sys.path.insert(len(FOLDERS), os.path.join(HAND_IN, parent))"]
    with open(path, "rb") as f:
        relative = bool(RELATIVE_IMPORT.search(f.read()))
    stem = os.path.splitext(os.path.basename(rel))[0]
    if relative:
        chain = _package_chain(path, root)
        dotted = ".".join([os.path.basename(d) for d in chain] + [stem])
        top = os.path.relpath(os.path.dirname(chain[0]), root)
        lines += [f"sys.path.insert(0, os.path.join(HAND_IN, {top!r}))  # {rel} uses relative imports: import its package",
                  "import importlib",
                  f"{cls} = getattr(importlib.import_module({dotted!r}), {cls!r})"]
    elif stem.isidentifier() and stem not in sys.stdlib_module_names:
        lines.append(f"from {stem} import {cls}  # {rel}" if rel.isprintable() else f"from {stem} import {cls}")
    else:
        lines += ["import importlib.util",
                  f"_spec = importlib.util.spec_from_file_location({stem!r}, os.path.join(HAND_IN, {rel!r}))",
                  "_module = importlib.util.module_from_spec(_spec)",
                  f"sys.modules[{stem!r}] = _module",
                  "_spec.loader.exec_module(_module)",
                  f"{cls} = _module.{cls}"]
    return lines


def _mytorch_body(found, call) -> list[str]:
    """The script's lines that build the layer, inject W and b, and run forward and backward."""
    cls = found.binding.names[0]
    names = [label for label, _, _ in call.inputs]
    lines = [f"{label} = DATA[{key!r}]" for label, key, _ in call.inputs]
    lines.append(f"{call.upstream[0]} = DATA[{call.upstream[1]!r}]")
    construct = ", ".join(f"{k}={v!r}" for k, v in call.construct.items())
    conv = found.op.startswith("conv")
    params = tuple(found.binding.params or ())
    if conv:
        inits = [f"{p}=lambda *shape: {v}.copy()" for p, v in (("weight_init_fn", "W"), ("bias_init_fn", "b")) if p in params]
        construct = ", ".join([c for c in (construct,) if c] + inits)
    x_name = names[0]
    out_label = call.outputs[0].label
    dx_label = call.output("x").label
    lines.append(f"layer = {cls}({construct})")
    if conv:
        lines += ["for holder in holders(layer, 'W'):  # as the grader does, in case the init functions are ignored",
                  "    if np.shape(holder.W) == W.shape:",
                  "        holder.W, holder.b = W.copy(), b.copy()"]
    lines.append(f"{out_label} = layer.forward({x_name}.copy())")
    up = call.upstream[0]
    if found.call == "activation":
        lines += ["_parameters = [p for p in inspect.signature(layer.backward).parameters.values()",
                  "               if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]",
                  "if _parameters:",
                  f"    {dx_label} = layer.backward({up}.copy())",
                  "else:  # older handouts: backward() returns the derivative only",
                  f"    {dx_label} = {up} * layer.backward()"]
    else:
        lines.append(f"{dx_label} = layer.backward({up}.copy())")
    if conv:
        lines += ["_holder = (holders(layer, 'dLdW') or [None])[0]",
                  "dLdW = getattr(_holder, 'dLdW', None)",
                  "dLdb = getattr(_holder, 'dLdb', None)"]
    return lines


def _cs231n_import(found) -> list[str]:
    """The script's lines that import the layers file as cs231n.layers."""
    root, rel = found.root, found.binding.file
    folders, _ = _mytorch_folders(root)
    path = os.path.join(root, rel)
    chain = _package_chain(path, root)
    inner = [os.path.basename(d) for d in chain[1:]]
    module = ".".join(["cs231n"] + inner + [os.path.splitext(os.path.basename(rel))[0]])
    top = os.path.relpath(chain[0], root)
    return ["# your code, imported as the grader imports it: the layers file as cs231n.layers, whatever its folder is called",
            f"for folder in reversed([os.path.join(HAND_IN, folder) for folder in {folders!r}]):",
            "    sys.path.insert(0, folder)",
            "import importlib",
            "import types",
            f"PACKAGE = os.path.normpath(os.path.join(HAND_IN, {top!r}))",
            "if os.path.basename(PACKAGE) == 'cs231n':",
            "    sys.path.insert(0, os.path.dirname(PACKAGE))",
            "else:",
            "    _package = types.ModuleType('cs231n')",
            "    _package.__path__ = [PACKAGE]",
            "    sys.modules['cs231n'] = _package",
            f"layers = importlib.import_module({module!r})"]


def _cs231n_body(found, call) -> list[str]:
    """The script's lines that call the cs231n function pair."""
    forward, backward = call.functions
    lines = [f"{label} = DATA[{key!r}]" for label, key, _ in call.inputs]
    lines.append(f"dout = DATA[{call.upstream[1]!r}]")
    if found.item == "conv_naive":
        lines += [f"out, cache = layers.{forward}(x.copy(), w.copy(), b.copy(), {call.options!r})",
                  f"dx, dw, db = layers.{backward}(dout.copy(), cache)"]
    elif found.item == "max_pool_naive":
        lines += [f"out, cache = layers.{forward}(x.copy(), {call.options!r})", f"dx = layers.{backward}(dout.copy(), cache)"]
    else:
        lines += [f"out, cache = layers.{forward}(x.copy())", f"dx = layers.{backward}(dout.copy(), cache)"]
    return lines


def _native_import(found) -> list[str]:
    """The script's lines that import the native module (file, package or dotted name)."""
    target = found.target
    lines = ["# your module"]
    if os.path.isdir(target) and os.path.exists(os.path.join(target, "__init__.py")):
        return lines + ["sys.path.insert(0, os.path.dirname(os.path.normpath(HAND_IN)))", "import importlib",
                        "module = importlib.import_module(os.path.basename(os.path.normpath(HAND_IN)))"]
    if not os.path.exists(target):
        return lines + ["sys.path.insert(0, HAND_IN)", "import importlib", f"module = importlib.import_module({target!r})"]
    rel = os.path.basename(target) if os.path.isfile(target) else found.binding.file
    stem = os.path.splitext(os.path.basename(rel))[0]
    return lines + [f"_path = os.path.join(HAND_IN, {rel!r})",
                    "sys.path.insert(0, os.path.dirname(_path))",
                    "import importlib.util",
                    f"_spec = importlib.util.spec_from_file_location({stem!r}, _path)",
                    "module = importlib.util.module_from_spec(_spec)",
                    f"sys.modules[{stem!r}] = module",
                    "_spec.loader.exec_module(module)"]


def _native_body(found, call) -> list[str]:
    """The script's lines that call <op>_forward / <op>_backward and read the gradients."""
    forward, backward = call.functions
    lines = [f"{key} = DATA[{key!r}]" if a is not None else f"{key} = None" for _, key, a in call.inputs]
    lines.append(f"dout = DATA[{call.upstream[1]!r}]")
    arguments = [f"{key}.copy()" if a is not None else key for _, key, a in call.inputs]
    arguments += [f"{k}={v!r}" for k, v in (call.options or {}).items()]
    lines += [f"out, cache = module.{forward}({', '.join(arguments)})",
              f"grads = module.{backward}(dout.copy(), cache)",
              "grads = grads if isinstance(grads, dict) else {}"]
    lines += [f"{o.key} = grads.get({o.name!r})" for o in call.outputs if o.name != "out"]
    return lines


def script_text(found) -> str:
    """The reproduction script of ``found``'s minimal case (see the module docstring)."""
    call = describe(found, found.minimal)
    _, data_name = file_names(found)
    tol = tolerance_for(np.dtype(found.minimal.case.dtype))
    if found.fmt == "mytorch":
        imports, body = _mytorch_import(found), _mytorch_body(found, call)
    elif found.fmt == "cs231n":
        imports, body = _cs231n_import(found), _cs231n_body(found, call)
    else:
        imports, body = _native_import(found), _native_body(found, call)
    hand_in = found.root
    data = _data(found, call)
    embedded = sum(a.size for a in data.values()) <= EMBED
    where = "below (also in " + data_name + ")" if embedded else "in " + data_name + " (next to this script)"
    doc = "\n".join(["Rerun, without the grader, the smallest case on which " + found.label + " fails.", "",
                     "Written by the grader. It imports only NumPy and your own code, runs the call below on the",
                     f"arrays {where}, prints torch's expected arrays next to yours",
                     "('*' marks the elements outside the grader's tolerance) and ends with 'result: matches' when",
                     "everything agrees (exit code 0), else 'result: MISMATCH in ...' (exit code 1).", "",
                     f"    python {data_name[:-4]}.py [YOUR-HAND-IN-FOLDER]", "", "The call:", ""]
                    + ["    " + line for line in call.lines])
    verdicts = ", ".join(f"({o.label!r}, show({o.label!r}, {o.key if found.fmt != 'mytorch' else o.label}, "
                         f"DATA['expected_{o.key}']))" for o in call.outputs)
    parts = [
        '"""' + doc.replace("\\", "\\\\").replace('"""', "'''") + '\n"""',
        "import inspect\nimport os\nimport sys\n\nimport numpy as np",
        f"HAND_IN = sys.argv[1] if len(sys.argv) > 1 else {hand_in!r}  # your hand-in: give another as the first argument",
        "HERE = os.path.dirname(os.path.abspath(__file__))",
        (_embedded(data) + f"  # also in {data_name}") if embedded else
        f"DATA = dict(np.load(os.path.join(HERE, {data_name!r})))",
        f"RTOL, ATOL = {tol.rtol!r}, {tol.atol!r}  # the grader's tolerance for {found.minimal.case.dtype}",
        inspect.getsource(arrays.format_array).strip(),
        inspect.getsource(arrays.differs).strip(),
        _SHOW.strip(),
        _HOLDERS.strip(),
        "\n".join(imports),
        "\n".join(["# the case"] + [f"print({line!r})" for line in call.lines] + ["print()"]
                  + [f"print({label!r} + ' =')\nprint(indent(format_array(DATA[{key!r}])))" for label, key, a in call.inputs
                     if a is not None]
                  + [f"print({call.upstream[0]!r} + ' =')\nprint(indent(format_array(DATA[{call.upstream[1]!r}])))", "print()"]),
        "\n".join(body),
        f"finish([{verdicts}])",
    ]
    return "\n\n\n".join(parts[:2]) + "\n\n" + "\n".join(parts[2:6]) + "\n\n\n" + "\n\n\n".join(parts[6:]) + "\n"
