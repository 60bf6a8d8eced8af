"""Every tensor method as a function: `tn.exp(x)`, `tn.cat(ts, 0)`, `tn.matmul(a, b)`, ...

Also the small utilities torch keeps beside them: is_tensor, numel, set_num_threads.
"""

import builtins as _builtins
import functools as _functools

import numpy as _np
import threadpoolctl as _threadpoolctl

from .backend import device_of as _device_of
from .ops._args import _tensor_first
from .ops.elementwise import (  # noqa: F401
    abs,
    add,
    allclose,
    arctan2,
    atan,
    atan2,
    ceil,
    clamp,
    cos,
    div,
    eq,
    equal,
    erf,
    exp,
    expm1,
    fix,
    floor,
    floor_divide,
    fmod,
    frac,
    ge,
    gelu,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    leaky_relu,
    lerp,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    masked_fill,
    maximum,
    minimum,
    mul,
    nan_to_num,
    ne,
    neg,
    pow,
    reciprocal,
    relu,
    remainder,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    sub,
    tan,
    tanh,
    trunc,
    where,
)
from .ops.indexing import (  # noqa: F401
    argsort,
    chunk,
    gather,
    getitem,
    index_select,
    multinomial,
    narrow,
    nonzero,
    scatter,
    scatter_add,
    sort,
    split,
    topk,
    unbind,
    unique,
)
from .ops.linalg import bmm, einsum, matmul  # noqa: F401
from .ops.movement import (  # noqa: F401
    broadcast_to,
    cat,
    clone,
    contiguous,
    diag,
    expand,
    flatten,
    flip,
    hstack,
    masked_select,
    meshgrid,
    moveaxis,
    movedim,
    outer,
    pad,
    permute,
    repeat_interleave,
    reshape,
    roll,
    squeeze,
    stack,
    swapaxes,
    swapdims,
    t,
    tile,
    transpose,
    tril,
    triu,
    unflatten,
    unsqueeze,
    view,
    vstack,
)
from .ops.reduce import (  # noqa: F401
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    bincount,
    count_nonzero,
    cumprod,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    median,
    min,
    norm,
    prod,
    softmax,
    std,
    sum,
    var,
)
from .tensor import Tensor as _Tensor


def _as_tensor_arg(a):
    """A backend array (what `t.data` is) as an untracked Tensor sharing its memory."""
    if isinstance(a, (list, tuple)):
        return type(a)(_as_tensor_arg(e) for e in a) if _builtins.any(map(_is_array, a)) else a
    return _Tensor._make(a, _device_of(a), False, None) if _is_array(a) else a


def _is_array(a) -> bool:
    return hasattr(a, "__array_namespace__") and not isinstance(a, (_Tensor, _np.generic))


def _arrays_ok(fn):
    """`fn` with backend-array arguments taken as Tensors: torch's `.data` is a Tensor, so
    ported code says `torch.max(outputs.data, 1)`; tinynet's `.data` is the array."""

    @_functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*map(_as_tensor_arg, args), **kwargs)

    return wrapper


for _name in [n for n, v in list(globals().items()) if getattr(v, "__module__", "") in (
    "tinynet.ops.elementwise", "tinynet.ops.indexing", "tinynet.ops.linalg",
    "tinynet.ops.movement", "tinynet.ops.reduce",
) and callable(v) and not isinstance(v, type) and not n.startswith("_")]:  # fmt: skip
    globals()[_name] = _arrays_ok(globals()[_name])

clip = clamp
absolute = abs
negative = neg
arctan = atan
sgn = sign
divide = true_divide = div
multiply = mul
subtract = sub
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def clamp_min(x, min):  # noqa: F811  (torch names the bound `min`)
    """x limited below by `min`."""
    return clamp(x, min, None)


def clamp_max(x, max):  # noqa: F811
    """x limited above by `max`."""
    return clamp(x, None, max)


def mm(input, mat2):
    """The product of two matrices (2-D only; matmul broadcasts)."""
    return input.mm(mat2)


def mv(input, vec):
    """A matrix times a vector."""
    return input.mv(vec)


def dot(input, other):
    """The dot product of two 1-D tensors."""
    return input.dot(other)


def is_tensor(obj) -> bool:
    """True if `obj` is a tinynet Tensor."""
    return isinstance(obj, _Tensor)


def is_floating_point(x) -> bool:
    """True if the tensor's dtype is a floating point one."""
    if not isinstance(x, _Tensor):
        raise TypeError(f"is_floating_point: expected a Tensor, got {type(x).__name__}")
    return x.dtype.is_floating_point


def numel(x) -> int:
    """The number of elements of a tensor."""
    if not isinstance(x, _Tensor):
        raise TypeError(f"numel: expected a Tensor, got {type(x).__name__}")
    return x.numel()


_threads: list = [None]  # the limit set by set_num_threads, kept alive while in force


def set_num_threads(n: int) -> None:
    """Set how many threads the BLAS library (matmul, conv) uses, as torch.set_num_threads."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be positive, got {n}")
    _threads[0] = _threadpoolctl.threadpool_limits(limits=n, user_api="blas")


def get_num_threads() -> int:
    """How many threads the BLAS library uses now (1 if no threaded BLAS is loaded)."""
    info = [p["num_threads"] for p in _threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    return _builtins.max(info, default=1)


# Every function here whose first argument must be a Tensor refuses anything else with one
# TypeError naming the function (not an AttributeError from deep inside the op). Functions
# that take a number or a sequence first (add, where, cat, einsum, ...) are not in the list.
_TENSOR_FIRST = (
    "abs absolute all amax amin any argmax argmin argsort arctan atan ceil chunk clamp clamp_max "
    "clamp_min clip clone contiguous cos cumprod cumsum erf exp expand expm1 fix flatten flip "
    "floor frac gather gelu getitem index_select isfinite isinf isnan leaky_relu log log10 log1p "
    "log2 log_softmax logical_not logsumexp masked_fill max mean min nan_to_num narrow neg "
    "negative norm numel permute prod reciprocal relu reshape roll round rsqrt scatter "
    "scatter_add sgn sigmoid sign sin softmax sort split sqrt square squeeze std sum t tan tanh "
    "topk transpose trunc unbind unsqueeze var view"
).split()


for _name in _TENSOR_FIRST:
    globals()[_name] = _tensor_first(_name, globals()[_name], arrays=True)  # (after _arrays_ok)
del _name
