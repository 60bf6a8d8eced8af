"""Adagrad, as torch.optim.Adagrad."""

from __future__ import annotations

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..creation import full_like
from ..tensor import tensor
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), step for step as torch.optim.Adagrad.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        g = g + weight_decay * p                        if weight_decay != 0
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2                                    sum, from initial_accumulator_value
        p = p - clr * g / (sqrt(s) + eps)

    As in torch, the state ("step", a float32 scalar on the CPU, and "sum") is created
    for every parameter when the optimizer is built.

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 1e-2).
        lr_decay: learning rate decay per step (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        initial_accumulator_value: the starting value of the sum (default 0).
        eps: added to the denominator (default 1e-10).
        foreach: accepted for torch compatibility; tinynet has one implementation.
        maximize: ascend instead of descend.

    Example:
        >>> opt = tn.optim.Adagrad(model.parameters(), lr=0.01)
    """

    _hparams = {"lr": "[0, inf)", "lr_decay": "[0, inf)", "weight_decay": "[0, inf)",
                "initial_accumulator_value": "[0, inf)", "eps": "[0, inf)"}  # fmt: skip

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False):  # fmt: skip
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize}  # fmt: skip
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group: dict) -> dict:
        state = self.state[p]
        if not state:
            state["step"] = tensor(0.0, dtype=dtypes.float32, device="cpu")
            state["sum"] = full_like(p, group["initial_accumulator_value"])
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group, pairs in self._params_with_grads():
                lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
                weight_decay = group["weight_decay"]
                for p, g in pairs:
                    state = self._init_state(p, group)  # a group added later starts here
                    state["step"] += 1
                    step = state["step"].item()
                    g = -g if group["maximize"] else g
                    if weight_decay != 0:
                        g = g + weight_decay * p
                    clr = lr / (1 + (step - 1) * lr_decay)
                    state["sum"].addcmul_(g, g, value=1)
                    std = state["sum"].sqrt() + eps
                    p.addcdiv_(g, std, value=-clr)
        return loss
