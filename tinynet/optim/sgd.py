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

    _hparams = {"lr": "[0, inf)", "momentum": "[0, inf)", "dampening": "[0, 1]",
                "weight_decay": "[0, inf)"}  # fmt: skip

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False):  # fmt: skip
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening,
            "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
        }  # fmt: skip
        super().__init__(params, defaults)

    def _check_group(self, group: dict, owner: str) -> None:
        super()._check_group(group, owner)
        if group.get("nesterov") and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"{owner}: Nesterov momentum requires a momentum and zero dampening (got "
                f"momentum={group['momentum']}, dampening={group['dampening']})"
            )

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group, pairs in self._params_with_grads():
                lr, momentum = group["lr"], group["momentum"]
                dampening, weight_decay = group["dampening"], group["weight_decay"]
                for p, g in pairs:
                    g = -g if group["maximize"] else g
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
