"""Autograd: the engine, Function, grad mode, gradcheck."""

from __future__ import annotations

from ..creation import ones_like
from ..tensor import Tensor, tensor
from .engine import run_backward
from .function import Function
from .grad_mode import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import gradcheck
from .tape import Tape, tape


def _grads_for(outputs, grad_outputs, op: str):
    grads = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"{op}: a tensor of shape {tuple(out.shape)} does not require grad and has no "
                "grad_fn; make an input requires_grad=True before computing it"
            )
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"{op}: grad can be implicitly created only for scalar outputs; the output "
                    f"has shape {tuple(out.shape)}, so pass gradient= (a tensor of that shape)"
                )
            g = ones_like(out)
        elif not isinstance(g, Tensor):
            g = tensor(g, dtype=out.dtype, device=out.device)
        if g.shape != out.shape:
            raise RuntimeError(
                f"{op}: gradient has shape {tuple(g.shape)} but the output has shape "
                f"{tuple(out.shape)}"
            )
        if g.device != out.device:
            raise RuntimeError(
                f"{op}: gradient is on {g.device} but the output is on {out.device}; "
                "move it with .to()"
            )
        if g.dtype != out.dtype:  # cast, as torch does, so .grad keeps the leaf's dtype
            g = g.to(out.dtype)
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=False, create_graph=False) -> None:
    """Accumulate gradients of `tensors` into the `.grad` of every leaf that requires grad."""
    tensors = [tensors] if not isinstance(tensors, (list, tuple)) else list(tensors)
    if grad_tensors is None or not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors] * len(tensors)
    grads = _grads_for(tensors, grad_tensors, "backward")
    run_backward(tensors, grads, retain_graph or create_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):  # fmt: skip
    """Gradients of `outputs` with respect to `inputs`, without touching any `.grad`."""
    single = not isinstance(inputs, (list, tuple))
    outputs = [outputs] if not isinstance(outputs, (list, tuple)) else list(outputs)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outputs)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"grad: an input of shape {tuple(t.shape)} does not require grad")
    grads = _grads_for(outputs, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    results = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs)
    for t, r in zip(inputs, results):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"grad: an input of shape {tuple(t.shape)} was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return tuple(results)


from . import functional  # noqa: E402  (a cycle: functional uses grad, defined above)

__all__ = [
    "Function", "backward", "grad", "gradcheck", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "detect_anomaly", "functional", "tape", "Tape", "inference_mode",
    "is_inference_mode_enabled",
]  # fmt: skip
