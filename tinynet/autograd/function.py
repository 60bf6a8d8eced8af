"""`Function`: the one way ops (built in or a user's) enter the graph.

A Function subclass has two static methods:

    forward(ctx, *args, **kwargs)  a user's Function (defined outside tinynet)
                                   gets Tensors, as in PyTorch, and returns a
                                   Tensor; tinynet's ops (and a user's that
                                   sets `forward_on_arrays = True`) get each
                                   Tensor argument as its `.data` and return
                                   an array
    backward(ctx, grad)            on Tensors, with tinynet ops; returns one
                                   gradient (Tensor or None) per positional
                                   argument of forward

`ctx` is the node put on the tape: `ctx.save_for_backward(...)` keeps arrays
that `ctx.saved_tensors` gives back as Tensors. `ctx.needs_input_grad` says
which gradients are wanted; any other attribute can be set on ctx.

What to save (the rule PyTorch's custom-Function guide states too): save
**inputs or the output**. They come back as the very tensors of the graph
(the output as a tensor whose node is this op), so a backward written with
tinynet ops is itself differentiable and `create_graph=True` gives correct
second derivatives. An **intermediate** (an array that is neither, such as
BatchNorm's normalised input) comes back as a graph-less constant: right for
a first derivative, wrong for a second. When double backward needs one,
recompute it from the saved inputs with tinynet ops in backward (or make it
an output of its own op). Built-in ops keep such arrays in `ctx.cache` and use
them only when `not tn.is_grad_enabled()`, i.e. outside `create_graph`; a
backward that reads a saved intermediate under `create_graph=True` gets one
warning naming its Function.

Example::

    class Square(tn.autograd.Function):
        @staticmethod
        def forward(ctx, x):          # x is an array
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):      # grad is a Tensor
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    y = Square.apply(t)
"""

from __future__ import annotations

import numpy as np

from .._grad_state import _state as _grad
from ..backend import device_of as _device_of
from ..tensor import Tensor as _Tensor
from ..tensor import _mark_view
from .engine import Node, attach
from .grad_mode import no_grad


class Function:
    """Base class of every op. Subclasses define `forward` and `backward`."""

    #: False for ops with no gradient (comparisons, argmax): they never record.
    differentiable = True
    #: Sample inputs for the generic op tests (see tinynet/ops/registry.py).
    samples = None
    #: True for view ops (reshape, permute, getitem...): when the output shares memory
    #: with input 0 it shares its version counter, and in-place ops on it write through.
    is_view = False
    #: True: forward runs on backend arrays (every built-in op). A subclass defined
    #: outside tinynet gets Tensors instead, as PyTorch's forward does, unless it sets this.
    forward_on_arrays = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward_on_arrays" not in cls.__dict__ and not cls.__module__.startswith("tinynet."):
            cls.forward_on_arrays = False

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on the arguments' arrays and, if any input needs a gradient, record."""
        device = None
        arrays = []
        wants_grad = False
        for a in args:
            if isinstance(a, _Tensor):
                d = a._device
                if device is None:
                    device = d
                elif d is not device and d != device:
                    raise RuntimeError(
                        f"{cls.__name__.lower()}: expected all tensors on the same device, "
                        f"found {device} and {d}; move one with .to()"
                    )
                arrays.append(a.data)
                if a.requires_grad:
                    wants_grad = True
                    if a._base is not None:  # a view whose base was edited in place since
                        a._refresh_view()
            else:
                arrays.append(a)
        record = wants_grad and cls.differentiable and _grad.enabled
        if record:
            needs = tuple([isinstance(a, _Tensor) and a.requires_grad for a in args])
            if len(needs) <= 4:  # one shared tuple per pattern: fewer objects per node
                needs = _NEEDS.setdefault(needs, needs)
            ctx = Node(cls, needs)
        else:
            ctx = _Ctx()
            ctx.needs_input_grad = (False,) * len(args)
        ctx.device = device
        try:
            if cls.forward_on_arrays:
                out = cls.forward(ctx, *arrays, **kwargs)
            else:
                out = _tensor_forward(cls, ctx, args, arrays, kwargs)
        except ValueError as e:  # NumPy/CuPy's broadcast error, said in tinynet's words
            if "broadcast" not in str(e) or "could not" not in str(e):
                raise
            shapes = " and ".join(str(tuple(a.shape)) for a in args if isinstance(a, _Tensor))
            raise RuntimeError(
                f"{cls.__name__.lower()}: shapes {shapes} cannot be broadcast together (each "
                "dim must match or be 1)"
            ) from None
        if isinstance(out, np.generic):  # NumPy returns scalars for 0-d results, not arrays
            scalar, out = out, np.asarray(out)
            if record and ctx.saved:  # a saved output stays the output (for double backward)
                ctx.saved = [out if item is scalar else item for item in ctx.saved]
        if ctx.out_device is not None:  # an op that moves data (ToDevice) says where
            device = ctx.out_device
        if device is None:
            device = _device_of(out)
        if record:
            attach(ctx, args, out, device)
            t = _Tensor._make(out, device, True, ctx)
            if ctx.out_data is not None:  # the op saved its output: check it by t's counter
                ctx.out_vc = t._counter()
        else:
            t = _Tensor._make(out, device, False, None)
        if arrays and (out is arrays[0] or cls.is_view) and isinstance(args[0], _Tensor):
            if out is arrays[0] or device.xp.may_share_memory(out, arrays[0]):
                _mark_view(t, args[0], cls, args[1:], kwargs)  # an alias of args[0]'s memory
        return t


def apply_untracked(cls, x, y):
    """`cls.apply(x, y)` for two Tensors on one device whose result nothing records (no_grad,
    a backward without create_graph, constants): the op's own forward on their arrays without
    apply's bookkeeping. None where apply must run instead (to report an error, or a view)."""
    ctx = _Ctx()
    ctx.device = x._device
    ctx.needs_input_grad = (False, False)
    try:
        out = cls.forward(ctx, x.data, y.data)
    except ValueError:
        return None
    if out is x.data or out is y.data:
        return None
    if isinstance(out, np.generic):  # NumPy's 0-d results are scalars
        out = np.asarray(out)
    return _Tensor._make(out, x._device, False, None)


_NEEDS: dict = {}  # the needs_input_grad tuples made so far, shared between nodes


def _tensor_forward(cls, ctx, args, arrays, kwargs):
    """Run a user's forward on untracked Tensors (as torch does, under no_grad); what it
    saves or returns goes back to arrays, so saved inputs resolve to the inputs themselves."""
    views = [
        _Tensor._make(arr, a._device, False, None) if isinstance(a, _Tensor) else arr
        for a, arr in zip(args, arrays)
    ]
    with no_grad():
        out = cls.forward(ctx, *views, **kwargs)
    if isinstance(out, _Tensor):
        out = out.data
    elif isinstance(out, (tuple, list)):
        raise TypeError(
            f"{cls.__name__}.forward returned a {type(out).__name__}; tinynet Functions "
            "return one Tensor"
        )
    if ctx.saved:
        ctx.saved = [item.data if isinstance(item, _Tensor) else item for item in ctx.saved]
    return out


class _Ctx:
    """The context of an op that records nothing: saving is a no-op."""

    saved = None
    out_device = None
    needs_input_grad = ()

    def save_for_backward(self, *items) -> None:
        pass
