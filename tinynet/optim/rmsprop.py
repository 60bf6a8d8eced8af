"""RMSprop (plain, centered, with momentum), as torch.optim.RMSprop."""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), step for step as torch.optim.RMSprop.

    For each parameter p with gradient g::

        g = -g if maximize
        g = g + weight_decay * p                        if weight_decay != 0
        v = alpha * v + (1 - alpha) * g**2              square_avg
        m = lerp(m, g, 1 - alpha);  avg = sqrt(v - m**2) + eps     if centered (grad_avg m)
        avg = sqrt(v) + eps                             otherwise
        b = momentum * b + g / avg;  p = p - lr * b     if momentum > 0
        p = p - lr * g / avg                            otherwise

    The state per parameter is "step" (a float32 scalar on the CPU), "square_avg",
    and "momentum_buffer" (if momentum > 0) and "grad_avg" (if centered).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the running averages, in [0, 1] (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        momentum: momentum factor (default 0).
        centered: normalise by the estimated variance of the gradient (default False).
        foreach: accepted for torch compatibility; tinynet has one implementation.
        maximize: ascend instead of descend.

    Example:
        >>> opt = tn.optim.RMSprop(model.parameters(), lr=1e-3, momentum=0.9)
    """

    _hparams = {"lr": "[0, inf)", "alpha": "[0, 1]", "eps": "[0, inf)",
                "weight_decay": "[0, inf)", "momentum": "[0, inf)"}  # fmt: skip

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 foreach: bool | None = None, maximize: bool = False):  # fmt: skip
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize}  # fmt: skip
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group, pairs in self._params_with_grads():
                lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
                weight_decay, momentum = group["weight_decay"], group["momentum"]
                for p, g in pairs:
                    buffers = ("square_avg",) + ("momentum_buffer",) * (momentum > 0)
                    buffers += ("grad_avg",) * bool(group["centered"])
                    state = self._new_state(p, *buffers)
                    state["step"] += 1
                    g = -g if group["maximize"] else g
                    if weight_decay != 0:
                        g = g + weight_decay * p
                    square_avg = state["square_avg"]
                    square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)
                    if group["centered"]:
                        grad_avg = state["grad_avg"]
                        _lerp_(grad_avg, g, 1 - alpha)
                        avg = (square_avg - grad_avg * grad_avg).sqrt() + eps
                    else:
                        avg = square_avg.sqrt() + eps
                    if momentum > 0:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).addcdiv_(g, avg)
                        p.add_(buf, alpha=-lr)
                    else:
                        p.addcdiv_(g, avg, value=-lr)
        return loss


def _lerp_(start, end, weight: float) -> None:
    """start += weight * (end - start), in torch's two-branch form (exact at weight 0 and 1)."""
    if weight < 0.5:
        start.add_(end - start, alpha=weight)
    else:
        start.copy_(end - (end - start) * (1 - weight))
