"""SGD with momentum, dampening, Nesterov momentum and weight decay, as torch.optim.SGD."""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, step for step as torch.optim.SGD.

    For each parameter p with gradient g, at step t::

        g = -g if maximize
        g = g + weight_decay * p                        if weight_decay != 0
        if momentum != 0:
            b = g                                       at the first step
            b = momentum * b + (1 - dampening) * g      afterwards
            g = g + momentum * b if nesterov else b
        p = p - lr * g

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 1e-3, as torch).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend instead of descend.

    Example:
        >>> opt = tn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False):  # fmt: skip
        if lr < 0.0:
            raise ValueError(f"SGD: invalid learning rate {lr}; it must be >= 0")
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum {momentum}; it must be >= 0")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay {weight_decay}; it must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening,
            "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
        }  # fmt: skip
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                lr, momentum = group["lr"], group["momentum"]
                dampening, weight_decay = group["dampening"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = -p.grad if group["maximize"] else p.grad
                    if weight_decay != 0:
                        g = g + weight_decay * p
                    if momentum != 0:
                        state = self.state[p]
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = state["momentum_buffer"] = g.clone().detach()
                        else:
                            buf.mul_(momentum).add_(g, alpha=1 - dampening)
                        g = g + momentum * buf if group["nesterov"] else buf
                    p.add_(g, alpha=-lr)
        return loss
