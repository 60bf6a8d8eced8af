"""Higher-order autodiff built on `grad(..., create_graph=True)`: vjp, jvp, jacobian, hessian,
hvp, vhp, with the API of `torch.autograd.functional`.

Each function takes `func` (Tensors in, a Tensor or a tuple of Tensors out) and
`inputs` (a Tensor or a tuple of Tensors); results mirror that structure. The
inputs are detached copies that require grad, so the caller's graph is never
touched; with `create_graph=True` the results are themselves differentiable.

Reverse mode gives vector-Jacobian products (`vjp`) directly. Jacobian-vector
products come from the double-vjp trick: `g(u) = J^T u` is linear in `u`, so
its own vjp with `v` is `(J^T)^T v = J v`. One backward formula per op serves
all of these because backward is written with differentiable tinynet ops.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import tensor as _tensor_module
from ..creation import ones_like, zeros, zeros_like
from ..tensor import Tensor
from . import grad as _grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(x, what: str, fn: str) -> tuple[bool, tuple]:
    """(was a tuple, the tensors as a tuple), checking every element is a Tensor."""
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{fn}: {what} must be a Tensor or a tuple of Tensors, got {type(t).__name__}"
                + (f" at position {i}" if is_tuple else "")
            )
    return is_tuple, xs


def _prepare_inputs(inputs: tuple, create_graph: bool, fn: str) -> tuple:
    """Fresh tensors that require grad: detached (or, for create_graph, linked) copies."""
    out = []
    for t in inputs:
        if not t.dtype.is_floating_point:
            raise TypeError(
                f"{fn}: inputs must be floating point to be differentiated, got {t.dtype}; "
                "convert with .float() or .double()"
            )
        if create_graph and t.requires_grad:
            out.append(t.view(t.shape))  # keeps the link to the caller's graph
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _check_v(v, refs: tuple, fn: str, what: str) -> tuple:
    if v is None:
        if len(refs) == 1 and refs[0].data.size == 1:
            return (None,)
        raise RuntimeError(
            f"{fn}: v can be omitted only when the {what} is a single one-element tensor; "
            f"pass v with the {what}'s shapes {[tuple(r.shape) for r in refs]}"
        )
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(refs):
        raise RuntimeError(f"{fn}: v has {len(vs)} tensors, the {what} has {len(refs)}")
    for a, r in zip(vs, refs):
        if a.shape != r.shape:
            raise RuntimeError(
                f"{fn}: v has shape {tuple(a.shape)} where the {what} has {tuple(r.shape)}"
            )
    return vs


def _grad_or_zeros(outputs, inputs, grad_outputs, create_graph: bool) -> tuple:
    """grad() that treats outputs with no graph and unused inputs as zero gradients."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        return tuple(zeros_like(t) for t in inputs)
    outs, gs = zip(*pairs)
    gs = [g if g is None else g.detach() if not create_graph else g for g in gs]
    res = _grad(list(outs), list(inputs), grad_outputs=list(gs), retain_graph=True,
                create_graph=create_graph, allow_unused=True)  # fmt: skip
    return tuple(zeros_like(t) if r is None else r for r, t in zip(res, inputs))


def _finish(ts: tuple, create_graph: bool, is_tuple: bool):
    ts = tuple(t if create_graph else t.detach() for t in ts)
    return ts if is_tuple else ts[0]


def vjp(func: Callable, inputs, v=None, create_graph: bool = False):
    """The vector-Jacobian product v^T J of `func` at `inputs`.

    Args:
        func: Tensors -> Tensor or tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        v: shaped like func's output (may be omitted for a one-element output).
        create_graph: make the result differentiable.

    Returns:
        (func_output, vjp), vjp shaped like `inputs`.

    Example: `out, g = vjp(lambda x: (x ** 2).sum(), x)` gives g == 2 * x.
    """
    in_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        xs = _prepare_inputs(xs, create_graph, "vjp")
        out_tuple, outs = _as_tuple(func(*xs), "func's output", "vjp")
        vs = _check_v(v, outs, "vjp", "output")
        res = _grad_or_zeros(outs, xs, vs, create_graph)
    return _finish(outs, create_graph, out_tuple), _finish(res, create_graph, in_tuple)


def jvp(func: Callable, inputs, v=None, create_graph: bool = False):
    """The Jacobian-vector product J v of `func` at `inputs`, by the double-vjp trick.

    Args:
        func: Tensors -> Tensor or tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        v: shaped like `inputs` (may be omitted for a single one-element input).
        create_graph: make the result differentiable.

    Returns:
        (func_output, jvp), jvp shaped like func's output.
    """
    in_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
    vs = _check_v(v, xs, "jvp", "input")
    with enable_grad():
        xs = _prepare_inputs(xs, create_graph, "jvp")
        out_tuple, outs = _as_tuple(func(*xs), "func's output", "jvp")
        # u is a dummy cotangent: g(u) = J^T u is linear in u, and d<g(u), v>/du = J v
        us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        gs = _grad_or_zeros(outs, xs, us, create_graph=True)
        vs = tuple(ones_like(x) if a is None else a for a, x in zip(vs, xs))
        res = _grad_or_zeros(gs, us, vs, create_graph)
    return _finish(outs, create_graph, out_tuple), _finish(res, create_graph, out_tuple)


