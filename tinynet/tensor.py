"""Tensor: a backend array plus what autograd needs (grad, requires_grad, grad_fn).

Methods only call ops (tinynet/ops); all arithmetic and its gradient live there.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import dtypes
from .autograd.grad_mode import is_grad_enabled
from .backend import Device, device_of
from .backend import device as as_device


class Tensor:
    """An n-dimensional array on a device, recorded by autograd when it requires grad."""

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "grad_fn",
        "_device",
        "_version",
        "_hooks",
        "__weakref__",
    )
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
        self.grad = None
        self._version = 0
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
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> dtypes.DType:
        return dtypes.from_numpy_dtype(self.data.dtype)

    @property
    def device(self) -> Device:
        return self._device

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def element_size(self) -> int:
        return self.data.itemsize

    @property
    def nbytes(self) -> int:
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
        if self.data.size != 1:
            raise ValueError(
                f"item(): only a tensor with one element can be converted, got shape {self.shape}"
            )
        return self._host().reshape(()).item()

    def tolist(self):
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
    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False):
        """Accumulate d(self)/d(leaf) * gradient into every leaf's `.grad`."""
        from .autograd import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._make(self.data, self._device, False, None)

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
        return self.grad_fn is not None and self.grad_fn.retain is not None

    # ----- in-place updates (no graph: for tensors without grad, and under no_grad) -------
    def _check_inplace(self, op: str) -> None:
        if self.requires_grad and is_grad_enabled():
            kind = "a leaf tensor" if self.is_leaf else "a tensor"
            raise RuntimeError(
                f"{op}: {kind} that requires grad cannot be modified in place while recording; "
                "wrap the update in `with tn.no_grad():` or use an out-of-place op"
            )

    def _inplace(self, op: str, fn, other=None) -> Tensor:
        self._check_inplace(op)
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
        if op in _ARITH_INPLACE and not np.can_cast(result.dtype, self.data.dtype, "same_kind"):
            # as torch: `int_tensor /= 2` must not silently truncate 0.5 to 0
            raise RuntimeError(
                f"{op}: the result type {dtypes.from_numpy_dtype(result.dtype)} can't be cast "
                f"in place to the tensor's dtype {self.dtype}; use an out-of-place op"
            )
        self.data[...] = result
        self._version += 1
        return self

    def __iadd__(self, other):
        return self._inplace("+=", lambda a, b: a + b, other)

    def __isub__(self, other):
        return self._inplace("-=", lambda a, b: a - b, other)

    def __imul__(self, other):
        return self._inplace("*=", lambda a, b: a * b, other)

    def __itruediv__(self, other):
        return self._inplace("/=", lambda a, b: a / b, other)

    def add_(self, other, alpha=1):
        return self._inplace("add_", lambda a, b: a + alpha * b, other)

    def sub_(self, other, alpha=1):
        return self._inplace("sub_", lambda a, b: a - alpha * b, other)

    def mul_(self, other):
        return self._inplace("mul_", lambda a, b: a * b, other)

    def div_(self, other):
        return self._inplace("div_", lambda a, b: a / b, other)

    def addcmul_(self, t1, t2, value=1):
        return self._inplace("addcmul_", lambda a, _: a + value * t1.data * t2.data)

    def addcdiv_(self, t1, t2, value=1):
        return self._inplace("addcdiv_", lambda a, _: a + value * t1.data / t2.data)

    # not `a * 0 + b`: that keeps NaN and Inf of the old values (NaN * 0 is NaN)
    def copy_(self, src):
        xp = self._device.xp

        def fn(a, b):
            b = xp.asarray(b)
            try:
                return xp.broadcast_to(b, a.shape)
            except ValueError:
                raise RuntimeError(
                    f"copy_: a source of shape {b.shape} does not broadcast to {a.shape}"
                ) from None

        return self._inplace("copy_", fn, src)

    def zero_(self):
        return self._inplace("zero_", lambda a, _: self._device.xp.zeros_like(a))

    def fill_(self, value):
        return self._inplace("fill_", lambda a, _: self._device.xp.full_like(a, value))

    def clamp_(self, min=None, max=None):
        xp = self._device.xp
        return self._inplace("clamp_", lambda a, _: xp.clip(a, min, max))

    def uniform_(self, a=0.0, b=1.0):
        from .backend import generator

        gen = generator(self._device)
        return self._inplace(
            "uniform_", lambda x, _: (gen.random(x.shape) * (b - a) + a).astype(x.dtype)
        )

    def normal_(self, mean=0.0, std=1.0):
        from .backend import generator

        gen = generator(self._device)
        return self._inplace(
            "normal_", lambda x, _: (gen.standard_normal(x.shape) * std + mean).astype(x.dtype)
        )

    def __setitem__(self, index, value):
        index = _ops.indexing.plan_index(index, self._device)
        self._check_inplace("__setitem__")
        if isinstance(value, Tensor):
            value = value.data
        index.assign(self.data, value)  # in two steps where torch and NumPy differ
        self._version += 1

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

    def all(self):
        return bool(self.data.all())

    def any(self):
        return bool(self.data.any())

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
        return _ops.view(self, other.shape)

    def reshape_as(self, other):
        return _ops.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        return _ops.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return _ops.permute(self, *dims)

    @property
    def T(self):
        return _ops.permute(self, *reversed(range(self.ndim)))

    def t(self):
        return _ops.t(self)

    def unsqueeze(self, dim):
        return _ops.unsqueeze(self, dim)

    def squeeze(self, dim=None):
        return _ops.squeeze(self, dim)

    def expand(self, *shape):
        return _ops.expand(self, *shape)

    def expand_as(self, other):
        return _ops.expand(self, other.shape)

    def contiguous(self):
        return _ops.contiguous(self)

    def clone(self):
        return _ops.clone(self)

    def masked_fill(self, mask, value):
        return _ops.masked_fill(self, mask, value)

    def gather(self, dim, index):
        return _ops.gather(self, dim, index)

    def is_contiguous(self) -> bool:
        return bool(self.data.flags.c_contiguous)

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
        return _ops.repeat(self, *sizes)

    def unfold(self, dimension, size, step):
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
    def to(self, *args, dtype=None, device=None, copy=False):
        """`to("cuda")`, `to(tn.float64)`, `to("cpu", tn.float16)`, `to(other_tensor)`."""
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
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    def type(self, dtype):
        return self.to(dtype)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool_)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point


_ARITH_INPLACE = frozenset(("+=", "-=", "*=", "/=", "add_", "sub_", "mul_", "div_"))


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
        host = np.array(data)
        if dtype is None:
            if isinstance(data, np.ndarray) or isinstance(data, np.generic):
                dtype = dtypes.as_dtype(host.dtype)
            elif host.dtype.kind == "f":
                dtype = dtypes.get_default_dtype()
            else:
                dtype = dtypes.as_dtype(host.dtype)
        host = host.astype(dtype.np, copy=False)
        dev = device or as_device(None)
        # asarray(order="C"), not ascontiguousarray: that one turns 0-d arrays into 1-d
        return dev.backend.from_host(np.asarray(host, order="C"), dev.index), dev
    # a device array (CuPy): stay on its device unless asked otherwise
    src_dev = device_of(data)
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


from . import ops as _ops  # noqa: E402  (ops import Tensor; methods look ops up at call time)
