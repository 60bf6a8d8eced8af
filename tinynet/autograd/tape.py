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

The recorder keeps the nodes (and so their graph) alive as long as it lives;
it holds numbers, not tensors, about what flowed through them.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import sys
import weakref
from dataclasses import dataclass, field

from .engine import _OUTPUT, Node
from .grad_mode import _state, _update_watch

__all__ = ["tape", "Tape"]

# Node attributes the engine owns; any other plain attribute of a ctx is the op's own
# setting (stride, dim, ...) and is shown by explain().
_ENGINE_ATTRS = {
    "fn", "needs_input_grad", "saved", "seq", "next", "input_shapes", "out_data",
    "out_device", "device", "observers", "stack", "hooks", "retain",
}  # fmt: skip


@dataclass
class Entry:
    """One recorded node: what the forward did, as numbers and shapes."""

    index: int  # place on this tape (0, 1, ...)
    node: Node
    inputs: list  # per Tensor input: (kind, shape) with kind "#k", "leaf", "const" or "seq N"
    out_shape: tuple
    out_dtype: str
    saved_bytes: int


@dataclass
class Step:
    """One node's backward as it ran: the gradient in and the gradients it produced."""

    entry: Entry
    grad_shape: tuple
    grad_norm: float
    outs: list = field(default_factory=list)  # per positional input: (shape, norm) or None


def _dtype_name(a) -> str:
    return str(getattr(a, "dtype", "?"))


def _nbytes(item, out_data) -> int:
    if item is _OUTPUT:
        return int(out_data.nbytes)
    if isinstance(item, tuple):  # (input tensor, version)
        return int(item[0].data.nbytes)
    data = getattr(item, "data", item)  # a Tensor or an array
    return int(getattr(data, "nbytes", 0) or 0)


