"""Adadelta, as torch.optim.Adadelta (the optimizer of PyTorch's official MNIST example)."""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), step for step as torch.optim.Adadelta.

    For each parameter p with gradient g::

        g = -g if maximize
        g = g + weight_decay * p                        if weight_decay != 0
        v = rho * v + (1 - rho) * g**2                  square_avg
        delta = sqrt(u + eps) / sqrt(v + eps) * g       u: acc_delta
        u = rho * u + (1 - rho) * delta**2
        p = p - lr * delta

    The state per parameter is "step" (a float32 scalar on the CPU), "square_avg" (v)
    and "acc_delta" (u).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: scales delta before it is applied (default 1.0).
        rho: decay rate of the running averages, in [0, 1] (default 0.9).
        eps: added inside the square roots (default 1e-6).
        weight_decay: L2 penalty added to the gradient (default 0).
        foreach: accepted for torch compatibility; tinynet has one implementation.
        maximize: ascend instead of descend.

    Example:
        >>> opt = tn.optim.Adadelta(model.parameters(), lr=1.0)
    """

    _hparams = {"lr": "[0, inf)", "rho": "[0, 1]", "eps": "[0, inf)", "weight_decay": "[0, inf)"}

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False):  # fmt: skip
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach}  # fmt: skip
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group, pairs in self._params_with_grads():
                lr, rho, eps, weight_decay = (
                    group[k] for k in ("lr", "rho", "eps", "weight_decay")
                )
                for p, g in pairs:
                    state = self._new_state(p, "square_avg", "acc_delta")
                    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                    state["step"] += 1
                    g = -g if group["maximize"] else g
                    if weight_decay != 0:
                        g = g + weight_decay * p
                    square_avg.mul_(rho).addcmul_(g, g, value=1 - rho)
                    std = (square_avg + eps).sqrt()
                    delta = (acc_delta + eps).sqrt() / std * g
                    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
                    p.add_(delta, alpha=-lr)
        return loss
