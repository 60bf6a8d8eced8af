"""Module (parameters, buffers, children, state_dict), Parameter, and the containers.

A Module keeps three ordered stores, filled by plain attribute assignment:
`_parameters` (Parameter), `_buffers` (Tensors saved with the model but not
trained, such as BatchNorm's running statistics) and `_modules` (children).
`state_dict()` walks them in PyTorch's order, each module's parameters, then
its buffers, then its children, so the keys match PyTorch's for the same
architecture and a checkpoint moves between the two.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..backend import device as as_device
from ..creation import zeros, zeros_like
from ..tensor import Tensor, tensor, to_args

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
    "ParameterDict",
]  # fmt: skip


class Parameter(Tensor):
    """A Tensor that is a model's parameter: a Module registers it when assigned as an attribute.

    `Parameter(t)` shares `t`'s data (no copy) and requires grad by default.

    Example:
        >>> self.scale = nn.Parameter(tn.ones(4))
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = tensor([])
        elif not isinstance(data, Tensor):
            data = tensor(data)
        self._init(data.data, data.device, False, None)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict` returns: (missing_keys, unexpected_keys), printed as torch's."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys  # the older tinynet name


class RemovableHandle:
    """What register_*_hook returns: `handle.remove()` (or leaving a `with` block) unregisters."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, hook: Callable):
        self.hooks, self.id = hooks, next(RemovableHandle._ids)
        hooks[self.id] = hook

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class _HookGate(Function):
    """z = x0   (identity; the gradients of x1..xk arrive through _HookSide nodes)
    (dx0, ..., dxk) = what the module's full backward hooks make of all of them at once
    """

    @staticmethod
    def forward(ctx, state, side, *xs):
        ctx.state, ctx.side = state, side
        return xs[0]

    @staticmethod
    def backward(ctx, grad):
        return (None, None, *ctx.state.gate(ctx.side, grad))


class _HookSide(Function):
    """z = x   (identity; reports its gradient to the gate)
    dx = grad (outputs) or None (inputs: they get theirs from the gate);  dgate = 0
    """

    @staticmethod
    def forward(ctx, state, side, k, x, gate):
        ctx.state, ctx.side, ctx.k = state, side, k
        ctx.gate_shape, ctx.gate_dtype = gate.shape, dtypes.as_dtype(gate.dtype)
        return x

    @staticmethod
    def backward(ctx, grad):
        ctx.state.got[ctx.side][ctx.k] = grad
        dx = grad if ctx.side == "out" else None
        zero = zeros(*ctx.gate_shape, dtype=ctx.gate_dtype, device=ctx.device)
        return None, None, None, dx, zero


class _BackwardHooks:
    """One forward call's full backward hooks.

    A single node must see every gradient at once (a hook may replace all of
    grad_input), but a node here has one output. So each side of the module is a
    gate: input (or output) 0 passes through a _HookGate node, the others through
    _HookSide nodes that hand their gradient to the gate and send it zeros. The
    gate is made first, so it has the smaller sequence number and runs after its
    sides, holding all the gradients; the output gate runs before any node inside
    the module, the input gate after all of them.
    """

    def __init__(self, module: Module, args: tuple):
        self.module, self.n_args = module, len(args)
        self.in_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        self.got: dict[str, dict] = {"in": {}, "out": {}}
        self.grad_output: tuple = ()

    def _wrap(self, side: str, xs: list) -> list:
        gate = _HookGate.apply(self, side, *xs)
        return [gate] + [_HookSide.apply(self, side, k, x, gate) for k, x in enumerate(xs[1:], 1)]

    def wrap_inputs(self, args: tuple) -> tuple:
        if not self.in_pos:
            return args
        args = list(args)
        for i, w in zip(self.in_pos, self._wrap("in", [args[i] for i in self.in_pos])):
            args[i] = w
        return tuple(args)

    def wrap_outputs(self, out):
        single = isinstance(out, Tensor)
        outs = [out] if single else list(out) if isinstance(out, (tuple, list)) else []
        self.out_pos = [j for j, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        self.n_out = len(outs)
        if not self.out_pos:
            return out  # nothing will flow back: the hooks cannot fire (as in torch)
        for j, w in zip(self.out_pos, self._wrap("out", [outs[j] for j in self.out_pos])):
            outs[j] = w
        return outs[0] if single else type(out)(outs)

    def gate(self, side: str, grad) -> list:
        got = self.got[side]
        got[0] = grad
        if side == "out":
            grad_output = [None] * self.n_out
            for k, j in enumerate(self.out_pos):
                grad_output[j] = got.get(k)
            self.grad_output = tuple(grad_output)
            if not self.in_pos:  # no input gate will run: the hooks fire now
                self._call_hooks((None,) * self.n_args)
            return [grad] + [None] * (len(self.out_pos) - 1)
        grad_input = [None] * self.n_args
        for k, i in enumerate(self.in_pos):
            grad_input[i] = got.get(k)
        grad_input = self._call_hooks(tuple(grad_input))
        return [grad_input[i] for i in self.in_pos]

    def _call_hooks(self, grad_input: tuple) -> tuple:
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_input):
                raise RuntimeError(
                    f"full backward hook of {type(self.module).__name__} returned "
                    f"{len(result)} gradients; grad_input has {len(grad_input)}"
                )
            for new, old in zip(result, grad_input):
                if new is not None and old is not None and new.shape != old.shape:
                    raise RuntimeError(
                        f"full backward hook of {type(self.module).__name__} returned a "
                        f"gradient of shape {tuple(new.shape)} for one of shape {tuple(old.shape)}"
                    )
            grad_input = result
        return grad_input


def _addindent(s: str, n: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


def _as_state_tensor(key: str, value) -> Tensor:
    """A checkpoint value as a Tensor: a Tensor, a NumPy array, or anything with __array__."""
    if isinstance(value, Tensor):
        return value
    try:
        return tensor(np.asarray(value))
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(
            f"load_state_dict: value for {key!r} is a {type(value).__name__}, not a tensor ({e})"
        ) from None


class Module:
    """Base class of layers and models: subclass it, assign layers in `__init__`, define forward.

    Example:
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()
        # Hooks, keyed by handle id; __call__ takes the plain path while both are empty.
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        """The computation: subclasses define it; call the module, not forward."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        """forward between the hooks: `pre(module, args)` may replace the args,
        `hook(module, args, output)` the output, as in torch; full backward hooks
        wrap the tensor inputs and outputs in identity nodes (see _BackwardHooks)."""
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        bw = None
        if self._backward_hooks and is_grad_enabled():
            bw = _BackwardHooks(self, args)
            args = bw.wrap_inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out if bw is None else bw.wrap_outputs(out)

    # ----- hooks -----------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(module, args)` before each forward; a non-None result replaces `args`
        (a single value is wrapped in a tuple).

        Returns:
            A handle whose `remove()` unregisters the hook.
        """
        return RemovableHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(module, args, output)` after each forward; a non-None result replaces
        the output. Returns a handle whose `remove()` unregisters the hook.

        Example:
            >>> h = model.fc.register_forward_hook(lambda m, a, out: print(out.shape))
        """
        return RemovableHandle(self._forward_hooks, hook)

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(module, grad_input, grad_output)` when the gradients with respect to the
        module's positional inputs have been computed, as torch does.

        `grad_output` has one entry per output tensor, `grad_input` one per positional
        argument (None where it is not a tensor that requires grad). A non-None result (a
        tuple like `grad_input`) replaces the gradients passed on to the inputs. Hooks
        run in registration order, each seeing the previous one's result.

        Returns:
            A handle whose `remove()` unregisters the hook.
        """
        return RemovableHandle(self._backward_hooks, hook)

    # ----- registration --------------------------------------------------------------------
    def _check_name(self, kind: str, name: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared but absent one such as a disabled bias)."""
        self._check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(tn.nn.Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state saved in `state_dict` (if persistent) and moved by `to()`."""
        self._check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under `name`."""
        self._check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params, buffers, modules = d.get("_parameters"), d.get("_buffers"), d.get("_modules")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._discard(name, d, buffers, modules)
            self._non_persistent_buffers.discard(name)
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(tn.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._discard(name, d, params, buffers)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(Module or None expected)"
                )
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(Tensor or None expected)"
                )
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _discard(name: str, *stores) -> None:
        for store in stores:
            if store is not None and name in store:
                del store[name]

    def __getattr__(self, name: str):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            store = self.__dict__.get(key)
            if store is not None and name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__())
        for key in ("_parameters", "_buffers", "_modules"):
            keys += list(self.__dict__[key])
        return sorted(set(keys))

    # ----- traversal -----------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:  # fmt: skip
        """(name, module) for this module and every descendant, depth first, each once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from child.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, depth first, each once."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct child, each once."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        """Each direct child module, once."""
        for _, child in self.named_children():
            yield child

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]  # fmt: skip
        for mod_prefix, mod in mods:
            for name, t in mod.__dict__[store].items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield mod_prefix + ("." if mod_prefix else "") + name, t

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) for every parameter, each shared one once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (each shared one once): what an optimizer needs."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:  # fmt: skip
        """(dotted name, Tensor) for every buffer (persistent or not)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (BatchNorm's running statistics, ...)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The descendant named by a dotted path such as "features.0"."""
        mod = self
        for part in target.split(".") if target else []:
            child = mod._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule `{part}` ({target})")
            mod = child
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter named by a dotted path such as "features.0.weight"."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter `{name}` ({target})")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer named by a dotted path such as "bn.running_mean"."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._buffers:
            raise AttributeError(f"{type(mod).__name__} has no buffer `{name}` ({target})")
        return mod._buffers[name]

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call `fn` on every child (recursively), then on this module; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ----- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) here and below."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode is expected to be a bool, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode: `train(False)`."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set requires_grad on every parameter (False freezes the module); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's `.grad` (or replace it with fresh zeros)."""
        for p in self.parameters():
            if p.grad is not None:
                p.grad = None if set_to_none else zeros_like(p.grad)

    # ----- devices and dtypes -------------------------------------------------------------------
    def to(self, *args, device=None, dtype=None, non_blocking: bool = False,
           memory_format=None) -> Module:  # fmt: skip
        """Move parameters and buffers to a device and/or cast the floating ones to a dtype.

        `non_blocking` is accepted for torch's signature (copies are synchronous here).

        In place: parameters keep their identity (an optimizer built before still
        holds them). `model.to("cuda")`, `model.to(tn.float64)`, `model.to(t)`.
        `non_blocking` and `memory_format` are accepted for PyTorch compatibility.
        """
        args = tuple(a for a in args if not isinstance(a, bool))  # torch's positional non_blocking
        device, dtype = to_args(args, device, dtype)
        dev = None if device is None else as_device(device)
        dt = None if dtype is None else dtypes.as_dtype(dtype)
        if dt is not None and not dt.is_floating_point:
            raise TypeError(f"Module.to: only floating point dtypes are accepted, got {dt}")

        def convert(t: Tensor) -> None:
            moved = t
            with no_grad():
                if dev is not None and moved.device != dev:
                    moved = moved.to(dev)
                if dt is not None and moved.dtype.is_floating_point and moved.dtype != dt:
                    moved = moved.to(dt)
            if moved is not t:
                t.data, t._device = moved.data, moved.device
                t._version += 1

        for t in list(self.parameters()) + list(self.buffers()):
            convert(t)
            if t.grad is not None:
                convert(t.grad)
        return self

    def cpu(self) -> Module:
        """Move parameters and buffers to the CPU."""
        return self.to("cpu")

    def cuda(self, device: int | None = None) -> Module:
        """Move parameters and buffers to a CUDA device."""
        return self.to("cuda" if device is None else f"cuda:{device}")

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32."""
        return self.to(dtypes.float32)

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64."""
        return self.to(dtypes.float64)

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16."""
        return self.to(dtypes.float16)

    # ----- state ---------------------------------------------------------------------------
    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:  # fmt: skip
        """{dotted name: Tensor} of every parameter and persistent buffer, in PyTorch's order.

        The tensors share memory with the module (detached unless keep_vars).
        """
        dest = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                dest[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                dest[prefix + name] = b if keep_vars else b.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=dest, prefix=prefix + name + ".", keep_vars=keep_vars)
        return dest

    def load_state_dict(self, state_dict, strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:  # fmt: skip
        """Copy values from `state_dict` into the parameters and buffers, in place.

        Values may be Tensors, NumPy arrays or anything with `__array__` (torch
        tensors). Everything is checked before anything is copied: a shape
        mismatch always raises; with `strict`, so do missing and unexpected
        keys. `assign=True` is accepted (tinynet always copies into the existing
        tensors, which an optimizer may already hold).

        Returns:
            torch's named tuple `(missing_keys, unexpected_keys)`.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(
                f"load_state_dict: expected a dict of tensors, got {type(state_dict).__name__}"
            )
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, values = [], {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _as_state_tensor(key, state_dict[key])
            if tuple(value.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(value.shape)} "
                    f"from checkpoint, the shape in current model is {tuple(target.shape)}."
                )
            values[key] = value
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ".")  # fmt: skip
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ".")  # fmt: skip
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        with no_grad():
            for key, value in values.items():
                target = own[key]
                if value.device != target.device:
                    value = value.to(target.device)
                target.copy_(value)
        return _IncompatibleKeys(missing, unexpected)

    # ----- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr (layers override it)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + _addindent(repr(child), 2) for name, child in self._modules.items()
        ]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"


class Sequential(Module):
    """Modules applied in order: `Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))`.

    Children are named "0", "1", ... (or by the keys of an OrderedDict argument).
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], dict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[_index(idx, len(items))][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self))]
        self.add_module(key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        for key in keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(keys))]]:
            del self._modules[key]
        if all(k.isdigit() for k in keys):  # renumber, as torch keeps the keys 0..n-1
            values = list(self._modules.values())
            self._modules.clear()
            for i, m in enumerate(values):
                self._modules[str(i)] = m

    def append(self, module: Module) -> Sequential:
        """Add `module` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert `module` before position `index` (keys renumbered 0..n-1)."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.insert: expected a Module, got {type(module).__name__}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        values = list(self._modules.values())
        values.insert(index + n if index < 0 else index, module)
        self._modules.clear()
        for i, m in enumerate(values):
            self.add_module(str(i), m)
        return self

    def pop(self, key: int) -> Module:
        """Remove the module at position `key` and return it."""
        v = self[key]
        del self[key]
        return v

    def extend(self, modules) -> Sequential:
        """Add each module of an iterable at the end."""
        for m in modules:
            self.append(m)
        return self


def _index(idx: int, n: int) -> int:
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for a container of {n} modules")
    return idx % n


class ModuleList(Module):
    """A list of modules whose parameters the parent registers: `nn.ModuleList([...])`."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx):
        values = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(values[idx])
        return values[_index(idx, len(values))]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(_index(idx, len(self))), module)

    def __delitem__(self, idx) -> None:
        values = list(self._modules.values())
        if isinstance(idx, slice):
            del values[idx]
        else:
            del values[_index(idx, len(values))]
        self._modules.clear()  # renumber, as torch keeps the keys 0..n-1
        for i, m in enumerate(values):
            self._modules[str(i)] = m

    def __iadd__(self, modules) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add `module` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> ModuleList:
        """Add each module of an iterable at the end."""
        for m in modules:
            self.append(m)
        return self

    def pop(self, key: int) -> Module:
        """Remove the module at position `key` and return it."""
        v = self[key]
        del self[key]
        return v

    def insert(self, index: int, module: Module) -> None:
        """Insert `module` before position `index`."""
        values = list(self._modules.values())
        values.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(values):
            self.add_module(str(i), m)


class ModuleDict(Module):
    """An ordered dict of modules whose parameters the parent registers: `nn.ModuleDict({...})`.

    Example:
        >>> heads = nn.ModuleDict({"cls": nn.Linear(8, 3), "box": nn.Linear(8, 4)})
        >>> y = heads["cls"](x)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Remove every module."""
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Remove the module under `key` and return it."""
        v = self[key]
        del self[key]
        return v

    def keys(self):
        """The keys, in insertion order."""
        return self._modules.keys()

    def items(self):
        """(key, module) pairs, in insertion order."""
        return self._modules.items()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def update(self, modules) -> None:
        """Add the modules of a mapping, a ModuleDict or an iterable of (key, module) pairs."""
        if isinstance(modules, (dict, ModuleDict)) or hasattr(modules, "keys"):
            for key in modules.keys():
                self[key] = modules[key]
            return
        for j, pair in enumerate(modules):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(
                    f"ModuleDict.update: element #{j} should be a (key, module) pair, got "
                    f"{type(pair).__name__}"
                )
            self[pair[0]] = pair[1]


def _as_parameter(value):
    """torch's containers wrap plain tensors in Parameter (other values pass as they are)."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _param_repr(p) -> str:
    if not isinstance(p, Tensor):
        return f"Object of type: {type(p).__name__}"
    size = "x".join(str(n) for n in p.shape)
    kind = "Parameter containing" if isinstance(p, Parameter) else "Tensor containing"
    dev = "" if p.device.type == "cpu" else f" ({p.device})"
    return f"{kind}: [{p.dtype} of size {size}{dev}]"


class ParameterList(Module):
    """A list of parameters that a module registers: `nn.ParameterList([...])`.

    Plain tensors appended are wrapped in Parameter, as torch does.

    Example:
        >>> self.scales = nn.ParameterList([nn.Parameter(tn.ones(4)) for _ in range(3)])
    """

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _key(self, idx: int) -> str:
        return str(_index(idx, self._size))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(self._size)[idx]])
        return getattr(self, self._key(idx))

    def __setitem__(self, idx: int, param) -> None:
        setattr(self, self._key(idx), _as_parameter(param))

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        return iter(self[i] for i in range(self._size))

    def __iadd__(self, parameters) -> ParameterList:
        return self.extend(parameters)

    def append(self, value) -> ParameterList:
        """Add one parameter at the end."""
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values) -> ParameterList:
        """Add each parameter of an iterable at the end."""
        if isinstance(values, Tensor):
            raise TypeError("ParameterList.extend should be called with an iterable of tensors")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): {_param_repr(p)}" for k, p in enumerate(self))


class ParameterDict(Module):
    """An ordered dict of parameters that a module registers: `nn.ParameterDict({...})`.

    Example:
        >>> self.gains = nn.ParameterDict({"a": nn.Parameter(tn.ones(2))})
    """

    def __init__(self, parameters=None):
        super().__init__()
        self._keys: dict = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str):
        return getattr(self, key)

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {type(key).__name__}")
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __contains__(self, key) -> bool:
        return key in self._keys

    def keys(self):
        """The keys, in insertion order."""
        return self._keys.keys()

    def items(self):
        """(key, parameter) pairs, in insertion order."""
        return ((k, self[k]) for k in self._keys)

    def values(self):
        """The parameters, in insertion order."""
        return (self[k] for k in self._keys)

    def get(self, key: str, default=None):
        """The parameter under `key`, or `default`."""
        return self[key] if key in self else default

    def pop(self, key: str):
        """Remove the parameter under `key` and return it."""
        v = self[key]
        del self[key]
        return v

    def clear(self) -> None:
        """Remove every parameter."""
        for k in list(self._keys):
            del self[k]

    def update(self, parameters) -> None:
        """Add the parameters of a mapping or an iterable of (key, parameter) pairs."""
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for j, pair in enumerate(items):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(
                    f"ParameterDict.update: element #{j} should be a (key, parameter) pair"
                )
            self[pair[0]] = pair[1]

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): {_param_repr(p)}" for k, p in self.items())