def jacobian(func: Callable, inputs, create_graph: bool = False):
    """The Jacobian of `func` at `inputs`, one reverse pass per output element.

    Returns a Tensor of shape `output.shape + input.shape` for one input and one
    output; a tuple over inputs (or outputs) when that side is a tuple; a tuple of
    tuples `J[i][j]` (output i, input j) when both are.
    """
    in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        xs = _prepare_inputs(xs, create_graph, "jacobian")
        out_tuple, outs = _as_tuple(func(*xs), "func's output", "jacobian")
        rows = []
        for o in outs:
            per_input = [[] for _ in xs]
            flat = o.reshape(-1)
            for k in range(flat.shape[0]):
                e = zeros(flat.shape[0], dtype=o.dtype, device=o.device)
                e.data[k] = 1
                gs = _grad_or_zeros((flat,), xs, (e,), create_graph)
                for j, g in enumerate(gs):
                    per_input[j].append(g)
            row = []
            for j, x in enumerate(xs):
                if per_input[j]:
                    jac = _stack(per_input[j]).reshape(*o.shape, *x.shape)
                else:  # an empty output
                    jac = zeros(*o.shape, *x.shape, dtype=o.dtype, device=o.device)
                row.append(jac if create_graph else jac.detach())
            rows.append(tuple(row))
    if not in_tuple:
        rows = [r[0] for r in rows]
    return tuple(rows) if out_tuple else rows[0]


def _stack(ts: list) -> Tensor:
    """Stack along a new dim 0 (differentiably, for create_graph)."""
    ops = _tensor_module._ops  # the op library Tensor's methods use (bound by tinynet.ops)
    if hasattr(ops, "stack"):
        return ops.stack(ts, 0)
    out = None  # sum of one-hot outer products: the same tensor, built from basic ops
    for k, t in enumerate(ts):
        e = zeros(len(ts), *([1] * t.ndim), dtype=t.dtype, device=t.device)
        e.data[k] = 1
        out = e * t.unsqueeze(0) if out is None else out + e * t.unsqueeze(0)
    return out


def hessian(func: Callable, inputs, create_graph: bool = False):
    """The Hessian of a scalar `func` at `inputs`: the Jacobian of its gradient.

    Returns a Tensor of shape `input.shape + input.shape` for one input, else a
    tuple of tuples `H[i][j]` = d^2 f / (d input_i d input_j).
    """
    in_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*ys):
        out = func(*ys)
        if not isinstance(out, Tensor) or out.data.size != 1:
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise RuntimeError(f"hessian: func must return a one-element Tensor, got {shape}")
        gs = _grad_or_zeros((out.reshape(()),), ys, (None,), create_graph=True)
        return gs if in_tuple else gs[0]

    return jacobian(gradient, xs if in_tuple else xs[0], create_graph=create_graph)


def _second_order(name: str, func: Callable, inputs, v, create_graph: bool):
    in_tuple, xs = _as_tuple(inputs, "inputs", name)
    vs = _check_v(v, xs, name, "input")
    with enable_grad():
        xs = _prepare_inputs(xs, create_graph, name)
        out = func(*xs)
        if not isinstance(out, Tensor) or out.data.size != 1:
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise RuntimeError(f"{name}: func must return a one-element Tensor, got {shape}")
        gs = _grad_or_zeros((out,), xs, (None,), create_graph=True)
        vs = tuple(ones_like(x) if a is None else a for a, x in zip(vs, xs))
        # d<grad f, v>/dx = H v; H is symmetric, so this is both hvp and vhp
        res = _grad_or_zeros(gs, xs, vs, create_graph)
    return _finish((out,), create_graph, False), _finish(res, create_graph, in_tuple)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False):
    """The Hessian-vector product H v of a scalar `func` at `inputs`.

    Returns (func_output, hvp), hvp shaped like `inputs`. Computed as the gradient
    of <grad f, v>, two reverse passes, never forming H.
    """
    return _second_order("hvp", func, inputs, v, create_graph)


def vhp(func: Callable, inputs, v=None, create_graph: bool = False):
    """The vector-Hessian product v^T H of a scalar `func` at `inputs` (equal to H v)."""
    return _second_order("vhp", func, inputs, v, create_graph)
