"""`tape()`: record the nodes ops create, print them, and watch backward replay them.

Inside `with tn.autograd.tape() as tape:` every node the engine puts on the
tape is also kept by this recorder (the engine calls `_record`, a one-flag test
when no tape is active). Each recorded node gets an observer that the engine
calls after the node's backward ran, so a later `backward()` is recorded too,
even when it runs outside the `with` block::

    x = tn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with tn.autograd.tape() as tape:
        y = (x * x).sum()
    y.backward()
    print(tape)       # the forward tape, then the order backward ran it in
    tape.explain()    # each backward step: the op's rule, shapes, gradient norms

Every view numbers a node the same way: `Mul #7` is the node's sequence number,
its place on the one global tape (the engine runs backward in decreasing number),
as in `repr(node)`, `tn.viz.to_dot`, `tn.viz.to_html` and detect_anomaly's messages.
Leaves are shown by name when the tape is given them (`tape(params=model)`).

The recorder keeps the nodes (and so their graph) alive as long as it lives;
it holds numbers, not tensors, about what flowed through them: shapes, norms,
and host copies of the values of small tensors (at most `SMALL` elements).
"""

from __future__ import annotations

import functools
import html
import inspect
import math
import re
import sys
import weakref
from dataclasses import dataclass, field

import numpy as np

from .engine import _OUTPUT, Node
from .grad_mode import _state, _update_watch

__all__ = ["tape", "Tape"]

SMALL = 32  # tensors with at most this many elements have their values kept (explain, to_html)

# Node attributes the engine owns; any other plain attribute of a ctx is the op's own
# setting (stride, dim, ...) and is shown by explain().
_ENGINE_ATTRS = {
    "fn", "needs_input_grad", "saved", "versions", "seq", "next", "out_shape", "out_data",
    "out_device", "device", "observers", "stack", "hooks", "retain",
}  # fmt: skip


@dataclass
class Source:
    """Where one positional Tensor input of a recorded node came from."""

    kind: str  # "node" (made by an op), "leaf" (requires grad, made by you) or "const"
    label: str  # "#7" for a node, the parameter's name or "leaf", or "const"
    shape: tuple
    dtype: str
    key: int  # id() of the input's node or tensor: one drawing per distinct source
    value: object = None  # a host copy of the values when the tensor is small, else None


@dataclass
class Entry:
    """One recorded node: what the forward did, as numbers and shapes."""

    index: int  # position in this tape's list (0, 1, ...); views show `node.seq` instead
    node: Node
    inputs: list  # per Tensor input: (label, shape); label "#seq", a leaf's name/"leaf", "const"
    out_shape: tuple
    out_dtype: str
    saved_bytes: int
    sources: list = field(default_factory=list)  # per positional input: Source, or None
    out_value: object = None  # host copy of the output when it is small

    @property
    def seq(self) -> int:
        """The node's sequence number: the `#` every view shows."""
        return self.node.seq


@dataclass
class Step:
    """One node's backward as it ran: the gradient in and the gradients it produced."""

    entry: Entry
    grad_shape: tuple
    grad_norm: float
    outs: list = field(default_factory=list)  # per positional input: (shape, norm) or None
    grad_value: object = None  # host copy of the incoming gradient when it is small
    out_values: list = field(default_factory=list)  # per positional input: small values or None


def _dtype_name(a) -> str:
    dtype = getattr(a, "dtype", "?")
    return str(getattr(dtype, "name", dtype))


def _nbytes(item, out_data) -> int:
    if item is _OUTPUT:
        return int(out_data.nbytes)
    data = getattr(item, "data", item)  # a Tensor or an array
    return int(getattr(data, "nbytes", 0) or 0)


def _norm(t) -> float:
    """The 2-norm of a gradient tensor, on the host (inspection only)."""
    xp = t.device.xp
    a = t.data.astype("float64").ravel()
    return float(t.device.backend.to_host(xp.sqrt(xp.dot(a, a))))


def _small(t):
    """A host NumPy copy of a small tensor's values (inspection only), else None."""
    if t is None or math.prod(t.shape) > SMALL:
        return None
    return np.array(t.device.backend.to_host(t.data), copy=True)


def _names(params, op: str = "tape") -> dict[int, str]:
    """id(tensor) -> name, from a Module (named_parameters) or a {name: tensor} dict."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        items = params.named_parameters()
    elif isinstance(params, dict):
        items = params.items()
    else:
        raise TypeError(
            f"{op}: params must be a Module or a dict of named tensors, got {type(params).__name__}"
        )
    return {id(t): name for name, t in items}


def node_label(node: Node) -> str:
    """`Mul #7`: the op and its sequence number, as every view writes a node."""
    return f"{node.name} #{node.seq}"


def _fmt_shape(shape) -> str:
    return str(tuple(shape)) if shape is not None else "-"


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # unreachable


def op_math(fn) -> tuple[str, str]:
    """The (forward, backward) math lines of a Function: its docstring's first two lines."""
    lines = [ln.strip() for ln in inspect.cleandoc(fn.__doc__ or "").splitlines() if ln.strip()]
    forward = lines[0] if lines else f"{fn.__name__} (no docstring)"
    backward = lines[1] if len(lines) > 1 else "(no rule given in the docstring)"
    return forward, backward


