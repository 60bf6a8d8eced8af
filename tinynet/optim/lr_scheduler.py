"""Learning-rate schedulers, value for value as torch.optim.lr_scheduler's.

A scheduler sets `group["lr"]` of its optimizer's parameter groups; call
`scheduler.step()` after `optimizer.step()` (ReduceLROnPlateau: `step(val_loss)`).
Like torch, the schedules are computed in chainable form from the groups' current
lr, so the sequences match torch's to the last bit. Every option is checked by the
optimizers' checker (optim/hparams.py): NaN, negative or out-of-range values raise
a ValueError naming the scheduler, the argument and the value.
"""

from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections import Counter

from .hparams import check_hparam, check_int
from .optimizer import Optimizer

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
    "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau",
    "OneCycleLR", "CyclicLR",
]  # fmt: skip


class LRScheduler:
    """Base class: subclasses define `get_lr()`, the lrs of the step `last_epoch`.

    Args:
        optimizer: the optimizer whose lrs this scheduler sets.
        last_epoch: the index of the last step taken; -1 starts a new schedule
            (and records each group's lr as "initial_lr").
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        check_int(type(self).__name__, "last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "a scheduler with last_epoch >= 0; load the optimizer's state first"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Set the lrs of the schedule's first step (SequentialLR restarts its parts with it)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The lrs set by the last `step()`, one per parameter group."""
        return self._last_lr

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (or jump to `epoch`, with the closed form where one exists)."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Every attribute but the optimizer (plain numbers and lists: `tn.save` can store it)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state `state_dict()` returned (also after a `tn.save` / `tn.load`)."""
        self.__dict__.update(state_dict)


def _lambdas(owner: str, optimizer: Optimizer, lr_lambda) -> list:
    n = len(optimizer.param_groups)
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != n:
            raise ValueError(f"{owner}: expected {n} lr_lambdas, got {len(lr_lambda)}")
        fns = list(lr_lambda)
    else:
        fns = [lr_lambda] * n
    for fn in fns:
        if not callable(fn):
            raise TypeError(f"{owner}: lr_lambda should be a function, got {type(fn).__name__}")
    return fns


class _LambdaScheduler(LRScheduler):
    """LambdaLR's and MultiplicativeLR's shared state: `lr_lambdas`, one function per group."""

    lr_lambdas: list

    def state_dict(self) -> dict:
        """The state without the functions (a callable object's attributes are kept)."""
        # as torch: plain functions are not saved; a callable object's attributes are
        out = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        out["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
            for fn in self.lr_lambdas
        ]
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state `state_dict()` returned."""
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", None) or []
        self.__dict__.update(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)


class LambdaLR(_LambdaScheduler):
    """lr = initial_lr * lr_lambda(step), one function or one per group.

    Example:
        >>> sched = LambdaLR(opt, lambda step: 0.95**step)
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaScheduler):
    """Multiply each group's lr by `lr_lambda(step)` every step (from step 1).

    Example:
        >>> sched = MultiplicativeLR(opt, lambda step: 0.95)
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, groups)]


class StepLR(LRScheduler):
    """Multiply the lr by `gamma` every `step_size` steps: lr = lr0 * gamma**(t // step_size).

    Example:
        >>> sched = StepLR(opt, step_size=30, gamma=0.1)  # lr 0.05 -> 0.005 at epoch 30
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):  # fmt: skip
        self.step_size = check_int("StepLR", "step_size", step_size, low=1)
        self.gamma = check_hparam("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine decay from initial_lr to eta_min over T_max steps (then back up, as torch).

    lr_t = eta_min + (initial_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2,
    computed recursively as torch does.

    Example:
        >>> sched = CosineAnnealingLR(opt, T_max=epochs)
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):  # fmt: skip
        self.T_max = check_hparam("CosineAnnealingLR", "T_max", T_max, "(0, inf)")
        self.eta_min = check_hparam("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:
            return [
                lo + (base - lo) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs
            ]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups)]  # fmt: skip
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (group["lr"] - lo) + lo for group in groups]  # fmt: skip

    def _get_closed_form_lr(self) -> list[float]:
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * t / T)) / 2 for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by `gamma` at each milestone: lr = lr0 * gamma**(milestones passed).

    A milestone listed twice multiplies by gamma twice, as in torch.

    Example:
        >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)
    """

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1):  # fmt: skip
        self.milestones = Counter(
            check_int("MultiStepLR", "milestones[i]", m, low=0) for m in milestones
        )
        self.gamma = check_hparam("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch not in self.milestones:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch] for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        k = bisect_right(milestones, self.last_epoch)
        return [base * self.gamma**k for base in self.base_lrs]

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state `state_dict()` returned (milestones become a Counter again)."""
        super().load_state_dict(state_dict)
        self.milestones = Counter({int(k): int(v) for k, v in dict(self.milestones).items()})


