"""The engine: nodes on a tape, and backward as the tape played in reverse.

Every differentiable op that records creates a `Node`: it remembers the nodes
(or leaf tensors) its inputs came from, what its backward needs, and a
sequence number from one global counter, its place on the tape. `backward`
collects the nodes reachable from the outputs (an explicit stack, no
recursion), sorts them by decreasing sequence number, and runs each op's
backward once all of its consumers have delivered their gradient: a consumer
is always created after its inputs, so it has a larger number and runs first.
The engine knows no op and no backend.
"""

from __future__ import annotations

import gc
import itertools
import traceback
import warnings

from ..tensor import Tensor
from .grad_mode import _state as _mode
from .grad_mode import check_anomaly, is_anomaly_enabled, set_grad_enabled

_counter = itertools.count()

FREED = (
    "Trying to backward through the graph a second time (or to use saved tensors after "
    "they were freed). Pass retain_graph=True to the first backward() or autograd.grad() "
    "if you need to backward through the graph again."
)


class Node:
    """One recorded op: the backward context (`ctx`) of a Function call."""

    # The engine's fields are slots: a node of an op that sets no attribute of its own (Mul,
    # Tanh) has no instance dict, so it is one object for the cyclic GC to walk.
    __slots__ = (
        "fn", "needs_input_grad", "device", "seq", "next", "out_shape", "out_device",
        "saved", "versions", "out_data", "out_vc", "out_version", "__dict__", "__weakref__",
    )  # fmt: skip
    observers = ()  # callables (node, grad, input_grads) run after backward; set by tape()
    stack = None  # where forward ran, recorded under detect_anomaly()
    hooks: tuple | list = ()  # hooks on the output tensor: grad -> grad or None
    retain = None  # weakref to the output tensor whose .grad is retained
    cache = None  # arrays a first-order backward may reuse (released with `saved`)

    def __init__(self, fn, needs_input_grad: tuple = ()):
        self.fn = fn
        self.needs_input_grad = needs_input_grad
        self.device = None  # where forward runs (set by Function.apply)
        self.seq = -1  # its place on the tape (set by attach, as are the next three)
        self.next = ()  # per positional input: Node, leaf Tensor, or None
        self.out_shape = ()  # the output's shape: what a consumer's gradient must have
        self.out_device = None
        # What the op saved: a tuple (None once released). After `attach`, an input is kept
        # as its Tensor, with its version at save time at the same place in `versions` (None
        # for the other items): no list or pair objects per node for the GC to walk.
        self.saved = ()
        self.versions = ()
        self.out_data = None  # the output's array, when the op saved its output
        self.out_vc = None  # then the output's version counter
        self.out_version = 0  # and the counter's value when it was saved

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def input_shapes(self) -> tuple:
        """Per positional input: the shape its gradient must have (None: no gradient)."""
        return tuple(_shape_of(p) for p in self.next)

    def save_for_backward(self, *items) -> None:
        """Keep arrays or Tensors (inputs, the output or intermediates) for backward."""
        if self.saved is not None:
            self.saved = (*self.saved, *items)

    @property
    def saved_tensors(self) -> tuple:
        """The saved items as Tensors; inputs keep their graph (for create_graph)."""
        if self.saved is None:
            raise RuntimeError(FREED)
        out = []
        for item, version in zip(self.saved, self.versions):
            if version is not None:  # an input tensor, saved at this version
                if item._version != version:
                    raise RuntimeError(
                        self._modified(item.shape, item._version, version, "an input")
                    )
                out.append(item)
            elif item is _OUTPUT:
                vc = self.out_vc
                if vc is not None and vc.value != self.out_version:
                    shape = self.out_data.shape
                    raise RuntimeError(self._modified(shape, vc.value, self.out_version, "output"))
                out.append(Tensor._make(self.out_data, self.out_device, True, self))
            elif item is None or isinstance(item, Tensor):
                out.append(item)
            else:  # an intermediate array: a constant, right for first derivatives only
                if _mode.enabled:
                    _warn_intermediate(self.fn)
                out.append(Tensor._make(item, self.out_device, False, None))
        return tuple(out)

    def _modified(self, shape, version: int, expected: int, what: str) -> str:
        return (
            f"{self.name} backward: one of the variables needed for gradient computation has "
            f"been modified by an inplace operation: a tensor of shape {tuple(shape)}, {what} "
            f"that {self.name} "
            f"(node #{self.seq}) saved for backward, is at version {version}; expected version "
            f"{expected} instead. Hint: clone() it before the in-place op, or edit it after "
            "backward() (an alias made by detach(), a view or state_dict() shares its version)"
        )

    def release(self) -> None:
        self.saved = None
        self.cache = None
        self.out_data = None

    def __repr__(self) -> str:
        return f"<{self.name} #{self.seq}>"


