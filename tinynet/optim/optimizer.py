"""Optimizer: parameter groups, per-parameter state, zero_grad, and state_dict in torch's layout.

`param_groups` is a list of dicts: each holds "params" (a list of tensors) and
its hyperparameters (lr, momentum, ...), filled from the optimizer's defaults
where a group does not set them. `state` maps each parameter to a dict of its
buffers (momentum, Adam's moments). `state_dict()` gives
`{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}`,
parameters numbered in group order, as torch does, so it can be saved with
`tn.save` and loaded into an optimizer built over the same parameters.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from .. import dtypes
from ..autograd.grad_mode import enable_grad
from ..creation import zeros_like
from ..tensor import Tensor, tensor
from .hparams import check_betas, check_hparam

__all__ = ["Optimizer"]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of the optimizers: subclasses define `step()`.

    Args:
        params: an iterable of Tensors, of (name, Tensor) pairs, or of dicts
            (parameter groups, each with "params" and its own options).
        defaults: the options of groups that do not set them.
    """

    # option name -> allowed interval, checked by the one checker (optim/hparams.py) at
    # construction, in add_param_group, in load_state_dict and before every step
    _hparams: dict[str, str] = {}

    def __init__(self, params, defaults: dict):
        self._check_group(defaults, type(self).__name__)
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or dicts, got a "
                f"Tensor of shape {tuple(params.shape)}; pass [tensor] or model.parameters()"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{type(self).__name__}: params must be an ordered collection (a list), not a "
                "set: the order numbers the parameters in state_dict"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. a smaller lr for a backbone)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: expected a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "add_param_group: params must be an ordered collection (a list), not a set: "
                "the order numbers the parameters in state_dict"
            )
        params = [p[1] if isinstance(p, tuple) else p for p in (params or [])]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{type(self).__name__} can only optimize Tensors, got {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{type(self).__name__}: can't optimize a non-leaf Tensor (shape "
                    f"{tuple(p.shape)}); optimize the leaf it was computed from"
                )
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"parameter group didn't specify a value of required option {key}")
            group.setdefault(key, default)
        self._check_group(group, f"{type(self).__name__}: param_groups[{len(self.param_groups)}]")
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            raise ValueError(f"{type(self).__name__}: a parameter group lists a parameter twice")
        for other in self.param_groups:
            if any(id(p) in ids for p in other["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (or give it fresh zeros: gradients may alias)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else zeros_like(p.grad)

    def step(self, closure: Callable[[], object] | None = None):
        raise NotImplementedError

    def _check_group(self, group: dict, owner: str) -> None:
        """Check a group's (or the defaults') options; subclasses add cross-option rules."""
        for name, interval in self._hparams.items():
            if name in group:
                check_hparam(owner, name, group[name], interval)
        if "betas" in group:
            check_betas(owner, group["betas"])

    def _params_with_grads(self) -> list[tuple[dict, list[tuple[Tensor, Tensor]]]]:
        """[(group, [(param, grad), ...]), ...] after checking every option and every gradient.

        Everything is checked before any parameter changes, so a NaN learning rate put into
        a group by hand (or by a scheduler) or one mismatched gradient leaves every
        parameter as it was. A gradient must have its parameter's shape, dtype and device:
        an update never broadcasts a gradient into a parameter.
        """
        name = type(self).__name__
        out, index = [], 0
        for i, group in enumerate(self.param_groups):
            self._check_group(group, f"{name}: param_groups[{i}]")
            pairs = []
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    if g.shape != p.shape or g.dtype != p.dtype or g.device != p.device:
                        raise RuntimeError(
                            f"{name}.step: the gradient of parameter {index} (param_groups[{i}]) "
                            f"is {tuple(g.shape)} {g.dtype} on {g.device}, but the parameter is "
                            f"{tuple(p.shape)} {p.dtype} on {p.device}; a gradient must match "
                            "its parameter's shape, dtype and device"
                        )
                    pairs.append((p, g))
                index += 1
            out.append((group, pairs))
        return out

    def _new_state(self, p: Tensor, *buffers: str, **scalars: float) -> dict:
        """The state of `p`, created on its first step as torch does: a float32 cpu `step`
        counter, then each of `scalars` as a float32 cpu scalar (NAdam's mu_product), then a
        tensor of zeros like `p` for each name in `buffers`."""
        state = self.state[p]
        if not state:
            state["step"] = tensor(0.0, dtype=dtypes.float32, device="cpu")
            for name, value in scalars.items():
                state[name] = tensor(value, dtype=dtypes.float32, device="cpu")
            for name in buffers:
                state[name] = zeros_like(p)
        return state

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ----- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {index: {name: value}}, "param_groups": [{options, "params": [index]}]}.

        The state tensors are the optimizer's own (not copies), as in torch.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and state saved by `state_dict()` (or read back by `tn.load`).

        Tensors are copied to each parameter's device (and floating ones to its
        dtype, except the step count).
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                "load_state_dict: expected a dict with 'state' and 'param_groups', as "
                "optimizer.state_dict() returns"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"load_state_dict: the state dict has {len(saved_groups)} parameter groups, the "
                f"optimizer has {len(self.param_groups)}"
            )
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"load_state_dict: parameter group {i} has {len(s['params'])} parameters in "
                    f"the state dict and {len(g['params'])} in the optimizer"
                )
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            for p, idx in zip(g["params"], s["params"]):
                id_map[int(idx)] = p
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            idx = int(key)
            if idx in id_map:
                p = id_map[idx]
                state[p] = {k: _cast_state(p, k, v) for k, v in value.items()}
        new_groups = []
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            group = {k: copy.deepcopy(v) for k, v in s.items() if k != "params"}
            if "betas" in group and isinstance(group["betas"], list):
                group["betas"] = tuple(group["betas"])
            group["params"] = g["params"]
            # a saved NaN (or negative) lr is refused here, before it reaches any parameter
            self._check_group(group, f"{type(self).__name__}.load_state_dict: param_groups[{i}]")
            new_groups.append(group)
        self.param_groups = new_groups
        self.state = state


def _cast_state(param: Tensor, key: str, value):
    """A copy of a saved state value on the parameter's device (and dtype, for float buffers).

    Arrays from elsewhere (NumPy, or torch tensors of a torch optimizer's state) become Tensors.
    """
    if not isinstance(value, Tensor):
        if hasattr(value, "__array__") and not isinstance(value, (int, float)):
            value = tensor(np.asarray(value))
        else:
            return copy.deepcopy(value)
    if key == "step":  # a count: stays a float32 scalar on the CPU, as torch keeps it
        return value.to("cpu", copy=True)
    out = value.to(param.device)
    if value.dtype.is_floating_point and param.dtype.is_floating_point:
        out = out.to(param.dtype)
    return out.clone() if out is value else out