def _plain(v) -> bool:
    """A small setting worth printing: a number, a string, or a (named) tuple of them."""
    if isinstance(v, (bool, int, float, str)) or v is None:
        return True
    return isinstance(v, tuple) and len(v) <= 8 and all(_plain(e) for e in v)


def _settings(node: Node) -> str:
    """The op's own settings saved on ctx (stride, dim, a conv spec...), as `k=v` pairs."""
    parts = []
    for k, v in vars(node).items():
        if k in _ENGINE_ATTRS or k.startswith("_") or k.endswith("_shape") or v is None:
            continue
        if _plain(v):
            parts.append(f"{k}={v!r}")
    return ", ".join(parts)


# `dw = conv2d_weight(x, grad)`: a gradient computed entirely by another op
_DELEGATE = re.compile(r"\b(d\w+|d\(\w+\))\s*=\s*([A-Za-z_]\w*)\(")
_GRAD_NAME = re.compile(r"\b(d[A-Za-z]\w*|d\(\w+\))(?:\[[^\]]*\])?\s*=")


@functools.cache
def _op_called(module_name: str, func_name: str):
    """The Function class behind the public function `func_name` of an op module, or None."""
    module = sys.modules.get(module_name)
    obj = getattr(module, func_name, None)
    if isinstance(obj, type):
        return obj if hasattr(obj, "backward") else None
    if not callable(obj):
        return None
    try:
        src = inspect.getsource(obj)
    except (OSError, TypeError):
        return None
    for name in re.findall(r"\b([A-Z]\w*)\.apply\(", src):
        cls = getattr(module, name, None)
        if isinstance(cls, type) and hasattr(cls, "backward"):
            return cls
    return None


def _delegates(fn, rule: str, produced: set) -> list[tuple[str, str]]:
    """(function, its forward math) for each op the rule hands a produced gradient to."""
    out = []
    for name in dict.fromkeys(f for d, f in _DELEGATE.findall(rule) if d in produced):
        cls = _op_called(fn.__module__, name)
        if cls is not None and cls is not fn:
            out.append((name, op_math(cls)[0]))
    return out


class _Observer:
    """What the engine calls after a recorded node's backward (weak: no tape <-> node cycle)."""

    __slots__ = ("tape",)

    def __init__(self, tape: Tape):
        self.tape = weakref.ref(tape)

    def __call__(self, node, grad, outs) -> None:
        tape = self.tape()
        if tape is not None:
            tape._observe(node, grad, outs)