_OUTPUT = object()  # marks "the op's own output" in Node.saved
_WARNED: set = set()  # Functions already warned about a saved intermediate


def _warn_intermediate(fn) -> None:
    """Warn once per Function whose backward reads a saved intermediate under create_graph."""
    if fn in _WARNED:
        return
    _WARNED.add(fn)
    warnings.warn(
        f"{fn.__name__}.backward reads a saved array that is neither an input nor the output "
        "while create_graph=True: it enters the graph as a constant, so derivatives through it "
        "are missing and higher-order gradients are wrong. Recompute it from the saved inputs "
        "with tinynet ops in backward, or return it as an output (see Function's docstring).",
        stacklevel=4,
    )


def attach(node: Node, inputs, out_data, out_device) -> None:
    """Put `node` on the tape: link it to its inputs and resolve what it saved."""
    node.seq = next(_counter)
    node.next = tuple(
        [(t if t.grad_fn is None else t.grad_fn) if getattr(t, "requires_grad", False) else None
         for t in inputs]
    )  # fmt: skip
    node.out_shape = out_data.shape
    if node.saved:
        saved, versions = [], []
        for item in node.saved:
            t = _input_of(item, inputs)
            if item is out_data:
                saved.append(_OUTPUT)
                versions.append(None)
                node.out_data = out_data
            elif t is not None:  # an input (its array or the Tensor itself)
                saved.append(t)
                versions.append(t._version)
            else:  # an intermediate array or None
                saved.append(item)
                versions.append(None)
        node.saved, node.versions = tuple(saved), tuple(versions)
    node.out_device = out_device
    if _mode.watch:  # a tape() records or detect_anomaly() is on: one flag test otherwise
        for tape in _mode.tapes:
            tape._record(node, inputs, out_data)
        if _mode.anomaly:
            node.stack = traceback.extract_stack()[:-1]


def _input_of(item, inputs):
    """The input Tensor that `item` is (or whose array it is), else None."""
    if isinstance(item, Tensor):
        return item
    for t in inputs:
        if isinstance(t, Tensor) and t.data is item:
            return t
    return None


def _shape_of(target):
    """The shape of the tensor a gradient goes to: a node's output, a leaf, or None."""
    if target is None:
        return None
    return target.out_shape if isinstance(target, Node) else target.data.shape


def _topo(roots) -> list[Node]:
    """Nodes reachable from `roots`, in decreasing tape order (iterative)."""
    seen, stack = set(), [r for r in roots if r is not None]
    nodes = []
    while stack:
        n = stack.pop()
        if n in seen:  # a Node hashes by identity
            continue
        seen.add(n)
        nodes.append(n)
        stack.extend([p for p in n.next if isinstance(p, Node) and p not in seen])
    nodes.sort(key=lambda n: n.seq, reverse=True)
    return nodes


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None):
    """Backpropagate `root_grads` from tensors `roots`.

    With `inputs` None, gradients accumulate into leaves' `.grad`. Otherwise the
    gradients of `inputs` are returned (a list, None where unreachable) and no
    `.grad` is touched.
    """
    collecting = gc.isenabled()
    gc.disable()  # the pass makes many short-lived objects and no cycles: collections only cost
    try:
        return _backward(roots, root_grads, retain_graph, create_graph, inputs)
    finally:
        if collecting:
            gc.enable()


# ----- the backward loop ----------------------------------------------------------------------
# `_backward` is the pseudo-code of docs/autograd.md (section 3, quoted in section 13):
#   collect   _topo(...)                 the nodes reachable from the roots, decreasing `seq`
#   pop       grads.pop(node)            the node's gradient, complete: its consumers all ran
#   backward  _call_backward(node, g)    the op's rule, with the arity and shape checks
#   deliver   p.deliver(target, dx)      to the input's node or leaf; fan-out adds up
#   release   node.release()             saved tensors freed unless retain_graph
# Each feature is a named helper called at its extension point: `_Pass.node_grad` (tensor
# hooks, retain_grad, autograd.grad targets), `_Pass.observe` (detect_anomaly, tape
# observers), `_Pass.finish` (leaf hooks, then autograd.grad results or `.grad` accumulation).


def _backward(roots, root_grads, retain_graph, create_graph, inputs):
    p = _Pass(inputs, create_graph)
    with set_grad_enabled(create_graph):  # create_graph: backward's own ops are recorded
        for t, g in zip(roots, root_grads):
            p.deliver(t.grad_fn if t.grad_fn is not None else t, g)
        for node in _topo([t.grad_fn for t in roots]):
            g = p.grads.pop(node, None)
            if g is None:
                continue  # reachable, but no gradient flows through it
            if node.hooks or node.retain is not None or p.wanted_nodes:
                g = p.node_grad(node, g)
            outs = _call_backward(node, g)
            if p.anomaly or node.observers:
                p.observe(node, g, outs)
            for target, dx in zip(node.next, outs):
                if target is not None and dx is not None:
                    p.deliver(target, dx)
            if not retain_graph:
                node.release()
        p.finish()
    return p.results


