"""Matrix products: matmul (batched, broadcasting, NumPy's 1-D rules), bmm, einsum."""

from __future__ import annotations

import string

from ..autograd.function import Function
from ..tensor import Tensor
from .broadcast import unbroadcast
from .elementwise import _prepare, const
from .registry import Sample, register

__all__ = ["matmul", "bmm", "einsum"]


def mm(device, a, b):
    """a @ b on arrays: the backend's `matmul` where it has one (the CPU's threads big
    products, see backend/cpu.py `split`), else its namespace's."""
    f = getattr(device.backend, "matmul", None)
    return f(a, b) if f is not None else device.xp.matmul(a, b)


@register
class Matmul(Function):
    """z = x @ y   (x: (..., n, k), y: (..., k, m); leading dims broadcast)
    dx = grad @ y^T;  dy = x^T @ grad   (each unbroadcast over the batch dims)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return mm(ctx.device, x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dx = dy = None
        if ctx.needs_input_grad[0]:
            dx = unbroadcast(grad @ y.transpose(-1, -2), x.shape)
        if ctx.needs_input_grad[1]:
            dy = unbroadcast(x.transpose(-1, -2) @ grad, y.shape)
        return dx, dy


def matmul(x, y):
    """x @ y: matrix product; 1-D operands are vectors (as NumPy and torch)."""
    x, y = _prepare("matmul", x, y)
    if x.ndim == 0 or y.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dim, got {x.shape} and {y.shape}"
        )
    if x.shape[-1] != y.shape[-2 if y.ndim > 1 else -1]:
        raise RuntimeError(
            f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied "
            f"({x.shape[-1]} != {y.shape[-2 if y.ndim > 1 else -1]})"
        )
    if x.ndim == 1 or y.ndim == 1:  # lift vectors to matrices, then drop the added dim
        xm = x.unsqueeze(0) if x.ndim == 1 else x
        ym = y.unsqueeze(-1) if y.ndim == 1 else y
        z = Matmul.apply(xm, ym)
        if y.ndim == 1:
            z = z.squeeze(-1)
        if x.ndim == 1:
            z = z.squeeze(-2 if y.ndim > 1 else -1) if z.ndim else z
        return z
    return Matmul.apply(x, y)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of (b, n, k) and (b, k, m) tensors, without broadcasting."""
    for name, t in (("input", input), ("mat2", mat2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bmm: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim != 3:
            raise RuntimeError(f"bmm: {name} must be a 3-d tensor, got shape {tuple(t.shape)}")
    b, _, k = input.shape
    if tuple(mat2.shape[:2]) != (b, k):
        raise RuntimeError(
            f"bmm: mat2 must have shape ({b}, {k}, m) for input of shape {tuple(input.shape)}, "
            f"got {tuple(mat2.shape)}"
        )
    if input.dtype != mat2.dtype:
        raise RuntimeError(
            f"bmm: input and mat2 must have one dtype, got {input.dtype} and {mat2.dtype}"
        )
    return matmul(input, mat2)


# ----- einsum --------------------------------------------------------------------------------


@register
class Einsum(Function):
    """y = xp.einsum("ab,bc->ac", x0, x1)   (subscripts: one letter per dim, no "...")
    dxi = einsum of grad with the other operands, back to xi's subscripts: "ac,bc->ab" for
          x0; a repeated letter adds an identity operand, a letter only xi has a ones operand
    """

    @staticmethod
    def forward(ctx, *xs, eq):
        ctx.eq = eq
        ctx.save_for_backward(*xs)
        return ctx.device.xp.asarray(ctx.device.xp.einsum(eq, *xs, optimize=True))  # BLAS

    @staticmethod
    def backward(ctx, grad):
        xs = ctx.saved_tensors
        lhs, out = ctx.eq.split("->")
        terms = lhs.split(",")
        xp = grad.device.xp
        spare = iter(c for c in string.ascii_letters if c not in ctx.eq)
        grads = []
        for i, (term, x) in enumerate(zip(terms, xs)):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            subs, ops, target = [out], [grad], ""
            for j, (t, other) in enumerate(zip(terms, xs)):
                if j != i:
                    subs.append(t)
                    ops.append(other)
            for letter, n in zip(term, x.shape):
                if letter in target:  # a diagonal: a fresh letter, tied by an identity
                    fresh = next(spare)
                    subs.append(letter + fresh)
                    ops.append(const(grad, xp.eye(n, dtype=grad.data.dtype)))
                    letter = fresh
                elif not any(letter in s for s in subs):  # summed over in xi alone
                    subs.append(letter)
                    ops.append(const(grad, xp.ones(n, dtype=grad.data.dtype)))
                target += letter
            grads.append(Einsum.apply(*ops, eq=",".join(subs) + "->" + target))
        return tuple(grads)


def _einsum_terms(equation: str, operands: list) -> tuple[list[str], str]:
    """The equation with "..." spelled out in spare letters and the output made explicit."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(
            f"einsum: the equation {equation!r} has {len(terms)} operand(s), got {len(operands)}"
        )
    for part in terms + ([rhs] if arrow else []):
        bad = set(part.replace("...", "")) - set(string.ascii_letters)
        if bad or part.count("...") > 1:
            raise ValueError(
                f"einsum: invalid subscripts {part!r} in {equation!r}: use letters and at most "
                "one '...' per operand"
            )
    spare = [c for c in string.ascii_letters if c not in eq]
    widths = []
    for i, (term, x) in enumerate(zip(terms, operands)):
        named = len(term.replace("...", ""))
        if ("..." in term and named > x.ndim) or ("..." not in term and named != x.ndim):
            raise RuntimeError(
                f"einsum: operand {i} has {x.ndim} dims (shape {tuple(x.shape)}) but its "
                f"subscripts {term!r} name {named}"
            )
        widths.append(x.ndim - named if "..." in term else 0)
    ell = "".join(spare[: max(widths, default=0)])
    terms = [t.replace("...", ell[len(ell) - w :]) for t, w in zip(terms, widths)]
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise RuntimeError(f"einsum: output subscript {c} appears more than once")
            if not any(c in t for t in terms):
                raise RuntimeError(
                    f"einsum: output subscript {c} appears in no input operand ({equation!r})"
                )
    else:
        letters = "".join(terms)
        out = ell + "".join(sorted(c for c in set(letters) - set(ell) if letters.count(c) == 1))
    return terms, out


def einsum(equation: str, *operands) -> Tensor:
    """Sums of products of the operands' entries named by an equation in Einstein notation,
    as torch.einsum: `einsum("ij,jk->ik", a, b)` is a @ b, `einsum("ii", a)` the trace.

    Supports "..." (broadcast like the leading dims of matmul), repeated subscripts in an
    operand (diagonals), and the implicit output (letters used once, sorted). Operands may
    also come as one list.
    """
    if not isinstance(equation, str):
        raise TypeError(
            "einsum: the first argument must be the equation string (the sublist format "
            f"einsum(op, [0, 1], ...) is not supported), got {type(equation).__name__}"
        )
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    for i, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum: operand {i} must be a Tensor, got {type(x).__name__}")
        if x.dtype != operands[0].dtype:
            raise RuntimeError(
                f"einsum: operands must have one dtype, got {operands[0].dtype} (operand 0) and "
                f"{x.dtype} (operand {i})"
            )
        if x.device != operands[0].device:
            raise RuntimeError(
                f"einsum: operands must be on one device, got {operands[0].device} (operand 0) "
                f"and {x.device} (operand {i})"
            )
    terms, out = _einsum_terms(equation, list(operands))
    sizes: dict[str, int] = {}
    for i, (term, x) in enumerate(zip(terms, operands)):
        for c, n in zip(term, x.shape):
            seen = sizes.get(c, n)
            if n != seen and 1 not in (n, seen):
                raise RuntimeError(
                    f"einsum: subscript {c} has size {n} for operand {i} which does not "
                    f"broadcast with previously seen size {seen} ({equation!r})"
                )
            sizes[c] = max(n, seen)
    ops = []
    for term, x in zip(terms, operands):
        shape = tuple(sizes[c] for c in term)
        ops.append(x if shape == tuple(x.shape) else x.expand(shape))  # size-1 dims broadcast
    return Einsum.apply(*ops, eq=",".join(terms) + "->" + out)


# ----- registry samples and torch oracles ------------------------------------------------

Matmul.samples = staticmethod(
    lambda: [
        Sample(shapes, lambda torch, a, b: a @ b, matmul, name=str(shapes))
        for shapes in [
            ((3, 4), (4, 5)),
            ((2, 3, 4), (2, 4, 5)),
            ((2, 3, 4), (4, 5)),
            ((3, 4), (2, 4, 5)),
            ((2, 1, 3, 4), (5, 4, 2)),
            ((4,), (4, 5)),
            ((3, 4), (4,)),
            ((4,), (4,)),
            ((2, 3, 4), (4,)),
        ]
    ]
    + [
        Sample(((2, 3, 4), (2, 4, 5)), lambda torch, a, b: torch.bmm(a, b), bmm, name="bmm"),
        Sample(((3, 1, 4), (3, 4, 0)), lambda torch, a, b: torch.bmm(a, b), bmm, name="bmm empty"),
    ]
)  # fmt: skip


def _einsum_fns(eq):
    return (lambda torch, *ops: torch.einsum(eq, *ops)), (lambda *ops: einsum(eq, *ops))


Einsum.samples = staticmethod(
    lambda: [
        Sample(shapes, *_einsum_fns(eq), name=eq)
        for eq, shapes in [
            ("ij,jk->ik", ((3, 4), (4, 5))),
            ("bij,bjk->bik", ((2, 3, 4), (2, 4, 5))),
            ("ij,jk", ((3, 4), (4, 2))),
            ("ij->ji", ((3, 4),)),
            ("ij->", ((3, 4),)),
            ("ij->j", ((3, 4),)),
            ("i,j->ij", ((3,), (4,))),
            ("i,i->", ((5,), (5,))),
            ("ii->i", ((4, 4),)),
            ("ii", ((4, 4),)),
            ("iij,j->ij", ((3, 3, 2), (2,))),
            ("bn,anm,bm->ba", ((2, 3), (4, 3, 5), (2, 5))),
            ("...ij,...jk->...ik", ((2, 1, 3, 4), (5, 4, 2))),
            ("i...->...", ((3, 2, 4),)),
            ("ij,kj->ik", ((3, 1), (2, 4))),
        ]
    ]
)  # fmt: skip
