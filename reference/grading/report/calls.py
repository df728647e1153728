"""A case in the student's own terms: the call their course makes, and its arrays under their names and layout.

The grader runs every format behind the native ``forward`` / ``backward`` pattern, in torch's layout
(reference.grading.adapters). A student reads their own API instead:

* mytorch -- ``layer = Conv1d(in_channels=1, out_channels=1, kernel_size=2, stride=2)``,
  ``Z = layer.forward(A)``, ``dLdA = layer.backward(dLdZ)``, gradients ``layer.dLdW`` / ``layer.dLdb``;
  a transposed convolution's W (and dLdW) in the layout the layer holds, (C_out, C_in, K) flipped,
  as the adapter injects it; activations ``A = layer.forward(Z)``, ``dLdZ = layer.backward(dLdA)``;
* cs231n -- ``out, cache = conv_forward_naive(x, w, b, {'stride': 1, 'pad': 1})``,
  ``dx, dw, db = conv_backward_naive(dout, cache)``;
* native -- ``out, cache = conv2d_forward(x, w, b, stride=1, ...)``, ``grads = conv2d_backward(dout, cache)``.

:func:`describe` gives the call as code lines and every array (inputs, upstream gradient, torch's and
the student's outputs) under the student's name, with the constructor arguments spelled as the
student's class spells them (the adapter's table).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...cases import per_dim
from ..adapters import ARGUMENT_SPELLINGS
import contextlib


@dataclass
class Output:
    """One of the case's results (the forward output or a gradient): torch's and the student's, the student's name."""

    name: str  # torch's name: 'out', 'x', 'w', 'b'
    label: str  # the student's: Z, dLdA, dx, grads['x']
    key: str  # a file-safe identifier (the .npz key): Z, dLdA, dx, dx
    expected: np.ndarray
    got: object  # the student's array (None when missing)


@dataclass
class Call:
    """How the student's code is called on one case, and its arrays under the student's names."""

    lines: list[str]  # the call as code, without weight injection
    construct: dict = field(default_factory=dict)  # mytorch: constructor keyword -> value (spelled as the class spells it)
    cls: str = ""  # mytorch: the class; cs231n/native: ''
    functions: tuple = ()  # cs231n/native: (forward, backward) function names
    inputs: list = field(default_factory=list)  # (label, key, array) in call order, the student's layout
    upstream: tuple = ()  # (label, key, array)
    outputs: list = field(default_factory=list)  # Output, 'out' first, then each gradient
    options: object = None  # cs231n: the param dict; native: the keyword options

    def output(self, name: str) -> Output | None:
        """The result named ``name`` ('out', 'x', 'w', 'b'), if the case has it."""
        return next((o for o in self.outputs if o.name == name), None)


def spelled(arg: str, params) -> str | None:
    """The keyword the student's constructor uses for ``arg`` (the adapter's spellings), or None when it has none."""
    return next((s for s in ARGUMENT_SPELLINGS.get(arg, (arg,)) if s in params), None)


def _flip_swap(a, nd: int):
    """torch's transposed-conv weight layout <-> the mytorch layer's (an involution: swap C_in/C_out, flip)."""
    a = np.asarray(a)
    flip = (slice(None), slice(None)) + (slice(None, None, -1),) * nd
    return np.ascontiguousarray(a[flip].swapaxes(0, 1))


def _shape(a) -> str:
    """'(1, 1, 3)' for an array, 'None' for None."""
    return str(tuple(np.shape(a))) if a is not None else "None"


def describe(found, capture) -> Call:
    """The call and arrays of ``capture`` (a shrink.Capture of ``found``'s item) in the student's terms."""
    if found.fmt == "mytorch":
        return _mytorch(found, capture)
    if found.fmt == "cs231n":
        return _cs231n(found, capture)
    return _native(found, capture)


def _mytorch(found, capture) -> Call:
    """The 11-785 class's constructor, forward and backward, arrays named A, W, b, dLdZ, Z, dLdA, dLdW, dLdb."""
    case, params = capture.case, tuple(found.binding.params or ())
    x = capture.inputs["x"]
    nd = max(x.ndim - 2, 1)
    cls = found.binding.names[0] if found.binding.names else found.item
    known: dict = {}
    activation = found.call == "activation"
    transpose = case.op.startswith("conv_transpose")
    if case.op.startswith("conv"):
        w = capture.inputs["w"]
        stride = per_dim(case.config.get("stride", 1), nd)[0]
        padding = per_dim(case.config.get("padding", 0), nd)[0]
        weights = _flip_swap(w, nd) if transpose else w
        known = {"in_channels": weights.shape[1], "out_channels": weights.shape[0], "kernel_size": weights.shape[2]}
        if transpose:
            known["upsampling_factor"] = stride
        else:
            known["stride"] = stride
            known["padding"] = padding
    elif case.op.startswith(("upsample", "downsample")):
        factor = per_dim(case.config["factor"], nd)[0]
        known = {("upsampling_factor" if case.op.startswith("upsample") else "downsampling_factor"): factor}
    elif case.op.endswith("pool2d"):
        k = per_dim(case.config["kernel_size"], 2)[0]
        known = {"kernel": k, "stride": per_dim(case.config.get("stride") or k, 2)[0]}
    construct = {}
    for arg, value in known.items():
        spelling = spelled(arg, params)
        if spelling is not None and spelling not in construct:
            construct[spelling] = value
    arguments = ", ".join(f"{k}={v!r}" for k, v in construct.items())
    x_name, out_name, up_name, dx_name = ("Z", "A", "dLdA", "dLdZ") if activation else ("A", "Z", "dLdZ", "dLdA")
    lines = [f"layer = {cls}({arguments})"]
    inputs = [(x_name, x_name, x)]
    if case.op.startswith("conv"):
        lines[0] += "  # W and b set to the arrays below"
        w_student = _flip_swap(capture.inputs["w"], nd) if transpose else capture.inputs["w"]
        inputs.append(("W", "W", w_student))
        b = capture.inputs.get("b")
        inputs.append(("b", "b", b if b is not None else np.zeros(w_student.shape[0], dtype=x.dtype)))
    lines.append(f"{out_name} = layer.forward({x_name})  # {x_name}: {_shape(x)}")
    lines.append(f"{dx_name} = layer.backward({up_name})  # {up_name}: {_shape(capture.upstream)}"
                 + ("; then layer.dLdW" + (", layer.dLdb" if capture.inputs.get("b") is not None else "")
                    if case.op.startswith("conv") else ""))
    outputs = [Output("out", out_name, out_name, capture.expected["out"], capture.got.get("out"))]
    labels = {"x": dx_name, "w": "dLdW", "b": "dLdb"}
    for name in (n for n in capture.expected if n != "out"):
        expected, got = capture.expected[name], capture.got.get(name)
        if transpose and name == "w":
            expected = _flip_swap(expected, nd)
            with contextlib.suppress(ValueError, IndexError):
                got = _flip_swap(got, nd) if got is not None else None
        outputs.append(Output(name, labels.get(name, f"d{name}"), labels.get(name, f"d{name}"), expected, got))
    return Call(lines, construct, cls, (), inputs, (up_name, up_name, capture.upstream), outputs)


def _cs231n(found, capture) -> Call:
    """The cs231n function pair with its param dict, arrays named x, w, b, dout, out, dx, dw, db."""
    case = capture.case
    forward, backward = (tuple(found.binding.names) + ("", ""))[:2] if found.binding.names else ("", "")
    x = capture.inputs["x"]
    inputs = [("x", "x", x)]
    if found.item == "conv_naive":
        w, b = capture.inputs["w"], capture.inputs.get("b")
        options = {"stride": per_dim(case.config.get("stride", 1), 2)[0], "pad": per_dim(case.config.get("padding", 0), 2)[0]}
        inputs += [("w", "w", w), ("b", "b", b if b is not None else np.zeros(w.shape[0], dtype=x.dtype))]
        lines = [f"out, cache = {forward}(x, w, b, {options!r})  # x: {_shape(x)}, w: {_shape(w)}, b: ({w.shape[0]},)",
                 f"dx, dw, db = {backward}(dout, cache)  # dout: {_shape(capture.upstream)}"]
    elif found.item == "max_pool_naive":
        k = per_dim(case.config["kernel_size"], 2)
        options = {"pool_height": k[0], "pool_width": k[1], "stride": per_dim(case.config.get("stride") or k, 2)[0]}
        lines = [f"out, cache = {forward}(x, {options!r})  # x: {_shape(x)}",
                 f"dx = {backward}(dout, cache)  # dout: {_shape(capture.upstream)}"]
    else:
        options = None
        lines = [f"out, cache = {forward}(x)  # x: {_shape(x)}", f"dx = {backward}(dout, cache)  # dout: {_shape(capture.upstream)}"]
    outputs = [Output("out", "out", "out", capture.expected["out"], capture.got.get("out"))]
    outputs += [Output(n, f"d{n}", f"d{n}", capture.expected[n], capture.got.get(n)) for n in capture.expected if n != "out"]
    return Call(lines, {}, "", (forward, backward), inputs, ("dout", "dout", capture.upstream), outputs, options)


def _native(found, capture) -> Call:
    """``<op>_forward(..., **config)`` / ``<op>_backward(dout, cache)``, gradients grads['x'], ..."""
    case = capture.case
    forward, backward = f"{case.op}_forward", f"{case.op}_backward"
    names = [n for n in case.shapes]
    options = dict(case.config)
    arguments = ", ".join(names + [f"{k}={v!r}" for k, v in options.items()])
    shapes = ", ".join(f"{n}: {_shape(capture.inputs.get(n))}" for n in names)
    lines = [f"out, cache = {forward}({arguments})  # {shapes}",
             f"grads = {backward}(dout, cache)  # dout: {_shape(capture.upstream)}; grads: a dict by input name"]
    inputs = [(n, n, capture.inputs.get(n)) for n in names]
    outputs = [Output("out", "out", "out", capture.expected["out"], capture.got.get("out"))]
    outputs += [Output(n, f"grads[{n!r}]", f"d{n}", capture.expected[n], capture.got.get(n))
                for n in capture.expected if n != "out"]
    return Call(lines, {}, "", (forward, backward), inputs, ("dout", "dout", capture.upstream), outputs, options)
