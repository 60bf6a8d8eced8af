"""`tinynet.nn.utils`: gradient clipping and flat parameter vectors, as torch.nn.utils.

>>> from tinynet.nn.utils import clip_grad_norm_
>>> total = clip_grad_norm_(model.parameters(), max_norm=1.0)
"""

from __future__ import annotations

import math

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..ops.movement import cat, stack
from ..ops.reduce import amax, amin
from ..tensor import Tensor, tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _tensors(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(op: str, parameters) -> list:
    out = []
    for p in _tensors(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected tensors, got {type(p).__name__}")
        if p.grad is not None:
            out.append(p.grad)
    return out


def _norm(g: Tensor, p: float) -> Tensor:
    a = g.abs()
    if p == math.inf:
        return amax(a) if a.numel() else tensor(0.0, dtype=g.dtype, device=g.device)
    if p == -math.inf:
        return amin(a)
    if p == 0:
        return (a != 0).to(g.dtype).sum()
    if p == 1:
        return a.sum()
    if p == 2:
        return (a * a).sum().sqrt()
    return (a**p).sum() ** (1.0 / p)


def clip_grad_norm_(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the parameters' gradients in place so that their joint norm is at most max_norm.

    The joint norm is the `norm_type` norm of all gradients taken together (as if
    concatenated into one vector). Gradients are multiplied by
    `min(1, max_norm / (total_norm + 1e-6))`, as torch does.

    Args:
        parameters: a tensor or an iterable of tensors (those without .grad are skipped).
        max_norm: the largest allowed norm.
        norm_type: the p of the norm; `float("inf")` for the largest absolute value.
        error_if_nonfinite: raise if the total norm is nan or inf.
        foreach: accepted for PyTorch compatibility (no effect).

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).

    Example:
        >>> loss.backward(); nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    """
    op = "clip_grad_norm_"
    grads = _grads(op, parameters)
    norm_type = float(norm_type)
    if not grads:
        return tensor(0.0)
    devices = {g.device for g in grads}
    if len(devices) > 1:
        raise RuntimeError(f"{op}: gradients are on several devices {sorted(map(str, devices))}")
    with no_grad():
        norms = [_norm(g, norm_type).to(dtypes.float32 if g.dtype == dtypes.float16 else g.dtype)
                 for g in grads]  # fmt: skip
        total = _norm(stack([n.to(norms[0].dtype) for n in norms]), norm_type)
        if error_if_nonfinite and not math.isfinite(float(total.item())):
            raise RuntimeError(
                f"{op}: the total norm of order {norm_type} for gradients from `parameters` is "
                "non-finite, so it cannot be clipped. To disable this error and scale the "
                "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
            )
        coef = (float(max_norm) / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return total


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient in place to [-clip_value, clip_value].

    Example:
        >>> nn.utils.clip_grad_value_(model.parameters(), 0.5)
    """
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads("clip_grad_value_", parameters):
            g.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (a copy).

    Example:
        >>> vec = nn.utils.parameters_to_vector(model.parameters())
    """
    ps = _tensors(parameters)
    if not ps:
        raise RuntimeError("parameters_to_vector: expected a non-empty iterable of tensors")
    device = ps[0].device
    for p in ps:
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters_to_vector: expected tensors, got {type(p).__name__}")
        if p.device != device:
            raise TypeError(
                f"parameters_to_vector: found two parameters on different devices, "
                f"{device} and {p.device}"
            )
    return cat([p.reshape(-1) for p in ps])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D `vec` into the parameters, in place.

    Example:
        >>> nn.utils.vector_to_parameters(vec, model.parameters())
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise RuntimeError(f"vector_to_parameters: vec must be 1-D, got shape {tuple(vec.shape)}")
    ps = _tensors(parameters)
    total = sum(p.numel() for p in ps)
    if total != vec.shape[0]:
        raise RuntimeError(
            f"vector_to_parameters: vec has {vec.shape[0]} elements, the parameters {total}"
        )
    start = 0
    with no_grad():
        for p in ps:
            n = p.numel()
            p.copy_(vec[start : start + n].reshape(p.shape))
            start += n
