"""Tensor: a backend array plus what autograd needs (grad, requires_grad, grad_fn).

Methods only call ops (tinynet/ops); all arithmetic and its gradient live there.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import dtypes
from ._grad_state import is_grad_enabled
from .backend import Device, device_of
from .backend import device as as_device
from .backend import generator as _generator


class Tensor:
    """An n-dimensional array on a device, recorded by autograd when it requires grad."""

    __slots__ = {  # name -> its docstring (docs/api.md shows the public ones)
        "data": "The array that holds the values (NumPy or CuPy), outside autograd.",
        "_grad": None,
        "requires_grad": "Whether autograd records ops on this tensor (and backward fills .grad).",
        "grad_fn": "The Function node that made this tensor (None for a leaf).",
        "_device": None,
        "_vc": None,
        "_base": None,
        "_hooks": None,
        "__weakref__": None,
    }
    __array_priority__ = 1000  # NumPy defers `ndarray * tensor` to Tensor.__rmul__
    __array_ufunc__ = None

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        t = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self._init(t.data, t._device, requires_grad, None)

    def _init(self, data, device: Device, requires_grad: bool, grad_fn) -> None:
        self.data = data
        self._device = device
        self.requires_grad = requires_grad
        self.grad_fn = grad_fn
        self._grad = None
        self._vc = None  # the storage's version counter, made when first needed
        self._base = None  # a view: (parent tensor, view Function, its other args, kwargs)
        self._hooks = None

    @classmethod
    def _make(cls, data, device: Device, requires_grad: bool, grad_fn) -> Tensor:
        """Wrap a backend array without copying or checking (the ops' fast path)."""
        t = object.__new__(cls)
        t._init(data, device, requires_grad, grad_fn)
        return t

    # ----- metadata -----------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The size of each dimension, as a tuple of ints."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self) -> dtypes.DType:
        """The element type (a `tn.dtype` such as `tn.float32`)."""
        return dtypes.from_numpy_dtype(self.data.dtype)

    @property
    def device(self) -> Device:
        return self._device

    @property
    def is_leaf(self) -> bool:
        """Whether no recorded op made this tensor (its .grad is kept by backward)."""
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        """Whether the tensor is on a CUDA device."""
        return self._device.type == "cuda"

    def size(self, dim: int | None = None):
        """The shape as a tuple, or the length of dimension `dim` when given."""
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        """The number of dimensions (same as `ndim`)."""
        return self.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def element_size(self) -> int:
        """The size in bytes of one element."""
        return self.data.itemsize

    def nelement(self) -> int:
        """The number of elements (torch's older name for numel)."""
        return self.numel()

    def ndimension(self) -> int:
        """The number of dimensions (torch's older name for dim)."""
        return self.ndim

    def get_device(self) -> int:
        """The CUDA device index, or -1 on the CPU (as torch)."""
        return -1 if self._device.type == "cpu" else (self._device.index or 0)

    @property
    def nbytes(self) -> int:
        """The size of the data in bytes (numel * element_size)."""
        return int(self.data.nbytes)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(
            self._host(), separator=", ", precision=4, prefix="tensor(", threshold=200
        )
        extras = []
        if self._device.type != "cpu":
            extras.append(f"device='{self._device}'")
        if self.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def __hash__(self) -> int:
        return id(self)

    # ----- host access -----------------------------------------------------------------
    def _host(self) -> np.ndarray:
        return self._device.backend.to_host(self.data)

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shares memory on the CPU; copies from a GPU)."""
        if self.requires_grad:
            raise RuntimeError(
                "numpy(): the tensor requires grad; call tensor.detach().numpy() instead"
            )
        return self._host()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item(): only a tensor with one element can be converted, got shape {self.shape}"
            )
        return self._host().reshape(()).item()

    def tolist(self):
        """The data as nested Python lists (copied to the host)."""
        return self._host().tolist()

    def __array__(self, dtype=None, copy=None):
        a = np.asarray(self.data)  # raises for device arrays, as CuPy's own __array__ does
        return a if dtype is None else a.astype(dtype)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __format__(self, spec: str) -> str:
        # as torch: a 0-d tensor formats as its number, so f"{loss:.4f}" works
        if self.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __dlpack__(self, *args, **kwargs):
        """Export the data zero-copy (`torch.from_dlpack(t)`, `np.from_dlpack(t)`)."""
        if self.requires_grad:  # the consumer would silently drop the graph; torch refuses too
            raise BufferError("__dlpack__: the tensor requires grad; export tensor.detach()")
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    # ----- autograd ------------------------------------------------------------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient backward accumulated here (None until then); same shape, dtype, device."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            _check_grad(self, value, "assigned grad")
        self._grad = value

    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False):
        """Accumulate d(self)/d(leaf) * gradient into every leaf's `.grad`."""
        from .autograd import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self) -> Tensor:
        """The same data (and version counter), cut from the graph."""
        t = Tensor._make(self.data, self._device, False, None)
        t._vc = self._counter()
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError("requires_grad_(): only leaf tensors can change requires_grad")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(f"only floating point tensors can require grad, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; a return value replaces it.

        Returns a handle whose `remove()` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook(): the tensor does not require grad")
        if self.grad_fn is not None:
            if not isinstance(self.grad_fn.hooks, list):
                self.grad_fn.hooks = []
            hooks = self.grad_fn.hooks
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad(): the tensor does not require grad")
        if self.grad_fn is not None:
            self.grad_fn.retain = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """Whether backward keeps this non-leaf tensor's .grad (see retain_grad())."""
        return self.grad_fn is not None and self.grad_fn.retain is not None

    # ----- in-place ops: PyTorch's rules (docs/autograd.md, "In-place ops") ------------------
    @property
    def _version(self) -> int:
        """How many in-place edits this tensor's storage has had (shared by all its aliases)."""
        vc = self._vc
        return 0 if vc is None else vc.value

    @_version.setter
    def _version(self, value: int) -> None:
        self._counter().value = value

    def _counter(self) -> VersionCounter:
        vc = self._vc
        if vc is None:
            vc = self._vc = VersionCounter()
        return vc

    def _inplace_op(self, op: str, compute, *args, **kwargs) -> Tensor:
        """`self <- compute(self, *args, **kwargs)`, written into self's own memory.

        The result is computed out of place under the usual recording rules and
        copied into `self.data`; the storage's version counter is bumped; when the
        result was recorded, `self` is rebased onto the result's node (a view:
        its base onto a CopySlices node, and the view onto a view of the new base).
        """
        recording = is_grad_enabled()
        if not recording and op in _DIRECT and self._direct_inplace(op, args, kwargs):
            return self
        if recording:
            _check_inplace_allowed(self, op)
            if self._base is not None:
                self._refresh_view()
        out = compute(self, *args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{op}: the out-of-place op returned {type(out).__name__}")
        if out.shape != self.shape:
            raise RuntimeError(
                f"{op}: output with shape {tuple(self.shape)} doesn't match the broadcast "
                f"shape {tuple(out.shape)}"
            )
        if out.data.dtype != self.data.dtype:
            if not np.can_cast(out.data.dtype, self.data.dtype, "same_kind"):
                # as torch: `int_tensor /= 2` must not silently truncate 0.5 to 0
                raise RuntimeError(
                    f"{op}: result type {out.dtype} can't be cast to the tensor's dtype "
                    f"{self.dtype}; use an out-of-place op"
                )
            out = _ops.cast(out, self.dtype)
        record = recording and (out.requires_grad or self.requires_grad)
        if record:
            if not out.requires_grad:  # a constant result (fill_, zero_): self's gradient is 0
                out = _ops.where(Tensor._make(self._device.xp.ones(self.shape, bool),
                                              self._device, False, None), out, self)  # fmt: skip
            elif out.grad_fn is None or out is self or any(out is a for a in args):
                out = _ops.clone(out)  # the op returned an input as is: give self a node of its own
            _unsave(out.grad_fn, self)
        try:
            self.data[...] = out.data
        except ValueError:  # a read-only broadcast view (expand)
            raise RuntimeError(
                f"{op}: unsupported operation: more than one element of the written-to tensor "
                f"(shape {tuple(self.shape)}) refers to a single memory location; clone() it "
                "first"
            ) from None
        self._counter().value += 1
        if record:
            if self._base is None:
                _rebase(self, out.grad_fn)
            else:
                _copy_slices(self, out.grad_fn)
        return self

    def _direct_inplace(self, op: str, args: tuple, kwargs: dict) -> bool:
        """`self <- self + other * alpha` (or -, *, /; or addcmul_/addcdiv_'s
        `self + value * t1 * t2`) as ufunc calls into self's memory: no result copied in.

        The fast path of `_inplace_op` under no_grad (an optimizer's update, weight init),
        taken only where it rounds as the general path does: a float tensor, with tensors
        of its dtype and device that broadcast to its shape and do not overlap it, or a
        finite Python number it can hold. Returns False, having done nothing, otherwise.
        """
        data, ufunc = self.data, _DIRECT[op]
        if data.dtype.kind != "f":
            return False
        if op in ("addcmul_", "addcdiv_"):
            value = kwargs.get("value", 1)
            if len(args) != 2 or set(kwargs) - {"value"} or type(value) not in (int, float):
                return False
            t1, t2 = (self._direct_operand(t) for t in args)
            if t1 is None or t2 is None:
                return False
            o = t1 if value == 1 else t1 * value
            o = o * t2 if op == "addcmul_" else o / t2
        else:
            alpha = kwargs.get("alpha", 1)
            allowed = ("alpha",) if ufunc in ("add", "subtract") else ()
            if len(args) != 1 or set(kwargs) - set(allowed) or type(alpha) not in (int, float):
                return False
            other = args[0]
            if isinstance(other, Tensor):
                o = self._direct_operand(other)
                if o is None:
                    return False
                if alpha != 1:
                    o = o * alpha
            elif type(other) in (int, float) and alpha == 1:
                if not abs(other) <= float(np.finfo(data.dtype).max):  # NaN too: general path
                    return False
                o = other
            else:
                return False
        try:
            getattr(self._device.xp, ufunc)(data, o, out=data)
        except ValueError:  # a read-only view (expand): the general path says why
            return False
        self._counter().value += 1
        return True

    def _direct_operand(self, t):
        """t's array for `_direct_inplace`, or None where the general path must run."""
        if (
            not isinstance(t, Tensor)
            or t.data.dtype != self.data.dtype
            or t._device != self._device
        ):
            return None
        o, data = t.data, self.data
        if self._device.xp.may_share_memory(data, o):  # CuPy's ufuncs do not handle overlap
            return None
        if o.shape != data.shape and np.broadcast_shapes(o.shape, data.shape) != data.shape:
            return None
        return o

    def _refresh_view(self) -> None:
        """Re-derive a view's node from its base after the base was edited in place."""
        info = self._base
        version = self._version
        if info.version == version:
            return
        info.version = version
        root, chain = self._view_chain()
        if root.requires_grad and is_grad_enabled():
            v = _replay(root, chain)
            self.grad_fn, self.requires_grad = v.grad_fn, v.requires_grad

    def _view_chain(self) -> tuple:
        """(the tensor that owns the memory, the view ops from it to self, in order)."""
        chain, t = [], self
        while t._base is not None:
            chain.append(t._base)
            t = t._base.parent
        return t, chain[::-1]

    def _inplace(self, op: str, fn, other=None) -> Tensor:
        """`self.data[...] = fn(self.data, other)` with no gradient formula (random fills)."""
        if is_grad_enabled() and (
            self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)
        ):
            _check_inplace_allowed(self, op)
            raise RuntimeError(
                f"{op}: has no gradient formula for a tensor that requires grad; run it under "
                "`with tn.no_grad():` or use an out-of-place op"
            )
        if isinstance(other, Tensor):
            if other._device != self._device:
                raise RuntimeError(
                    f"{op}: tensors on different devices ({self._device} and {other._device})"
                )
            other = other.data
        result = fn(self.data, other)
        if result.shape != self.shape:
            raise RuntimeError(
                f"{op}: result of shape {result.shape} does not fit in place into {self.shape}"
            )
        self.data[...] = result
        self._counter().value += 1
        return self

    def __iadd__(self, other):
        return self._inplace_op("+=", Tensor.__add__, other)

    def __isub__(self, other):
        return self._inplace_op("-=", Tensor.__sub__, other)

    def __imul__(self, other):
        return self._inplace_op("*=", Tensor.__mul__, other)

    def __itruediv__(self, other):
        return self._inplace_op("/=", Tensor.__truediv__, other)

    def __ipow__(self, other):
        return self._inplace_op("**=", Tensor.__pow__, other)

    def __iand__(self, other):
        return self._inplace_op("&=", Tensor.__and__, other)

    def __ior__(self, other):
        return self._inplace_op("|=", Tensor.__or__, other)

    def __ixor__(self, other):
        return self._inplace_op("^=", Tensor.__xor__, other)

    def index_put(self, indices, values, accumulate: bool = False):
        """A copy with `values` put at `indices` (a tuple of index tensors); see index_put_."""
        return _ops.inplace.index_put(self, indices, values, accumulate)

    def copy_(self, src, non_blocking: bool = False):
        """Copy `src` (broadcast, cast and moved as needed) into self; gradient flows to src."""
        return self._inplace_op("copy_", _copied, src)

    def zero_(self):
        """Fill with zeros in place."""
        return self._inplace_op("zero_", _filled, 0)

    def fill_(self, value):
        """Fill with `value` (a number or a 0-d tensor) in place."""
        if not isinstance(value, Tensor):
            if not isinstance(value, (int, float, np.number, np.bool_)):
                raise TypeError(
                    f"fill_: value must be a number or a 0-d Tensor, got {type(value).__name__}"
                )
            dtypes.check_scalar_fits(value, self.dtype, "fill_")  # ints never wrap
        return self._inplace_op("fill_", _filled, value)

    def uniform_(self, a=0.0, b=1.0, generator=None):
        """Fill with numbers drawn uniformly from [a, b), in place."""
        gen = _generator(self._device, generator)
        return self._inplace(
            "uniform_", lambda x, _: (gen.random(x.shape) * (b - a) + a).astype(x.dtype)
        )

    def normal_(self, mean=0.0, std=1.0, generator=None):
        """Fill with numbers drawn from N(mean, std**2), in place."""
        gen = _generator(self._device, generator)
        return self._inplace(
            "normal_", lambda x, _: (gen.standard_normal(x.shape) * std + mean).astype(x.dtype)
        )

    def __setitem__(self, index, value):
        plan = _ops.indexing.plan_index(index, self._device)
        if is_grad_enabled() and (
            self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
        ):
            if plan.adv is None:  # a basic index is a view: copy_ into it rebases self
                self[index].copy_(value)
            else:  # index arrays: self is rebased onto IndexPut
                self._inplace_op("__setitem__", _ops.inplace._put_planned, plan, value)
            return
        if isinstance(value, Tensor):
            value = value.data
        plan.assign(self.data, value)  # in two steps where torch and NumPy differ
        self._counter().value += 1

    # ----- operators -----------------------------------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __eq__(self, other):
        return _ops.eq(self, other)

    def __ne__(self, other):
        return _ops.ne(self, other)

    def __lt__(self, other):
        return _ops.lt(self, other)

    def __le__(self, other):
        return _ops.le(self, other)

    def __gt__(self, other):
        return _ops.gt(self, other)

    def __ge__(self, other):
        return _ops.ge(self, other)

    def __invert__(self):
        return _ops.logical_not(self)

    def __and__(self, other):
        return _ops.logical_and(self, other)

    def __or__(self, other):
        return _ops.logical_or(self, other)

    def __xor__(self, other):
        return _ops.logical_xor(self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # ----- methods: each is an op ---------------------------------------------------------
    def sum(self, dim=None, keepdim=False, dtype=None):
        return _ops.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim=False):
        return _ops.mean(self, dim, keepdim)

    def var(self, dim=None, unbiased=True, keepdim=False, correction=None):
        return _ops.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=True, keepdim=False):
        return _ops.std(self, dim, unbiased, keepdim)

    def max(self, dim=None, keepdim=False):
        return _ops.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return _ops.min(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _ops.argmin(self, dim, keepdim)

    def logsumexp(self, dim, keepdim=False):
        return _ops.logsumexp(self, dim, keepdim)

    def softmax(self, dim):
        return _ops.softmax(self, dim)

    def log_softmax(self, dim):
        return _ops.log_softmax(self, dim)

    def all(self, dim=None, keepdim=False):
        return _ops.all(self, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return _ops.any(self, dim, keepdim)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def clamp(self, min=None, max=None):
        return _ops.clamp(self, min, max)

    clip = clamp

    def pow(self, exponent):
        return _ops.pow(self, exponent)

    def reshape(self, *shape):
        return _ops.reshape(self, *shape)

    def view(self, *shape):
        return _ops.view(self, *shape)

    def view_as(self, other):
        """A view of this tensor with `other`'s shape (as `view(other.shape)`)."""
        return _ops.view(self, other.shape)

    def reshape_as(self, other):
        """This tensor reshaped to `other`'s shape (as `reshape(other.shape)`)."""
        return _ops.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        return _ops.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return _ops.permute(self, *dims)

    @property
    def T(self):
        """This tensor with its dimensions reversed (the transpose of a 2-D tensor)."""
        return _ops.permute(self, *reversed(range(self.ndim)))

    def t(self):
        return _ops.t(self)

    def unsqueeze(self, dim):
        return _ops.unsqueeze(self, dim)

    def squeeze(self, dim=None):
        return _ops.squeeze(self, dim)

    def expand(self, *shape):
        return _ops.expand(self, *shape)

    def broadcast_to(self, size):
        return _ops.broadcast_to(self, size)

    @property
    def mT(self):
        """The last two dims swapped (a batch of matrices transposed)."""
        return _ops.transpose(self, -2, -1)

    def movedim(self, source, destination):
        return _ops.movedim(self, source, destination)

    moveaxis = movedim

    def swapaxes(self, axis0, axis1):
        return _ops.transpose(self, axis0, axis1)

    swapdims = swapaxes

    def unflatten(self, dim, sizes):
        return _ops.unflatten(self, dim, sizes)

    def tile(self, dims):
        return _ops.tile(self, dims)

    def outer(self, vec2):
        return _ops.outer(self, vec2)

    def repeat_interleave(self, repeats, dim=None):
        return _ops.repeat_interleave(self, repeats, dim)

    def masked_select(self, mask):
        return _ops.masked_select(self, mask)

    def tril(self, diagonal=0):
        return _ops.tril(self, diagonal)

    def triu(self, diagonal=0):
        return _ops.triu(self, diagonal)

    def expand_as(self, other):
        """A broadcast view of this tensor with `other`'s shape (as `expand(other.shape)`)."""
        return _ops.expand(self, other.shape)

    def contiguous(self):
        return _ops.contiguous(self)

    def clone(self):
        return _ops.clone(self)

    def masked_fill(self, mask, value):
        return _ops.masked_fill(self, mask, value)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values (see `tn.unique`)."""
        return _ops.unique(self, sorted, return_inverse, return_counts, dim)

    def bincount(self, weights=None, minlength=0):
        return _ops.bincount(self, weights, minlength)

    def count_nonzero(self, dim=None):
        return _ops.count_nonzero(self, dim)

    def nonzero(self, *, as_tuple=False):
        """The indices of the non-zero elements (see `tn.nonzero`)."""
        return _ops.nonzero(self, as_tuple=as_tuple)

    def gather(self, dim, index):
        return _ops.gather(self, dim, index)

    def is_contiguous(self) -> bool:
        """Whether the data is laid out C-contiguous in memory."""
        return bool(self.data.flags.c_contiguous)

    # ----- methods: math and comparisons (porting helper) -------------------------------
    def add(self, other, alpha=1):
        return _ops.add(self, other, alpha=alpha)

    def sub(self, other, alpha=1):
        return _ops.sub(self, other, alpha=alpha)

    subtract = sub

    def mul(self, other):
        return _ops.mul(self, other)

    multiply = mul

    def div(self, other, rounding_mode=None):
        return _ops.div(self, other, rounding_mode=rounding_mode)

    divide = div

    def true_divide(self, other):
        return _ops.div(self, other)

    def floor_divide(self, other):
        return _ops.floor_divide(self, other)

    def remainder(self, other):
        return _ops.remainder(self, other)

    def diag(self, diagonal=0):
        return _ops.diag(self, diagonal)

    def median(self, dim=None, keepdim=False):
        return _ops.median(self, dim, keepdim)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return _ops.multinomial(self, num_samples, replacement, generator=generator)

    def fmod(self, other):
        return _ops.fmod(self, other)

    def atan2(self, other):
        return _ops.atan2(self, other)

    arctan2 = atan2

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __mod__(self, other):
        return _ops.remainder(self, other)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def neg(self):
        return _ops.neg(self)

    negative = neg

    def positive(self):
        """This tensor itself (unary plus, as torch.positive)."""
        return self

    absolute = abs

    def square(self):
        return _ops.square(self)

    def rsqrt(self):
        return _ops.rsqrt(self)

    def reciprocal(self):
        return _ops.reciprocal(self)

    def log1p(self):
        return _ops.log1p(self)

    def expm1(self):
        return _ops.expm1(self)

    def log2(self):
        return _ops.log2(self)

    def log10(self):
        return _ops.log10(self)

    def sin(self):
        return _ops.sin(self)

    def cos(self):
        return _ops.cos(self)

    def tan(self):
        return _ops.tan(self)

    def atan(self):
        return _ops.atan(self)

    arctan = atan

    def erf(self):
        return _ops.erf(self)

    def sign(self):
        return _ops.sign(self)

    sgn = sign

    def floor(self):
        return _ops.floor(self)

    def ceil(self):
        return _ops.ceil(self)

    def trunc(self):
        return _ops.trunc(self)

    fix = trunc

    def round(self, decimals=0):
        return _ops.round(self, decimals)

    def frac(self):
        return _ops.frac(self)

    def lerp(self, end, weight):
        return _ops.lerp(self, end, weight)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return _ops.nan_to_num(self, nan, posinf, neginf)

    def isnan(self):
        return _ops.isnan(self)

    def isinf(self):
        return _ops.isinf(self)

    def isfinite(self):
        return _ops.isfinite(self)

    def maximum(self, other):
        return _ops.maximum(self, other)

    def minimum(self, other):
        return _ops.minimum(self, other)

    def clamp_min(self, min):
        return _ops.clamp(self, min, None)

    def clamp_max(self, max):
        return _ops.clamp(self, None, max)

    def prod(self, dim=None, keepdim=False, dtype=None):
        return _ops.prod(self, dim, keepdim, dtype=dtype)

    def amax(self, dim=None, keepdim=False):
        return _ops.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return _ops.amin(self, dim, keepdim)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def _fixed_rank_matmul(self, op: str, other, ndims: tuple, want: str):
        """matmul for mm, mv and dot, which take only the ranks `ndims` (torch: no broadcast)."""
        if (self.ndim, getattr(other, "ndim", None)) != ndims:
            raise RuntimeError(
                f"{op}: {want}, got {self.shape} and {getattr(other, 'shape', other)}"
            )
        return _ops.matmul(self, other)

    def mm(self, mat2):
        return self._fixed_rank_matmul("mm", mat2, (2, 2), "both arguments must be 2-D")

    def mv(self, vec):
        return self._fixed_rank_matmul("mv", vec, (2, 1), "expected a 2-D matrix and a 1-D vector")

    def dot(self, other):
        return self._fixed_rank_matmul("dot", other, (1, 1), "both arguments must be 1-D")

    def eq(self, other):
        return _ops.eq(self, other)

    def ne(self, other):
        return _ops.ne(self, other)

    def lt(self, other):
        return _ops.lt(self, other)

    def le(self, other):
        return _ops.le(self, other)

    def gt(self, other):
        return _ops.gt(self, other)

    def ge(self, other):
        return _ops.ge(self, other)

    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge

    def logical_not(self):
        return _ops.logical_not(self)

    def logical_and(self, other):
        return _ops.logical_and(self, other)

    def logical_or(self, other):
        return _ops.logical_or(self, other)

    def logical_xor(self, other):
        return _ops.logical_xor(self, other)

    def where(self, condition, y):
        """`self` where condition is True, else y (torch's `x.where(condition, y)`)."""
        return _ops.where(condition, self, y)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return _ops.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other) -> bool:
        return _ops.equal(self, other)

    def type_as(self, other):
        """This tensor cast to `other`'s dtype (itself when it already has it)."""
        return self.to(other.dtype)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A new tensor from `data`, with this tensor's dtype and device unless given."""
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)  # fmt: skip

    def _new_filled(self, op, size, fill, dtype, device, requires_grad):
        shape = _ops._args._size(size, op)
        dt = dtypes.as_dtype(dtype) if dtype is not None else self.dtype
        if fill is not None:
            dtypes.check_scalar_fits(fill, dt, op)
        dev = as_device(device) if device is not None else self._device
        xp = dev.xp
        data = xp.empty(shape, dt.np) if fill is None else xp.full(shape, fill, dt.np)
        t = Tensor._make(data, dev, False, None)
        return t.requires_grad_(True) if requires_grad else t

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """A tensor of zeros of `size`, with this tensor's dtype and device unless given."""
        return self._new_filled("new_zeros", size, 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """A tensor of ones of `size`, with this tensor's dtype and device unless given."""
        return self._new_filled("new_ones", size, 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """An uninitialised tensor of `size`, with this tensor's dtype and device unless given."""
        return self._new_filled("new_empty", size, None, dtype, device, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        """A tensor of `size` filled with `fill_value`, with this dtype and device unless given."""
        size = tuple(size) if isinstance(size, (tuple, list)) else (size,)
        return self._new_filled("new_full", size, fill_value, dtype, device, requires_grad)

    # ----- methods: indexing, sorting, scans, linalg (ops helper) -------------------------
    def index_select(self, dim, index):
        return _ops.index_select(self, dim, index)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        return _ops.scatter(self, dim, index, src, value, reduce=reduce)

    def scatter_add(self, dim, index, src):
        return _ops.scatter_add(self, dim, index, src)

    def sort(self, dim=-1, descending=False, stable=False):
        return _ops.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _ops.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _ops.topk(self, k, dim, largest, sorted)

    def split(self, split_size, dim=0):
        return _ops.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return _ops.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return _ops.unbind(self, dim)

    def narrow(self, dim, start, length):
        return _ops.narrow(self, dim, start, length)

    def flip(self, dims, *more):
        return _ops.flip(self, dims, *more)

    def roll(self, shifts, dims=None):
        return _ops.roll(self, shifts, dims)

    def repeat(self, *sizes):
        """The tensor tiled `sizes[i]` times along each dimension (a copy, as torch's repeat)."""
        return _ops.repeat(self, *sizes)

    def unfold(self, dimension, size, step):
        """A view of every `size`-long slice along `dimension`, `step` apart, as a new last dim."""
        return _ops.unfold(self, dimension, size, step)

    def cumsum(self, dim, dtype=None):
        return _ops.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim, dtype=None):
        return _ops.cumprod(self, dim, dtype=dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return _ops.norm(self, p, dim, keepdim, dtype=dtype)

    def bmm(self, mat2):
        return _ops.bmm(self, mat2)

    # ----- conversion ----------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False,
           memory_format=None):  # fmt: skip
        """`to("cuda")`, `to(tn.float64)`, `to("cpu", tn.float16)`, `to(other_tensor)`.

        `non_blocking` and `memory_format` are accepted for torch's signature: copies are
        synchronous and tensors are always row-major here.
        """
        device, dtype = to_args(args, device, dtype)
        out = self
        if device is not None:
            out = _ops.to_device(out, as_device(device))
        if dtype is not None:
            out = _ops.cast(out, dtypes.as_dtype(dtype))
        if copy and out is self:
            out = _ops.clone(self)
        return out

    def cpu(self):
        """This tensor on the cpu device (itself when already there)."""
        return self.to("cpu")

    def cuda(self, device=None):
        """This tensor on the GPU `device` (cuda:0 by default; itself when already there)."""
        return self.to("cuda" if device is None else f"cuda:{device}")

    def type(self, dtype=None):
        """`type(tn.float64)` converts; `type()` names the type, e.g. "tinynet.FloatTensor"."""
        if dtype is None:
            return f"tinynet.{_TYPE_NAMES[self.dtype.name]}Tensor"
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            names = {f"tinynet.{v}Tensor": k for k, v in _TYPE_NAMES.items()}
            names.update({f"torch.{v}Tensor": k for k, v in _TYPE_NAMES.items()})
            if dtype not in names:
                raise TypeError(f"type(): unknown tensor type {dtype!r}")
            dtype = names[dtype]
        return self.to(dtype=dtypes.as_dtype(dtype))

    def float(self):
        """This tensor cast to float32 (itself when it already is)."""
        return self.to(dtypes.float32)

    def double(self):
        """This tensor cast to float64 (itself when it already is)."""
        return self.to(dtypes.float64)

    def half(self):
        """This tensor cast to float16 (itself when it already is)."""
        return self.to(dtypes.float16)

    def long(self):
        """This tensor cast to int64 (itself when it already is)."""
        return self.to(dtypes.int64)

    def int(self):
        """This tensor cast to int32 (itself when it already is)."""
        return self.to(dtypes.int32)

    def bool(self):
        """This tensor cast to bool (itself when it already is)."""
        return self.to(dtypes.bool_)

    def short(self):
        """This tensor cast to int16 (itself when it already is)."""
        return self.to(dtypes.int16)

    def byte(self):
        """This tensor cast to uint8."""
        return self.to(dtypes.uint8)

    def char(self):
        """This tensor cast to int8."""
        return self.to(dtypes.int8)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point


_TYPE_NAMES = {
    "bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
    "int64": "Long", "float16": "Half", "float32": "Float", "float64": "Double",
}  # fmt: skip


def _check_grad(t: Tensor, g, what: str) -> None:
    """Refuse a gradient that does not fit `t` (as torch checks `.grad` assignment)."""
    if not isinstance(g, Tensor):
        raise TypeError(f"{what}: expected a Tensor or None, got {type(g).__name__}")
    if g.shape != t.shape:
        raise RuntimeError(
            f"{what}: has shape {tuple(g.shape)} but the tensor has shape {tuple(t.shape)}"
        )
    if g.data.dtype != t.data.dtype:
        raise RuntimeError(f"{what}: has dtype {g.dtype} but the tensor has dtype {t.dtype}")
    if g._device != t._device:
        raise RuntimeError(
            f"{what}: is on device {g.device} but the tensor is on device {t.device}"
        )


class VersionCounter:
    """How many in-place edits one storage has had: shared by every alias of that storage.

    Views (view ops' outputs), `detach()` and `state_dict()` tensors share their
    source's counter; an in-place op bumps it; a node that saved a tensor
    compares the counter with the value it saw at save time (docs/reliability.md).
    """

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class _ViewInfo:
    """What makes a tensor a view: its parent and the view op (to replay on a new base)."""

    __slots__ = ("parent", "fn", "args", "kwargs", "version")

    def __init__(self, parent: Tensor, fn, args: tuple, kwargs: dict, version: int):
        self.parent, self.fn, self.args, self.kwargs = parent, fn, args, kwargs
        self.version = version  # the counter's value when the view's grad_fn was derived


def _mark_view(t: Tensor, parent: Tensor, fn, args: tuple, kwargs: dict) -> None:
    """Make `t` (the output of view op `fn` on `parent`) an alias of parent's storage."""
    vc = t._vc = parent._counter()
    t._base = _ViewInfo(parent, fn, args, kwargs, vc.value)


def _replay(root: Tensor, chain: list) -> Tensor:
    """The view `chain` (a list of _ViewInfo) applied again to `root`."""
    for info in chain:
        root = info.fn.apply(root, *info.args, **info.kwargs)
    return root


def _check_inplace_allowed(t: Tensor, op: str) -> None:
    """PyTorch's refusals for an in-place op while recording: on a leaf, or a view of one."""
    if t.requires_grad and t.grad_fn is None:
        raise RuntimeError(
            f"{op}: a leaf Variable that requires grad (shape {tuple(t.shape)}) is being used in "
            "an in-place operation; update it under `with tn.no_grad():` (as optimizers do) "
            "or work on a clone()"
        )
    if t._base is not None:
        root = t._view_chain()[0]
        if root.requires_grad and root.grad_fn is None:
            raise RuntimeError(
                f"{op}: a view of a leaf Variable that requires grad (shape "
                f"{tuple(root.shape)}) is being used in an in-place operation; update it "
                "under `with tn.no_grad():` or work on a clone()"
            )


def _unsave(node, t: Tensor) -> None:
    """`node` saved `t` (or an alias) as an input, and t is about to be overwritten: save a copy."""
    if not node.saved:
        return
    vc = t._vc
    saved, versions = list(node.saved), list(node.versions)
    for i, (s, version) in enumerate(zip(saved, versions)):
        if version is not None and (s is t or (vc is not None and s._vc is vc)):
            saved[i] = Tensor._make(s.data.copy(), s._device, s.requires_grad, s.grad_fn)
            versions[i] = 0
    node.saved, node.versions = tuple(saved), tuple(versions)


def _adopt_output(node, t: Tensor) -> None:
    """`t` now holds `node`'s output: a saved output is t's memory, checked by t's counter."""
    if node.out_data is not None:
        node.out_data = t.data
        node.out_vc = t._counter()
        node.out_version = node.out_vc.value


def _rebase(t: Tensor, node) -> None:
    """After an in-place op, `t` is the output of `node` (the op's out-of-place Function)."""
    old = t.grad_fn
    if old is not None and old.retain is not None and old.retain() is t:
        node.retain, old.retain = old.retain, None  # retain_grad() follows the tensor, as torch
    _adopt_output(node, t)
    t.grad_fn, t.requires_grad = node, True


def _copy_slices(t: Tensor, node) -> None:
    """After an in-place op on view `t`: its base onto CopySlices, and t onto a view of that."""
    root, chain = t._view_chain()
    old = Tensor._make(root.data, root._device, root.requires_grad, root.grad_fn)
    src = Tensor._make(t.data, t._device, True, node)
    new = _ops.inplace.CopySlices.apply(old, src, chain)
    _adopt_output(node, t)
    root.grad_fn, root.requires_grad = new.grad_fn, True
    v = _replay(root, chain)
    t.grad_fn, t.requires_grad = v.grad_fn, True
    t._base.version = t._version


def _copied(self: Tensor, src) -> Tensor:
    """copy_'s out-of-place result: `src` moved, cast and broadcast to self."""
    if not isinstance(src, Tensor):
        src = tensor(src, dtype=self.dtype, device=self._device)
    if src._device != self._device:
        src = src.to(self._device)
    if src.data.dtype != self.data.dtype:
        src = src.to(self.dtype)
    if src.shape != self.shape:
        try:
            fits = np.broadcast_shapes(src.shape, self.shape) == tuple(self.shape)
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(
                f"copy_: a source of shape {tuple(src.shape)} does not broadcast to "
                f"{tuple(self.shape)}"
            )
        src = src.expand(*self.shape)
    return src


def _filled(self: Tensor, value) -> Tensor:
    """fill_'s out-of-place result: a number (a constant) or a 0-d tensor (broadcast)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"fill_: only supports a 0-dimension value tensor, got shape {tuple(value.shape)}"
            )
        return _copied(self, value)
    data = self._device.xp.full(self.shape, value, dtype=self.data.dtype)
    return Tensor._make(data, self._device, False, None)


def _div(self: Tensor, other, rounding_mode=None) -> Tensor:
    if rounding_mode is not None:
        raise NotImplementedError(f"div_: rounding_mode={rounding_mode!r} is not supported")
    return self / other


# Torch's Tensor methods with an in-place `name_` form. Each `name_` whose out-of-place
# `name` exists (or has a fallback below) is bound at import, unless Tensor spells it out.
INPLACE_METHODS = (
    "abs", "absolute", "acos", "arccos", "acosh", "arccosh", "add", "addbmm", "addcdiv",
    "addcmul", "addmm", "addmv", "addr", "asin", "arcsin", "asinh", "arcsinh", "atan",
    "arctan", "atan2", "arctan2", "atanh", "arctanh", "baddbmm", "bitwise_and", "bitwise_not",
    "bitwise_or", "bitwise_xor", "ceil", "clamp", "clamp_max", "clamp_min", "clip", "copysign",
    "cos", "cosh", "cumprod", "cumsum", "deg2rad", "digamma", "div", "divide", "eq", "erf",
    "erfc", "erfinv", "exp", "exp2", "expm1", "fix", "float_power", "floor", "floor_divide",
    "fmod", "frac", "gcd", "ge", "greater", "greater_equal", "gt", "heaviside", "hypot", "i0",
    "index_add", "index_copy", "index_fill", "index_put", "lcm", "ldexp", "le", "lerp",
    "less", "less_equal", "lgamma", "log", "log10", "log1p", "log2", "logical_and",
    "logical_not", "logical_or", "logical_xor", "logit", "lt", "masked_fill", "masked_scatter",
    "mul", "multiply", "mvlgamma", "nan_to_num", "ne", "neg", "negative", "not_equal", "pow",
    "rad2deg", "reciprocal", "relu", "remainder", "renorm", "round", "rsqrt", "scatter",
    "scatter_add", "scatter_reduce", "sgn", "sigmoid", "sign", "sin", "sinc", "sinh", "sqrt",
    "square", "sub", "subtract", "tan", "tanh", "tril", "triu", "true_divide", "trunc", "xlogy",
)  # fmt: skip

_FALLBACKS = {
    "add": lambda self, other, alpha=1: self + (other if alpha == 1 else other * alpha),
    "sub": lambda self, other, alpha=1: self - (other if alpha == 1 else other * alpha),
    "mul": Tensor.__mul__,
    "div": _div,
    "pow": Tensor.__pow__,
    "neg": Tensor.__neg__,
    "addcmul": lambda self, t1, t2, value=1: self + (t1 * t2 if value == 1 else value * t1 * t2),
    "addcdiv": lambda self, t1, t2, value=1: self + (t1 / t2 if value == 1 else value * t1 / t2),
}


# In-place arithmetic that `_direct_inplace` runs as one ufunc into self under no_grad.
_DIRECT = {"add_": "add", "+=": "add", "sub_": "subtract", "-=": "subtract", "mul_": "multiply",
           "*=": "multiply", "div_": "true_divide", "/=": "true_divide", "addcmul_": "add",
           "addcdiv_": "add"}  # fmt: skip


def _inplace_method(name: str, compute):
    op = name + "_"

    def method(self, *args, **kwargs):
        return self._inplace_op(op, compute, *args, **kwargs)

    method.__name__ = method.__qualname__ = op
    method.__doc__ = f"In place: self <- self.{name}(...), under PyTorch's in-place rules."
    return method


def _bind_inplace_methods() -> None:
    for name in INPLACE_METHODS:
        if name + "_" not in Tensor.__dict__:
            fn = getattr(Tensor, name, None) or _FALLBACKS.get(name)
            if fn is not None:
                setattr(Tensor, name + "_", _inplace_method(name, fn))


_bind_inplace_methods()


class _HookHandle:
    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        for i, h in enumerate(self._hooks):  # by identity: the same fn may be registered twice
            if h is self._hook:
                del self._hooks[i]
                return


def to_args(args, device, dtype):
    """(device, dtype) from `.to(...)`'s positional arguments: a device (or its name), a
    dtype, or a tensor whose device and dtype to take; keywords fill what args do not."""
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (str, Device)):
            device = a
        else:
            dtype = a
    return device, dtype


# ----- construction -----------------------------------------------------------------


def _to_array(data, dtype: dtypes.DType | None, device: Device | None):
    """An array on `device` from Python data, a NumPy/CuPy array or a Tensor (always a copy)."""
    if isinstance(data, Tensor):
        src_dev = data.device
        arr = data.data
        dev = device or src_dev
        if dev != src_dev:
            arr = dev.backend.from_host(src_dev.backend.to_host(arr), dev.index)
        else:
            arr = arr.copy()
        return arr.astype(dtype.np, copy=False) if dtype is not None else arr, dev
    if isinstance(data, np.ndarray) or np.isscalar(data) or isinstance(data, (list, tuple)):
        if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
            data = [v.tolist() if isinstance(v, Tensor) else v for v in data]
        from_numpy_data = isinstance(data, (np.ndarray, np.generic))
        host = np.array(data) if from_numpy_data else _python_array(data)
        if dtype is None:
            if from_numpy_data:
                dtype = dtypes.as_dtype(host.dtype)
            elif host.dtype.kind == "f":
                dtype = dtypes.get_default_dtype()
            else:
                dtype = dtypes.as_dtype(host.dtype)
        _check_fits(host, dtype)
        host = host.astype(dtype.np, copy=False)
        dev = device or as_device(None)
        # asarray(order="C"), not ascontiguousarray: that one turns 0-d arrays into 1-d
        return dev.backend.from_host(np.asarray(host, order="C"), dev.index), dev
    # a device array (CuPy): stay on its device unless asked otherwise
    try:
        src_dev = device_of(data)
    except TypeError:
        raise TypeError(
            f"tensor: cannot make a tensor from a {type(data).__name__}; give a number, "
            "nested lists, a NumPy or CuPy array, or a Tensor"
        ) from None
    dev = device or src_dev
    if dev != src_dev:
        data_on_dev = dev.backend.from_host(src_dev.backend.to_host(data), dev.index)
    else:
        data_on_dev = data
    arr = data_on_dev
    arr = arr.copy() if arr is data else arr
    if dtype is not None:
        arr = arr.astype(dtype.np, copy=False)
    elif arr.dtype not in (d.np for d in dtypes.ALL):
        arr = arr.astype(dtypes.as_dtype(arr.dtype).np)
    return arr, dev


def _python_array(data) -> np.ndarray:
    """np.array of Python data, refusing ints beyond int64 (NumPy would make them uint64,
    which wraps to negative values, or objects)."""
    try:
        host = np.array(data)
    except ValueError:  # ragged nesting
        raise ValueError(
            "tensor: nested lists must be rectangular (every row of one length), got "
            + repr(data)[:120]
        ) from None
    # NumPy makes uint64, objects or floats of an int >= 2**63 (or < -2**63): find and refuse it
    kind = host.dtype.kind
    if kind in "uO" or (kind == "f" and host.size and float(np.abs(host).max()) >= 2.0**63):
        flat = list(_flat(data)) if isinstance(data, (list, tuple)) else [data]
        if kind == "O" and any(type(v) is float for v in flat):
            try:  # floats with huge ints: floats, as torch
                return np.array(data, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                pass
        for v in flat:
            if type(v) is not float:
                dtypes.check_int(v, "tensor")
    if host.dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot make a tensor from {_describe(data)}")
    return host


def _describe(data) -> str:
    kinds = sorted({type(v).__name__ for v in _flat(data)} if isinstance(data, (list, tuple))
                   else {type(data).__name__})  # fmt: skip
    return f"data holding {', '.join(kinds)} (only numbers and bools make tensors)"


def _check_fits(host: np.ndarray, dt: dtypes.DType) -> None:
    """Integer data converted to a narrower integer dtype must fit: ints never wrap."""
    if host.dtype.kind in "iu" and not dt.is_floating_point and dt is not dtypes.bool_:
        if host.size and host.dtype != dt.np:
            lo, hi = host.min(), host.max()
            info = np.iinfo(dt.np)
            if lo < info.min or hi > info.max:
                bad = int(lo) if lo < info.min else int(hi)
                raise OverflowError(
                    f"tensor: the value {bad} does not fit in {dt.name} "
                    f"(range [{info.min}, {info.max}])"
                )


def _flat(seq):
    for v in seq:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (a scalar, nested lists, an array or a Tensor).

    Python floats take the default dtype (float32), ints int64, bools bool; NumPy
    arrays keep their dtype. Example: `tn.tensor([[1.0, 2.0]], requires_grad=True)`.
    """
    dt = None if dtype is None else dtypes.as_dtype(dtype)
    dev = None if device is None else as_device(device)
    arr, dev = _to_array(data, dt, dev)
    t = Tensor._make(arr, dev, False, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


# The op library. Tensor's methods call `_ops.name(...)`; tinynet/ops/__init__.py binds it
# once, when it is imported (bind_ops), so that tensor.py never imports the ops built on it.
_ops = None


def bind_ops(ops) -> None:
    """Give Tensor's methods their op library (called once, by tinynet/ops/__init__.py)."""
    global _ops
    _ops = ops
