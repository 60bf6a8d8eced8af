"""Adam (with AMSGrad and L2 weight decay) and AdamW (decoupled weight decay), as torch.optim."""

from __future__ import annotations

import math

from ..autograd.grad_mode import no_grad
from ..creation import zeros_like
from ..ops.elementwise import maximum
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


def adam_moments(p, g, state: dict, group: dict, decoupled: bool) -> tuple:
    """The first half of a step of the Adam family (Adam, AdamW, NAdam, RAdam), in place:

        g = -g if maximize;  t = t + 1
        p = p * (1 - lr * weight_decay)     if decoupled (AdamW), else g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g**2

    on state's "step", "exp_avg" (m) and "exp_avg_sq" (v). Returns (g as used, t)."""
    lr, weight_decay, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
    g = -g if group["maximize"] else g
    state["step"] += 1
    if weight_decay != 0:
        if decoupled:
            p.mul_(1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
    state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
    return g, state["step"].item()


class Adam(Optimizer):
    r"""Adam, step for step as torch.optim.Adam.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        p = p * (1 - lr * weight_decay)                 AdamW (decoupled decay)
        g = g + weight_decay * p                        Adam, if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                           if amsgrad (then v_max replaces v)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    The state per parameter is "step" (a float32 scalar on the CPU), "exp_avg"
    (m), "exp_avg_sq" (v) and, with amsgrad, "max_exp_avg_sq", on the parameter's
    device.

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 1e-3).
        betas: decay rates of the moment averages (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        amsgrad: use the maximum of past second moments.
        maximize: ascend instead of descend.

    Example:
        >>> opt = tn.optim.Adam(model.parameters(), lr=3e-4)
    """

    _decoupled = False
    _hparams = {"lr": "[0, inf)", "eps": "[0, inf)", "weight_decay": "[0, inf)"}

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False):  # fmt: skip
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize}  # fmt: skip
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group, pairs in self._params_with_grads():
                lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
                amsgrad = group["amsgrad"]
                for p, g in pairs:
                    state = self._new_state(p, "exp_avg", "exp_avg_sq")
                    _, step = adam_moments(p, g, state, group, self._decoupled)
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    bias_correction1 = 1 - beta1**step
                    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
                    if amsgrad:
                        if "max_exp_avg_sq" not in state:
                            state["max_exp_avg_sq"] = zeros_like(p)
                        max_sq = state["max_exp_avg_sq"]
                        max_sq.copy_(maximum(max_sq, exp_avg_sq))
                        denom = max_sq.sqrt() / bias_correction2_sqrt + eps
                    else:
                        denom = exp_avg_sq.sqrt() / bias_correction2_sqrt + eps
                    p.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.

    Each step first shrinks the parameter, `p = p * (1 - lr * weight_decay)`,
    then takes the Adam step without any decay in the gradient (see Adam for
    the full algorithm). The default weight_decay is 1e-2.

    Example:
        >>> opt = tn.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False):  # fmt: skip
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
