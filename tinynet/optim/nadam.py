"""NAdam (Adam with Nesterov momentum) and RAdam (rectified Adam), as torch.optim."""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from .adam import adam_moments
from .optimizer import Optimizer

__all__ = ["NAdam", "RAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), step for step as torch.optim.NAdam.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        p = p * (1 - lr * weight_decay)          if decoupled_weight_decay (else g += wd * p)
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))
        prod = prod * mu_t                                   mu_product, a float32 scalar
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        denom = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - prod) * g / denom
              - lr * mu_{t+1} / (1 - prod * mu_{t+1}) * m / denom

    The state per parameter is "step" and "mu_product" (float32 scalars on the CPU),
    "exp_avg" (m) and "exp_avg_sq" (v).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 2e-3).
        betas: decay rates of the moment averages (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: weight decay (default 0).
        momentum_decay: how fast mu_t warms up (default 4e-3).
        decoupled_weight_decay: decay the parameter as AdamW does (NAdamW).
        foreach: accepted for torch compatibility; tinynet has one implementation.
        maximize: ascend instead of descend.

    Example:
        >>> opt = tn.optim.NAdam(model.parameters(), lr=2e-3)
    """

    _hparams = {"lr": "[0, inf)", "eps": "[0, inf)", "weight_decay": "[0, inf)",
                "momentum_decay": "[0, inf)"}  # fmt: skip

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False):  # fmt: skip
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach}  # fmt: skip
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group, pairs in self._params_with_grads():
                lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
                psi = group["momentum_decay"]
                for p, g in pairs:  # torch's state order: step, mu_product, exp_avg, exp_avg_sq
                    state = self._new_state(p, "exp_avg", "exp_avg_sq", mu_product=1.0)
                    decoupled = group["decoupled_weight_decay"]
                    g, step = adam_moments(p, g, state, group, decoupled)  # g: as decayed
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
                    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
                    state["mu_product"] *= mu  # in float32, as torch
                    mu_product = state["mu_product"].item()
                    denom = (exp_avg_sq / (1 - beta2**step)).sqrt() + eps
                    p.addcdiv_(g, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
                    p.addcdiv_(exp_avg, denom, value=-lr * mu_next / (1.0 - mu_product * mu_next))
        return loss


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2019), step for step as torch.optim.RAdam.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        p = p * (1 - lr * weight_decay)          if decoupled_weight_decay (else g += wd * p)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        m_hat = m / (1 - beta1**t)
        if rho_t > 5:
            r = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
            p = p - lr * m_hat * r * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:
            p = p - lr * m_hat                            (plain momentum while v warms up)

    The state per parameter is "step" (a float32 scalar on the CPU), "exp_avg" (m) and
    "exp_avg_sq" (v).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 1e-3).
        betas: decay rates of the moment averages (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: weight decay (default 0).
        decoupled_weight_decay: decay the parameter as AdamW does.
        foreach: accepted for torch compatibility; tinynet has one implementation.
        maximize: ascend instead of descend.

    Example:
        >>> opt = tn.optim.RAdam(model.parameters(), lr=1e-3)
    """

    _hparams = {"lr": "[0, inf)", "eps": "[0, inf)", "weight_decay": "[0, inf)"}

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False):  # fmt: skip
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach}  # fmt: skip
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group, pairs in self._params_with_grads():
                lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
                rho_inf = 2 / (1 - beta2) - 1
                for p, g in pairs:
                    state = self._new_state(p, "exp_avg", "exp_avg_sq")
                    _, step = adam_moments(p, g, state, group, group["decoupled_weight_decay"])
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    bias_correction1 = 1 - beta1**step
                    bias_correction2 = 1 - beta2**step
                    m_hat = exp_avg / bias_correction1
                    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
                    if rho_t > 5.0:
                        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5  # fmt: skip
                        adaptive = bias_correction2**0.5 / (exp_avg_sq.sqrt() + eps)
                        p.sub_(m_hat * lr * adaptive * rect)
                    else:
                        p.sub_(m_hat * lr)
        return loss