class Tape:
    """A recorder of nodes (see the module docstring); made by `tn.autograd.tape()`."""

    def __init__(self, params=None):
        self.entries: list[Entry] = []
        self.steps: list[Step] = []
        self.names: dict[int, str] = _names(params)  # id(leaf) -> its name
        self._by_node: dict[int, Entry] = {}
        self._observer = _Observer(self)

    # ----- recording ------------------------------------------------------------------
    def __enter__(self) -> Tape:
        _state.tapes = (*_state.tapes, self)
        _update_watch()
        return self

    def __exit__(self, *exc) -> None:
        _state.tapes = tuple(t for t in _state.tapes if t is not self)
        _update_watch()

    def _source(self, a) -> Source | None:
        if not hasattr(a, "grad_fn"):
            return None  # not a Tensor: an option such as a dim or a shape
        src, shape, dtype = a.grad_fn, tuple(a.shape), _dtype_name(a)
        if src is not None:
            return Source("node", f"#{src.seq}", shape, dtype, id(src), _small(a))
        if a.requires_grad:
            return Source("leaf", self.names.get(id(a), "leaf"), shape, dtype, id(a), _small(a))
        return Source("const", "const", shape, dtype, id(a), _small(a))

    def _record(self, node: Node, inputs, out_data) -> None:
        """Called by the engine's attach() for each node created while this tape is active."""
        node.observers = (*node.observers, self._observer)
        sources = [self._source(a) for a in inputs]
        ins = [(s.label, s.shape) for s in sources if s is not None]
        saved = sum(_nbytes(item, out_data) for item in node.saved or ())
        saved += sum(  # arrays an op keeps as ctx attributes (masks, indices)
            int(v.nbytes)
            for k, v in vars(node).items()
            if k not in _ENGINE_ATTRS and hasattr(v, "nbytes") and hasattr(v, "shape")
        )
        out_value = None
        if math.prod(out_data.shape) <= SMALL:
            out_value = np.array(node.out_device.backend.to_host(out_data), copy=True)
        entry = Entry(
            len(self.entries), node, ins, tuple(out_data.shape), _dtype_name(out_data), saved,
            sources, out_value,
        )  # fmt: skip
        self.entries.append(entry)
        self._by_node[id(node)] = entry

    def _adopt(self, node: Node, out_shape: tuple) -> None:
        """Record a node made outside any tape (tn.viz.to_html): what the node itself knows."""
        node.observers = (*node.observers, self._observer)
        sources = []
        for src, shape in zip(node.next, node.input_shapes):
            if isinstance(src, Node):
                sources.append(Source("node", f"#{src.seq}", tuple(shape), "?", id(src)))
            elif src is not None:
                name = self.names.get(id(src), "leaf")
                value = _small(src)
                sources.append(Source("leaf", name, tuple(shape), _dtype_name(src), id(src), value))
            else:
                sources.append(None)  # a constant or an option: the node kept no trace of it
        ins = [(s.label, s.shape) for s in sources if s is not None]
        out = node.out_data
        saved = sum(_nbytes(item, out) for item in node.saved or () if item is not _OUTPUT)
        entry = Entry(len(self.entries), node, ins, tuple(out_shape), "?", saved, sources)
        self.entries.append(entry)
        self._by_node[id(node)] = entry

    def _observe(self, node: Node, grad, outs) -> None:
        entry = self._by_node.get(id(node))
        if entry is None or entry.node is not node:
            return
        step = Step(entry, tuple(grad.shape), _norm(grad), grad_value=_small(grad))
        step.outs = [None if g is None else (tuple(g.shape), _norm(g)) for g in outs]
        step.out_values = [_small(g) for g in outs]
        self.steps.append(step)

    # ----- reading --------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        """The recorded nodes in tape order (each has `.name`, `.seq`, `.next`)."""
        return [e.node for e in self.entries]

    @property
    def backward_order(self) -> list[int]:
        """Sequence numbers (the `#` of every view) of the nodes in the order backward ran."""
        return [s.entry.node.seq for s in self.steps]

    def entry(self, node: Node) -> Entry | None:
        """The entry recorded for `node`, or None when this tape did not record it."""
        e = self._by_node.get(id(node))
        return e if e is not None and e.node is node else None

    def step(self, node: Node) -> Step | None:
        """The last recorded backward step of `node`, or None when it has not run."""
        for s in reversed(self.steps):
            if s.entry.node is node:
                return s
        return None

    def __len__(self) -> int:
        return len(self.entries)

    def _target(self, entry: Entry, i: int) -> str:
        """Where input i's gradient went: a node (`Mul #7`) or a leaf's .grad."""
        nxt = entry.node.next
        t = nxt[i] if i < len(nxt) else None
        if isinstance(t, Node):
            return node_label(t)
        if t is None:
            return "-"
        name = self.names.get(id(t))
        return f"{name}.grad" if name else "leaf .grad"

    def _rows(self) -> tuple[list, list]:
        """The two tables (forward tape, backward steps) as rows of strings."""
        fwd = [("#", "op", "inputs", "output", "saved")]
        for e in self.entries:
            ins = ", ".join(f"{k} {_fmt_shape(s)}" for k, s in e.inputs)
            out = f"{_fmt_shape(e.out_shape)} {e.out_dtype}"
            fwd.append((str(e.node.seq), e.node.name, ins, out, _fmt_bytes(e.saved_bytes)))
        bwd = [("step", "node", "grad in", "grads out (-> where they went)")]
        for k, s in enumerate(self.steps):
            outs = ", ".join(
                f"{_fmt_shape(o[0])} -> {self._target(s.entry, i)}"
                for i, o in enumerate(s.outs)
                if o is not None
            )
            bwd.append(
                (str(k), node_label(s.entry.node), _fmt_shape(s.grad_shape), outs or "(none)")
            )
        return fwd, bwd

    def __str__(self) -> str:
        if not self.entries:
            return "tape: no nodes recorded (did an input have requires_grad=True?)"
        fwd, bwd = self._rows()
        total = sum(e.saved_bytes for e in self.entries)
        lines = [f"tape: {len(self.entries)} nodes, {_fmt_bytes(total)} saved for backward"]
        lines += _table(fwd, right={0, 4})
        if self.steps:
            lines.append(f"backward: {len(self.steps)} steps, in the order they ran")
            lines += _table(bwd, right={0})
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """The same two tables as HTML, for notebooks (rich display; nothing to install)."""
        if not self.entries:
            return f"<p>{html.escape(str(self))}</p>"
        fwd, bwd = self._rows()
        total = sum(e.saved_bytes for e in self.entries)
        out = [
            f"<div class='tinynet-tape'><b>tape</b>: {len(self.entries)} nodes, "
            f"{_fmt_bytes(total)} saved for backward",
            _html_table(fwd),
        ]
        if self.steps:
            out += [f"<b>backward</b>: {len(self.steps)} steps, in the order they ran"]
            out += [_html_table(bwd)]
        return "\n".join(out) + "</div>"

    def explain(self, file=None, values: bool = False) -> None:
        """Print the backward pass step by step: each op's rule (from its docstring), the
        shapes in and out, the op's settings and the norm of every gradient it produced.

        Args:
            file: where to print (default sys.stdout).
            values: also print the numbers of every tensor with at most `SMALL` elements
                (the op's inputs and output, the incoming gradient, each gradient it sent),
                so that a step can be checked by hand.
        """
        file = file or sys.stdout
        if not self.steps:
            print("tape.explain(): no backward has run through the recorded nodes yet", file=file)
            return
        for k, s in enumerate(self.steps):
            e, node = s.entry, s.entry.node
            forward, rule = op_math(node.fn)
            ins = ", ".join(_fmt_shape(sh) for _, sh in e.inputs)
            print(f"step {k}: {node_label(node)}   ({ins}) -> {_fmt_shape(e.out_shape)}",
                  file=file)  # fmt: skip
            print(f"    forward   {forward}", file=file)
            print(f"    backward  {rule}", file=file)
            labels = grad_labels(node.fn, s.outs)
            for j, (name, math_) in enumerate(_delegates(node.fn, rule, set(labels.values()))):
                print(f"    {'where' if j == 0 else '':<9} {name}: {math_}", file=file)
            settings = _settings(node)
            if settings:
                print(f"    with      {settings}", file=file)
            if values:
                for i, src in enumerate(e.sources):
                    if src is not None and src.value is not None:
                        label = f"{input_name(node.fn, i)} ({src.label})"
                        print(f"    {label:<9} = {_fmt_values(src.value)}", file=file)
                if e.out_value is not None:
                    print(f"    {'output':<9} = {_fmt_values(e.out_value)}", file=file)
            print(f"    grad in   {_fmt_shape(s.grad_shape)}  |grad| = {s.grad_norm:.4g}",
                  file=file)  # fmt: skip
            if values and s.grad_value is not None:
                print(f"    {'grad':<9} = {_fmt_values(s.grad_value)}", file=file)
            for i, (shape, norm) in ((i, o) for i, o in enumerate(s.outs) if o is not None):
                label = labels[i]
                print(
                    f"    {label:<9} {_fmt_shape(shape)}  |{label}| = {_fmt_float(norm)}"
                    f"  -> {self._target(e, i)}",
                    file=file,
                )
                if values and s.out_values[i] is not None:
                    print(f"    {label:<9} = {_fmt_values(s.out_values[i])}", file=file)