def _call_backward(node: Node, g) -> tuple:
    """The op's backward rule, checked: one gradient per input, each of its input's shape."""
    if node.saved is None:
        raise RuntimeError(FREED)
    outs = node.fn.backward(node, g)
    if not isinstance(outs, tuple):
        outs = (outs,)
    if len(outs) != len(node.next):
        raise RuntimeError(
            f"{node.name}.backward returned {len(outs)} gradients for {len(node.next)} inputs"
        )
    for dx, target in zip(outs, node.next):
        if dx is None or target is None:
            continue
        if dx.shape != _shape_of(target):
            raise RuntimeError(
                f"{node.name}.backward returned a gradient of shape {dx.shape} "
                f"for an input of shape {_shape_of(target)}"
            )
    return outs


def _run_hooks(hooks, g, shape, what: str):
    """Tensor hooks in order; a hook's return value replaces the gradient, if it fits."""
    for hook in hooks:
        new = hook(g)
        if new is not None:
            if new.shape != shape:
                raise RuntimeError(
                    f"hook {getattr(hook, '__name__', hook)!s} on {what} of shape {tuple(shape)} "
                    f"returned a gradient of shape {tuple(new.shape)}; a hook must keep the shape"
                )
            g = new
    return g


class _Pass:
    """The state of one backward pass: gradients in flight and the features' bookkeeping."""

    def __init__(self, inputs, create_graph: bool):
        self.grads: dict[Node, object] = {}  # node -> gradient of its output, summed
        self.leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, its gradient so far]
        self.create_graph = create_graph
        self.anomaly = is_anomaly_enabled()
        self.results = None if inputs is None else [None] * len(inputs)
        self.wanted = None if inputs is None else {id(t): i for i, t in enumerate(inputs)}
        self.wanted_nodes = (
            {}
            if inputs is None
            else {id(t.grad_fn): i for i, t in enumerate(inputs) if t.grad_fn is not None}
        )

    def deliver(self, target, g) -> None:
        """Add gradient `g` to what `target` (a node, or a leaf tensor) has received."""
        if isinstance(target, Node):
            prev = self.grads.get(target)
            self.grads[target] = g if prev is None else prev + g
        else:
            entry = self.leaf_grads.get(id(target))
            if entry is None:
                self.leaf_grads[id(target)] = [target, g]
            else:
                entry[1] = entry[1] + g

    def node_grad(self, node: Node, g):
        """A node's complete gradient: its output's hooks, retain_grad, autograd.grad targets."""
        if node.hooks:
            g = _run_hooks(node.hooks, g, g.shape, f"a tensor made by {node.name}")
        kept = node.retain() if node.retain is not None else None
        if kept is not None:  # retain_grad(): a copy, accumulated across backwards as torch
            kg = g if self.create_graph else type(g)._make(g.data.copy(), g.device, False, None)
            kept._grad = kg if kept._grad is None else kept._grad + kg
        if id(node) in self.wanted_nodes:
            self.results[self.wanted_nodes[id(node)]] = g
        return g

    def observe(self, node: Node, g, outs) -> None:
        """detect_anomaly's NaN/Inf check, then the tape() observers."""
        if self.anomaly:
            check_anomaly(node, outs)
        for obs in node.observers:
            obs(node, g, outs)

    def finish(self) -> None:
        """Each leaf's gradient: its hooks, then an autograd.grad result or into `.grad`."""
        for leaf, g in self.leaf_grads.values():
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g, leaf.shape, "a leaf tensor")
            if self.wanted is None:
                _accumulate(leaf, g, self.create_graph)
            elif id(leaf) in self.wanted:
                self.results[self.wanted[id(leaf)]] = g


def _accumulate(leaf, g, create_graph: bool) -> None:
    """`leaf.grad += g` with torch's policy (AccumulateGrad)."""
    if g.data.dtype != leaf.data.dtype:  # a mixed-dtype graph: .grad keeps the leaf's dtype
        g = g.to(leaf.dtype)
    if create_graph:  # a new tensor with a graph: the gradient is differentiable
        leaf._grad = g if leaf._grad is None else leaf._grad + g
    elif leaf._grad is None:  # a copy: g may alias another tensor's gradient
        leaf._grad = type(g)._make(g.data.copy(), g.device, False, None)  # not a Parameter
    elif leaf._grad.requires_grad:  # a .grad with a graph from an earlier create_graph pass
        leaf._grad = (leaf._grad + g).detach()
    else:  # in place, as torch does, so .grad keeps its identity
        leaf._grad.data += g.data
        leaf._grad._version += 1