class ConstantLR(LRScheduler):
    """Scale the lr by `factor` for the first `total_iters` steps, then restore it.

    Example:
        >>> sched = ConstantLR(opt, factor=0.5, total_iters=4)  # warm-up at half the lr
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):  # fmt: skip
        self.factor = check_hparam("ConstantLR", "factor", factor, "[0, 1]")
        self.total_iters = check_int("ConstantLR", "total_iters", total_iters, low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in groups]
        if self.last_epoch != self.total_iters:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 / self.factor) for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        on = self.last_epoch >= self.total_iters
        return [base * (self.factor + on * (1 - self.factor)) for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr linearly from `start_factor` to `end_factor` over `total_iters` steps.

    Example:
        >>> sched = LinearLR(opt, start_factor=0.1, total_iters=10)  # linear warm-up
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1):  # fmt: skip
        self.start_factor = check_hparam("LinearLR", "start_factor", start_factor, "(0, 1]")
        self.end_factor = check_hparam("LinearLR", "end_factor", end_factor, "[0, 1]")
        self.total_iters = check_int("LinearLR", "total_iters", total_iters, low=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        d = self.end_factor - self.start_factor
        ratio = 1.0 + d / (self.total_iters * self.start_factor + (self.last_epoch - 1) * d)
        return [group["lr"] * ratio for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        d = self.end_factor - self.start_factor
        t = min(self.total_iters, self.last_epoch)
        return [base * (self.start_factor + d * t / self.total_iters) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by `gamma` every step: lr = lr0 * gamma**t.

    Example:
        >>> sched = ExponentialLR(opt, gamma=0.9)
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = check_hparam("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr to 0 over `total_iters` steps: lr = lr0 * (1 - t / total_iters)**power.

    Example:
        >>> sched = PolynomialLR(opt, total_iters=10, power=2.0)
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1):  # fmt: skip
        self.total_iters = check_int("PolynomialLR", "total_iters", total_iters, low=1)
        self.power = check_hparam("PolynomialLR", "power", power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        t, n = self.last_epoch, self.total_iters
        decay = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
        return [group["lr"] * decay for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        t = min(self.total_iters, self.last_epoch)
        return [base * (1.0 - t / self.total_iters) ** self.power for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR): the cosine restarts every T_i steps.

    lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2, where
    T_cur counts steps since the last restart and T_i = T_0 * T_mult**restarts.
    `step(epoch)` accepts fractional epochs (e.g. `epoch + i / iters`), as torch.

    Args:
        optimizer: the optimizer.
        T_0: steps until the first restart (an int >= 1).
        T_mult: growth of the period after each restart (an int >= 1, default 1).
        eta_min: the lowest lr (default 0).

    Example:
        >>> sched = CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2)
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):  # fmt: skip
        name = "CosineAnnealingWarmRestarts"
        self.T_0 = self.T_i = check_int(name, "T_0", T_0, low=1)
        self.T_mult = check_int(name, "T_mult", T_mult, low=1)
        self.eta_min = check_hparam(name, "eta_min", eta_min)
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lo, c = self.eta_min, math.cos(math.pi * self.T_cur / self.T_i)
        return [lo + (base - lo) * (1 + c) / 2 for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one step, or jump to (possibly fractional) `epoch`."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            check_hparam("CosineAnnealingWarmRestarts.step", "epoch", epoch)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


def _check_children(owner: str, optimizer: Optimizer, schedulers) -> list:
    schedulers = list(schedulers)
    if not schedulers:
        raise ValueError(f"{owner} expects at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{owner}: the scheduler at index {i} has no `optimizer` attribute")
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(
                f"{owner} does not support ReduceLROnPlateau (index {i}): it needs the metric "
                "in step(metrics); step it on its own"
            )
        if s.optimizer is not optimizer:
            raise ValueError(
                f"{owner}: the scheduler {type(s).__name__} at index {i} belongs to another "
                "optimizer; all schedulers must share one optimizer"
            )
    return schedulers


def _children_state(sched) -> dict:
    out = {k: v for k, v in sched.__dict__.items() if k not in ("optimizer", "_schedulers")}
    out["_schedulers"] = [s.state_dict() for s in sched._schedulers]
    return out


def _load_children_state(sched, state_dict: dict) -> None:
    state = dict(state_dict)
    children = state.pop("_schedulers")
    sched.__dict__.update(state)
    for s, sd in zip(sched._schedulers, children):
        s.load_state_dict(sd)


class SequentialLR(LRScheduler):
    """Run schedulers one after another, switching at the milestones.

    Example:
        >>> warm = LinearLR(opt, start_factor=0.1, total_iters=5)
        >>> decay = ExponentialLR(opt, gamma=0.9)
        >>> sched = SequentialLR(opt, [warm, decay], milestones=[5])
    """

    def __init__(self, optimizer: Optimizer, schedulers, milestones, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        schedulers = _check_children("SequentialLR", optimizer, schedulers)
        milestones = [check_int("SequentialLR", "milestones[i]", m, low=0) for m in milestones]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR expects one milestone fewer than schedulers, got "
                f"{len(schedulers)} schedulers and {len(milestones)} milestones"
            )
        check_int("SequentialLR", "last_epoch", last_epoch, low=-1)
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # undo the step each scheduler took when it was built, then start the first one
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo(self)
        idx = bisect_right(milestones, 0)
        schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def _undo(self, sched) -> None:
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self) -> None:
        """Advance the scheduler whose turn it is (a new one starts from its step 0)."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._update_lr(0)
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()

    def state_dict(self) -> dict:
        """Its own state and each scheduler's, under "_schedulers"."""
        return _children_state(self)

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state `state_dict()` returned, the schedulers' included."""
        _load_children_state(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Step several schedulers together each step (their factors multiply).

    Example:
        >>> sched = ChainedScheduler([ConstantLR(opt, 0.1, 2), ExponentialLR(opt, 0.9)])
    """

    def __init__(self, schedulers, optimizer: Optimizer | None = None):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler expects at least one scheduler, got none")
        optimizer = optimizer or getattr(schedulers[0], "optimizer", None)
        self._schedulers = _check_children("ChainedScheduler", optimizer, schedulers)
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        """Step every scheduler, in order."""
        for s in self._schedulers:
            s.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Its own state and each scheduler's, under "_schedulers"."""
        return _children_state(self)

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state `state_dict()` returned, the schedulers' included."""
        _load_children_state(self, state_dict)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by `factor` when a metric has stopped improving for `patience` steps.

    Call `step(metric)` once per epoch with the validation loss (mode "min") or accuracy
    (mode "max").

    Args:
        optimizer: the optimizer.
        mode: "min" (lower is better, default) or "max".
        factor: new_lr = lr * factor, in [0, 1) (default 0.1).
        patience: steps without improvement tolerated before reducing (default 10).
        threshold: the least change that counts as an improvement (default 1e-4).
        threshold_mode: "rel" (best * (1 -/+ threshold), default) or "abs" (best -/+ it).
        cooldown: steps to wait after a reduction before counting again (default 0).
        min_lr: the lowest lr, one number or one per group (default 0).
        eps: a reduction smaller than eps is skipped (default 1e-8).

    Example:
        >>> sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2)
        >>> for epoch in range(epochs): train(); sched.step(val_loss)
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0, eps: float = 1e-8):  # fmt: skip
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.factor = check_hparam(name, "factor", factor, "[0, 1)")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"{name}: expected {n} min_lrs, one per group, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = [check_hparam(name, "min_lr", m) for m in min_lr]
        else:
            self.default_min_lr = check_hparam(name, "min_lr", min_lr)
            self.min_lrs = [min_lr] * n
        self.patience = check_int(name, "patience", patience, low=0)
        self.cooldown = check_int(name, "cooldown", cooldown, low=0)
        self.eps = check_hparam(name, "eps", eps)
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        self.threshold = check_hparam("ReduceLROnPlateau", "threshold", threshold)
        self.mode, self.threshold_mode = mode, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        """True while waiting out the cooldown after a reduction."""
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics, epoch: int | None = None) -> None:
        """Record this epoch's metric; reduce the lrs after `patience` bad epochs."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer has {len(groups)} param groups but "
                    f"min_lr was given for {len(self.min_lrs)}; set `min_lrs` to match"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state `state_dict()` returned."""
        self.__dict__.update(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


def _per_group(name: str, optimizer: Optimizer, value) -> list:
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have {n} values, one per param group, got {len(value)}")
        return list(value)
    return [value] * n


def _cycled_momentums(name: str, optimizer: Optimizer, base_momentum, max_momentum) -> tuple:
    """(uses beta1, base momentums, max momentums) of a scheduler that cycles momentum: SGD's
    `momentum`, or Adam's beta1, checked per param group (OneCycleLR, CyclicLR)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            f"{name}: optimizer must support momentum or beta1 with `cycle_momentum` enabled; "
            "pass cycle_momentum=False"
        )
    beta1 = "betas" in optimizer.defaults
    base_ms = _per_group(f"{name}: base_momentum", optimizer, base_momentum)
    max_ms = _per_group(f"{name}: max_momentum", optimizer, max_momentum)
    for key, ms in (("base_momentum", base_ms), ("max_momentum", max_ms)):
        for m in ms:
            check_hparam(name, key, m, "[0, 1)" if beta1 else "[0, inf)")
    return beta1, base_ms, max_ms


def _set_momentum(group: dict, momentum: float, beta1: bool) -> None:
    """Write a cycled momentum into a param group: Adam's beta1 or SGD's momentum."""
    if beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _start_momentums(optimizer: Optimizer, base_ms: list, max_ms: list, beta1: bool) -> None:
    """A momentum cycle starts at max_momentum; each group keeps both ends (as torch)."""
    for m_max, m_base, group in zip(max_ms, base_ms, optimizer.param_groups):
        _set_momentum(group, m_max, beta1)
        group["max_momentum"] = m_max
        group["base_momentum"] = m_base


class OneCycleLR(LRScheduler):
    """The 1cycle policy: lr warms up from max_lr / div_factor to max_lr, then anneals far below.

    Momentum (SGD's `momentum` or Adam's beta1) cycles the opposite way between
    max_momentum and base_momentum when `cycle_momentum` is set. Step it once
    per batch, `total_steps` (or epochs * steps_per_epoch) times.

    Args:
        optimizer: the optimizer.
        max_lr: the peak lr (or one per group).
        total_steps: the number of steps in the cycle; or give epochs and steps_per_epoch.
        pct_start: the fraction of steps spent warming up (default 0.3).
        anneal_strategy: "cos" (default) or "linear".
        cycle_momentum: cycle the momentum inversely to the lr (default True).
        base_momentum, max_momentum: the momentum's range (default 0.85, 0.95).
        div_factor: initial_lr = max_lr / div_factor (default 25).
        final_div_factor: min_lr = initial_lr / final_div_factor (default 1e4).
        three_phase: warm up, come back down to initial_lr, then anneal to min_lr.

    Example:
        >>> sched = OneCycleLR(opt, max_lr=0.1, epochs=5, steps_per_epoch=len(loader))
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):  # fmt: skip
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        name = "OneCycleLR"
        if total_steps is not None:
            self.total_steps = check_int(name, "total_steps", total_steps, low=1)
        elif epochs is not None and steps_per_epoch is not None:
            epochs = check_int(name, "epochs", epochs, low=1)
            self.total_steps = epochs * check_int(name, "steps_per_epoch", steps_per_epoch, low=1)
        else:
            raise ValueError("OneCycleLR: give either total_steps or (epochs and steps_per_epoch)")
        check_hparam(name, "pct_start", pct_start, "[0, 1]")
        check_hparam(name, "div_factor", div_factor, "(0, inf)")
        check_hparam(name, "final_div_factor", final_div_factor, "(0, inf)")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self._anneal_func_type = anneal_strategy
        n = self.total_steps
        if three_phase:
            self._schedule_phases = [
                {"end_step": float(pct_start * n) - 1, "start_lr": "initial_lr",
                 "end_lr": "max_lr", "start_momentum": "max_momentum",
                 "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * n) - 2, "start_lr": "max_lr",
                 "end_lr": "initial_lr", "start_momentum": "base_momentum",
                 "end_momentum": "max_momentum"},
                {"end_step": n - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]  # fmt: skip
        else:
            self._schedule_phases = [
                {"end_step": float(pct_start * n) - 1, "start_lr": "initial_lr",
                 "end_lr": "max_lr", "start_momentum": "max_momentum",
                 "end_momentum": "base_momentum"},
                {"end_step": n - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]  # fmt: skip
        max_lrs = [check_hparam(name, "max_lr", m) for m in _per_group("max_lr", optimizer, max_lr)]
        if last_epoch == -1:
            for group, m in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, base_ms, max_ms = _cycled_momentums(
                name, optimizer, base_momentum, max_momentum
            )
            if last_epoch == -1:
                _start_momentums(optimizer, base_ms, max_ms, self.use_beta1)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: tried to step {step} times; the schedule has total_steps="
                f"{self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)  # fmt: skip
                    break
                start_step = phase["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                _set_momentum(group, momentum, self.use_beta1)
        return lrs


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith, 2017): lr climbs from base_lr to max_lr over
    `step_size_up` steps and back down over `step_size_down`, as torch's CyclicLR.

    With t the step, cycle = floor(1 + t / (up + down)) and x its position in the cycle,
    lr = base_lr + (max_lr - base_lr) * h(x) * scale, h rising 0 -> 1 over the first
    up / (up + down) of the cycle and falling back after. scale is 1 ("triangular"),
    1 / 2**(cycle - 1) ("triangular2") or gamma**t ("exp_range"), or `scale_fn` of the
    cycle or of t (`scale_mode`). Momentum (SGD's or Adam's beta1) cycles the opposite way
    between max_momentum and base_momentum when `cycle_momentum` is set. Step it per batch.

    Args:
        optimizer: the optimizer (its groups' lr start at base_lr).
        base_lr, max_lr: the cycle's bounds (or one per group).
        step_size_up: steps from base_lr to max_lr (default 2000).
        step_size_down: steps back down (default: step_size_up).
        mode: "triangular" (default), "triangular2" or "exp_range".
        gamma: exp_range's factor per step (default 1.0).
        scale_fn: a custom scale of one argument (then mode is ignored).
        scale_mode: "cycle" (default) or "iterations": what scale_fn is given.
        cycle_momentum: cycle the momentum inversely to the lr (default True).
        base_momentum, max_momentum: the momentum's range (default 0.8, 0.9).

    Example:
        >>> sched = CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=10)
    """

    def __init__(self, optimizer: Optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn=None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum=0.8, max_momentum=0.9,
                 last_epoch: int = -1):  # fmt: skip
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        name = "CyclicLR"
        base_lrs, max_lrs = (
            [check_hparam(name, what, v) for v in _per_group(f"{name}: {what}", optimizer, value)]
            for what, value in (("base_lr", base_lr), ("max_lr", max_lr))
        )
        up = float(check_hparam(name, "step_size_up", step_size_up, "(0, inf)"))
        down = up if step_size_down is None else float(
            check_hparam(name, "step_size_down", step_size_down, "[0, inf)")
        )  # fmt: skip
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(
                f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' (or give "
                f"scale_fn), got {mode!r}"
            )
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(
                f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}"
            )
        check_hparam(name, "gamma", gamma, "(0, inf)")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"CyclicLR: scale_fn must be callable, got {type(scale_fn).__name__}")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, base_ms, max_ms = _cycled_momentums(
                name, optimizer, base_momentum, max_momentum
            )
            self.base_momentums, self.max_momentums = base_ms, max_ms
        # nothing is written to the groups before every argument is checked
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
            if cycle_momentum:
                _start_momentums(optimizer, base_ms, max_ms, self.use_beta1)
        self.max_lrs = max_lrs
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        # the built-in modes fix what their scale is a function of, as torch
        self.scale_mode = scale_mode if scale_fn is not None else (
            "iterations" if mode == "exp_range" else "cycle"
        )  # fmt: skip
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The scale of the cycle's height at x (a cycle number or a step, see scale_mode)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * scale_factor * scale
               for base, top in zip(self.base_lrs, self.max_lrs)]  # fmt: skip
        if self.cycle_momentum:
            for group, m_base, m_max in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums
            ):
                _set_momentum(
                    group, m_max - (m_max - m_base) * scale_factor * scale, self.use_beta1
                )
        return lrs

    def state_dict(self) -> dict:
        """As the base class; a custom scale_fn is kept only as a callable object's attributes
        (a function or lambda is not saved, as torch)."""
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        keep = fn is not None and not isinstance(fn, types.FunctionType)
        state["_scale_fn_custom"] = fn.__dict__.copy() if keep else None
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state `state_dict()` returned; the scale_fn given at construction stays."""
        state_dict = dict(state_dict)
        fn = state_dict.pop("_scale_fn_custom", None)
        super().load_state_dict(state_dict)
        if fn is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn)