def grad_labels(fn, outs) -> dict[int, str]:
    """{input index: its gradient's name in the op's rule (dx, dw, ...)} for produced grads."""
    names = _GRAD_NAME.findall(op_math(fn)[1])  # one per positional input, in order
    return {
        i: names[i] if i < len(names) else f"d(input {i})"
        for i, o in enumerate(outs)
        if o is not None
    }


def input_name(fn, i: int) -> str:
    """The name of positional input i in the op's forward signature (x, w, ...)."""
    try:
        params = list(inspect.signature(fn.forward).parameters)[1:]  # skip ctx
    except (TypeError, ValueError):
        params = []
    return params[i] if i < len(params) else f"input {i}"


def _fmt_values(a, indent: int = 16) -> str:
    """Values on one line (a few lines for a matrix), 4 significant digits."""
    text = np.array2string(
        np.asarray(a), precision=4, suppress_small=True, separator=", ", max_line_width=88
    )
    return text.replace("\n", "\n" + " " * indent)


def _fmt_float(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def _table(rows, right=()) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [
            r[c].rjust(widths[c]) if c in right else r[c].ljust(widths[c]) for c in range(len(r))
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _html_table(rows) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td><code>{html.escape(c)}</code></td>" for c in r) + "</tr>"
        for r in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def tape(params=None) -> Tape:
    """A context that records every node created inside it, for inspection.

    Args:
        params: a Module (its `named_parameters()`) or a dict `{name: tensor}`: leaves are
            then shown by these names (`0.weight`) instead of as `leaf`.

    Example::

        with tn.autograd.tape(params=model) as t:
            loss = model(x).sum()
        loss.backward()
        print(t)          # nodes in tape order, then the backward order
        t.explain()       # the backward pass, one op's rule at a time
    """
    return Tape(params)