def _norm(t) -> float:
    """The 2-norm of a gradient tensor, on the host (inspection only)."""
    xp = t.device.xp
    a = t.data.astype("float64").ravel()
    return float(t.device.backend.to_host(xp.sqrt(xp.dot(a, a))))


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

    def __init__(self):
        self.entries: list[Entry] = []
        self.steps: list[Step] = []
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

    def _record(self, node: Node, inputs, out_data) -> None:
        """Called by the engine's attach() for each node created while this tape is active."""
        node.observers = (*node.observers, self._observer)
        ins = []
        for a in inputs:
            if not hasattr(a, "grad_fn"):
                continue  # not a Tensor: an option such as a dim or a shape
            src = a.grad_fn
            if src is not None:
                e = self._by_node.get(id(src))
                kind = f"#{e.index}" if e is not None and e.node is src else f"seq {src.seq}"
            else:
                kind = "leaf" if a.requires_grad else "const"
            ins.append((kind, tuple(a.shape)))
        saved = sum(_nbytes(item, out_data) for item in node.saved or ())
        saved += sum(  # arrays an op keeps as ctx attributes (masks, indices)
            int(v.nbytes)
            for k, v in vars(node).items()
            if k not in _ENGINE_ATTRS and hasattr(v, "nbytes") and hasattr(v, "shape")
        )
        entry = Entry(
            len(self.entries), node, ins, tuple(out_data.shape), _dtype_name(out_data), saved
        )
        self.entries.append(entry)
        self._by_node[id(node)] = entry

    def _observe(self, node: Node, grad, outs) -> None:
        entry = self._by_node.get(id(node))
        if entry is None or entry.node is not node:
            return
        step = Step(entry, tuple(grad.shape), _norm(grad))
        step.outs = [None if g is None else (tuple(g.shape), _norm(g)) for g in outs]
        self.steps.append(step)

    # ----- reading --------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        """The recorded nodes in tape order (each has `.name`, `.seq`, `.next`)."""
        return [e.node for e in self.entries]

    @property
    def backward_order(self) -> list[int]:
        """Tape positions of the nodes in the order backward ran them."""
        return [s.entry.index for s in self.steps]

    def __len__(self) -> int:
        return len(self.entries)

    def _target(self, entry: Entry, i: int) -> str:
        """Where input i's gradient went: a recorded node, a leaf, or an unrecorded node."""
        nxt = entry.node.next
        t = nxt[i] if i < len(nxt) else None
        if isinstance(t, Node):
            e = self._by_node.get(id(t))
            return f"#{e.index} {t.name}" if e is not None and e.node is t else f"seq {t.seq}"
        return "leaf .grad" if t is not None else "-"

    def __str__(self) -> str:
        if not self.entries:
            return "tape: no nodes recorded (did an input have requires_grad=True?)"
        rows = [("#", "op", "inputs", "output", "saved")]
        for e in self.entries:
            ins = ", ".join(f"{k} {_fmt_shape(s)}" for k, s in e.inputs)
            out = f"{_fmt_shape(e.out_shape)} {e.out_dtype}"
            rows.append((str(e.index), e.node.name, ins, out, _fmt_bytes(e.saved_bytes)))
        total = sum(e.saved_bytes for e in self.entries)
        lines = [f"tape: {len(self.entries)} nodes, {_fmt_bytes(total)} saved for backward"]
        lines += _table(rows, right={0, 4})
        if self.steps:
            lines.append(f"backward: {len(self.steps)} steps, in the order they ran")
            rows = [("step", "node", "grad in", "grads out (-> where they went)")]
            for k, s in enumerate(self.steps):
                outs = ", ".join(
                    f"{_fmt_shape(o[0])} -> {self._target(s.entry, i)}"
                    for i, o in enumerate(s.outs)
                    if o is not None
                )
                node = f"#{s.entry.index} {s.entry.node.name}"
                rows.append((str(k), node, _fmt_shape(s.grad_shape), outs or "(none)"))
            lines += _table(rows, right={0})
        return "\n".join(lines)

    __repr__ = __str__

    def explain(self, file=None) -> None:
        """Print the backward pass step by step: each op's rule (from its docstring), the
        shapes in and out, the op's settings and the norm of every gradient it produced.

        Args:
            file: where to print (default sys.stdout).
        """
        file = file or sys.stdout
        if not self.steps:
            print("tape.explain(): no backward has run through the recorded nodes yet", file=file)
            return
        for k, s in enumerate(self.steps):
            e, node = s.entry, s.entry.node
            forward, rule = op_math(node.fn)
            names = _GRAD_NAME.findall(rule)  # dx, dw, ...: one per positional input, in order
            ins = ", ".join(_fmt_shape(sh) for _, sh in e.inputs)
            print(f"step {k}: #{e.index} {node.name}   ({ins}) -> {_fmt_shape(e.out_shape)}",
                  file=file)  # fmt: skip
            print(f"    forward   {forward}", file=file)
            print(f"    backward  {rule}", file=file)
            produced = [(i, o) for i, o in enumerate(s.outs) if o is not None]
            labels = {i: names[i] if i < len(names) else f"d(input {i})" for i, _ in produced}
            for j, (name, math_) in enumerate(_delegates(node.fn, rule, set(labels.values()))):
                print(f"    {'where' if j == 0 else '':<9} {name}: {math_}", file=file)
            settings = _settings(node)
            if settings:
                print(f"    with      {settings}", file=file)
            print(f"    grad in   {_fmt_shape(s.grad_shape)}  |grad| = {s.grad_norm:.4g}",
                  file=file)  # fmt: skip
            for i, (shape, norm) in produced:
                label = labels[i]
                print(
                    f"    {label:<9} {_fmt_shape(shape)}  |{label}| = {_fmt_float(norm)}"
                    f"  -> {self._target(e, i)}",
                    file=file,
                )


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


def tape() -> Tape:
    """A context that records every node created inside it, for inspection.

    Example::

        with tn.autograd.tape() as t:
            loss = model(x).sum()
        loss.backward()
        print(t)          # nodes in tape order, then the backward order
        t.explain()       # the backward pass, one op's rule at a time
    """
    return Tape()
