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
(inputs, the output, or intermediates) that `ctx.saved_tensors` gives back as
Tensors; inputs come back as the very tensors passed in, so a backward built
with `create_graph=True` is itself differentiable. `ctx.needs_input_grad`
says which gradients are wanted; any other attribute can be set on ctx.

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

from .engine import Node, attach
from .grad_mode import is_grad_enabled, no_grad


class Function:
    """Base class of every op. Subclasses define `forward` and `backward`."""

    #: False for ops with no gradient (comparisons, argmax): they never record.
    differentiable = True
    #: Sample inputs for the generic op tests (see tinynet/ops/registry.py).
    samples = None
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
                wants_grad = wants_grad or a.requires_grad
            else:
                arrays.append(a)
        record = wants_grad and cls.differentiable and is_grad_enabled()
        if record:
            ctx = Node(cls, tuple(isinstance(a, _Tensor) and a.requires_grad for a in args))
        else:
            ctx = _Ctx()
            ctx.needs_input_grad = (False,) * len(args)
        ctx.device = device
        if cls.forward_on_arrays:
            out = cls.forward(ctx, *arrays, **kwargs)
        else:
            out = _tensor_forward(cls, ctx, args, arrays, kwargs)
        if isinstance(out, np.generic):  # NumPy reductions return scalars, not 0-d arrays
            out = np.asarray(out)
        if ctx.out_device is not None:  # an op that moves data (ToDevice) says where
            device = ctx.out_device
        if device is None:
            device = _device_of(out)
        if not record:
            return _Tensor._make(out, device, False, None)
        attach(ctx, args, out, device)
        return _Tensor._make(out, device, True, ctx)


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


from ..backend import device_of as _device_of  # noqa: E402
from ..tensor import Tensor as _Tensor  # noqa: E402
