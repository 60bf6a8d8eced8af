"""A strict stand-in for CuPy, backed by NumPy, registered as the device type "fakecuda".

There is no GPU where the tests run, so this module plays one, enforcing the rules
of CuPy that a NumPy-only test run could never catch:

- its arrays are their own type (`ndarray` below, a wrapper around a NumPy array),
  not `numpy.ndarray`;
- implicit conversion to NumPy raises TypeError (`np.asarray(a)`, `np.array(a)`),
  with the very message `cupy.ndarray.__array__` gives;
- mixing its arrays with NumPy arrays in one operation raises TypeError (operators,
  `xp.*` functions, NumPy ufuncs, indexing, assignment). Python scalars and NumPy
  scalars mix freely, as in CuPy;
- only explicit transfers move data: `backend.from_host`, `backend.to_host`,
  `asnumpy`, `ndarray.get()` (counted in `transfers`, with the scalar reads that
  `float()`, `bool()`, `.item()` and `.tolist()` do, and the small uploads that
  `xp.asarray(2.0)` makes of Python scalars and lists);
- `xp` offers only functions CuPy has, and no `xp.random` and no `ufunc.at`: random
  numbers come from the device's generator and scatter-adds from
  `backend.scatter_add`, as the backend seam requires;
- the generator has only the methods of `cupy.random.Generator` (no `normal`,
  `permutation`, `choice`, `shuffle`).

Where CuPy would quietly copy a host array to the device (a NumPy array used as an
index or assigned into a device array), the stand-in is stricter and raises: inside
tinynet such a copy is a bug. `register()` makes the device type "fakecuda"
available through `tinynet.backend.register_backend`; tests/conftest.py calls it.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import math
import operator as _op
import os
import re
import shutil
import subprocess
import tempfile
import types

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinynet.backend.cuda import DeviceErrors

TYPE_NAME = "fakecuda"
DEVICE_COUNT = 2  # two pretend GPUs, so that device indices can be tested
DLPACK_DEVICE_TYPE = 12  # kDLExtDev: "an extension device", never mistaken for the CPU

_IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. "
    "Please use `.get()` to construct a NumPy array explicitly."
)

# Explicit transfers, scalar reads (each a device synchronisation on a real GPU), and
# uploads: Python scalars or lists made into device arrays by xp.asarray / xp.array (on a
# GPU each is a small host-to-device copy).
transfers = {"to_host": 0, "from_host": 0, "scalar": 0, "upload": 0}


def reset_transfers() -> None:
    for k in transfers:
        transfers[k] = 0


def _mixing(what: str) -> TypeError:
    return TypeError(
        f"fakecuda: {what} mixes a device array with a numpy.ndarray (CuPy raises: "
        "Unsupported type <class 'numpy.ndarray'>); move data explicitly with "
        "Tensor.to(...) / backend.from_host"
    )


_SCALARS = (bool, int, float, complex, np.generic)


def _unwrap(v, what: str, lists: bool = True):
    """The NumPy array behind a device array; refuse host arrays anywhere inside `v`."""
    if type(v) is ndarray:
        return v._a
    if isinstance(v, np.ndarray):
        raise _mixing(what)
    if isinstance(v, (list, tuple)):
        if not lists:
            raise TypeError(f"fakecuda: {what}: Unsupported type {type(v)} (CuPy takes no lists)")
        return type(v)(_unwrap(x, what) for x in v)
    return v


def _wrap(r):
    """Device arrays for array results; 0-d results stay arrays, as CuPy's do."""
    if isinstance(r, np.ndarray):
        return ndarray(r)
    if isinstance(r, np.generic):
        return ndarray(np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(x) for x in r)
    if isinstance(r, list):
        return [_wrap(x) for x in r]
    return r


def _operand(other, what: str):
    """The raw operand for an operator, or None when this type is not ours to handle."""
    if type(other) is ndarray:
        return other._a
    if isinstance(other, np.ndarray):
        raise _mixing(what)
    if isinstance(other, _SCALARS):
        return other
    return None


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a: np.ndarray):
        self.c_contiguous = bool(a.flags.c_contiguous)
        self.f_contiguous = bool(a.flags.f_contiguous)
        self.owndata = bool(a.flags.owndata)

    def __getitem__(self, key: str) -> bool:
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[key]  # fmt: skip

    def __repr__(self) -> str:
        return (f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : {self.f_contiguous}\n"
                f"  OWNDATA : {self.owndata}")  # fmt: skip


class _Device:
    __slots__ = ("id",)

    def __init__(self, index: int = 0):
        self.id = index

    def __repr__(self) -> str:
        return f"<fakecuda Device {self.id}>"


class ndarray:  # noqa: N801  (the name CuPy uses)
    """A device array: a NumPy array only this module may look inside."""

    __slots__ = ("_a",)
    __array_priority__ = 100  # below Tensor's, so `array * tensor` goes to the Tensor

    def __init__(self, a: np.ndarray):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"fakecuda.ndarray wraps a numpy.ndarray, got {type(a).__name__}")
        self._a = a

    # ----- NumPy must not see inside ------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # NumPy ufuncs on device arrays run on the device, as CuPy's __array_ufunc__ does;
        # a NumPy array among the operands is a host/device mix, and ufunc methods
        # (`np.add.at`, `.reduce`) are the backend's business.
        if method != "__call__":
            raise TypeError(
                f"fakecuda: numpy.{ufunc.__name__}.{method} on a device array; use the "
                "backend's kernels (backend.scatter_add) or xp functions"
            )
        args = [_unwrap(x, f"numpy.{ufunc.__name__}", lists=False) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o, f"numpy.{ufunc.__name__}") for o in kwargs["out"])
        return _wrap(ufunc(*args, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        fn = getattr(xp, func.__name__, None)
        if fn is None or not callable(fn) or func.__name__ not in _FUNCTIONS:
            raise TypeError(
                f"fakecuda: numpy.{func.__name__} is not available for device arrays; "
                "use the device's xp namespace"
            )
        return fn(*args, **kwargs)

    def __dlpack__(self, *args, **kwargs):
        raise BufferError("fakecuda: device arrays cannot be exported through DLPack")

    def __dlpack_device__(self):
        return (DLPACK_DEVICE_TYPE, 0)

    # ----- explicit transfers and scalar reads ----------------------------------------------
    def get(self, stream=None, order="C", out=None) -> np.ndarray:
        """Copy to the host (the explicit transfer CuPy offers)."""
        transfers["to_host"] += 1
        return np.array(self._a, order=order, copy=True)

    def set(self, arr: np.ndarray) -> None:
        """Copy a host array into this one (explicit)."""
        transfers["from_host"] += 1
        self._a[...] = arr

    def item(self):
        transfers["scalar"] += 1
        return self._a.item()

    def tolist(self):
        transfers["scalar"] += 1
        return self._a.tolist()

    def __bool__(self) -> bool:
        transfers["scalar"] += 1
        return bool(self._a)

    def __float__(self) -> float:
        transfers["scalar"] += 1
        return float(self._a)

    def __int__(self) -> int:
        transfers["scalar"] += 1
        return int(self._a)

    def __complex__(self) -> complex:
        transfers["scalar"] += 1
        return complex(self._a)

    def __index__(self) -> int:
        transfers["scalar"] += 1
        return self._a.__index__()

    def __repr__(self) -> str:
        return repr(self._a)

    def __str__(self) -> str:
        return str(self._a)

    def __format__(self, spec: str) -> str:
        return format(self._a, spec) if self._a.ndim == 0 else str(self._a)

    # ----- attributes -----------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    device = property(lambda self: _Device(0))
    T = property(lambda self: ndarray(self._a.T))
    mT = property(lambda self: ndarray(self._a.mT))
    real = property(lambda self: ndarray(self._a.real))
    imag = property(lambda self: ndarray(self._a.imag))

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        for i in range(len(self._a)):
            yield ndarray(self._a[i])

    def __copy__(self):
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._a.copy())

    def __reduce__(self):  # pickling would be a host transfer; tinynet never pickles
        raise TypeError("fakecuda: device arrays cannot be pickled")

    # ----- indexing -------------------------------------------------------------------------
    def __getitem__(self, index):
        return _wrap(self._a[_index(index)])

    def __setitem__(self, index, value):
        v = _operand(value, "__setitem__")
        if v is None:
            if isinstance(value, list):
                v = _unwrap(value, "__setitem__")
            else:
                raise TypeError(f"fakecuda: cannot assign a {type(value).__name__} into an array")
        self._a[_index(index)] = v

    # ----- methods --------------------------------------------------------------------------
    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return ndarray(self._a.astype(dtype, order=order, copy=copy))

    def copy(self, order="C"):
        return ndarray(self._a.copy(order=order))

    def fill(self, value) -> None:
        self._a.fill(_operand(value, "fill"))

    def __hash__(self):
        raise TypeError("unhashable type: 'fakecuda.ndarray'")


def _index(index):
    """An index with device arrays unwrapped; host arrays refused (a hidden transfer)."""
    if isinstance(index, tuple):
        return tuple(_index_one(i) for i in index)
    return _index_one(index)


def _index_one(i):
    if type(i) is ndarray:
        return i._a
    if isinstance(i, np.ndarray):
        raise TypeError(
            "fakecuda: indexing a device array with a numpy.ndarray copies the index to the "
            "device behind your back; build the index on the device (xp.arange, ...)"
        )
    if isinstance(i, list):
        return [_index_one(x) for x in i]
    return i


def _method(name: str):
    def method(self, *args, **kwargs):
        args = _unwrap(args, f"ndarray.{name}")
        kwargs = {k: _unwrap(v, f"ndarray.{name}") for k, v in kwargs.items()}
        return _wrap(getattr(self._a, name)(*args, **kwargs))

    method.__name__ = name
    return method


_METHODS = """
all any argmax argmin argpartition argsort choose clip compress conj conjugate cumprod cumsum
diagonal dot flatten max mean min nonzero partition prod ptp put ravel repeat reshape round
searchsorted sort squeeze std sum swapaxes take tobytes trace transpose var view
""".split()
for _name in _METHODS:
    if not hasattr(ndarray, _name):
        setattr(ndarray, _name, _method(_name))


def _binary(op, name: str):
    def forward(self, other):
        o = _operand(other, f"`{name}`")
        if o is None:
            return NotImplemented
        return _wrap(op(self._a, o))

    def reverse(self, other):
        o = _operand(other, f"`{name}`")
        if o is None:
            return NotImplemented
        return _wrap(op(o, self._a))

    def inplace(self, other):
        o = _operand(other, f"`{name}=`")
        if o is None:
            return NotImplemented
        getattr(_op, f"i{name}")(self._a, o)  # in place on the same memory, NumPy's casting
        return self

    return forward, reverse, inplace


for _n, _f in [("add", _op.add), ("sub", _op.sub), ("mul", _op.mul), ("truediv", _op.truediv),
               ("floordiv", _op.floordiv), ("mod", _op.mod), ("pow", _op.pow),
               ("matmul", _op.matmul), ("and", _op.and_), ("or", _op.or_), ("xor", _op.xor),
               ("lshift", _op.lshift), ("rshift", _op.rshift)]:  # fmt: skip
    _fw, _rv, _ip = _binary(_f, _n)
    setattr(ndarray, f"__{_n}__", _fw)
    setattr(ndarray, f"__r{_n}__", _rv)
    setattr(ndarray, f"__i{_n}__", _ip)

for _n, _f in [("eq", _op.eq), ("ne", _op.ne), ("lt", _op.lt), ("le", _op.le), ("gt", _op.gt),
               ("ge", _op.ge)]:  # fmt: skip
    setattr(ndarray, f"__{_n}__", _binary(_f, _n)[0])

for _n, _f in [("neg", _op.neg), ("pos", _op.pos), ("abs", abs), ("invert", _op.invert)]:
    setattr(ndarray, f"__{_n}__", (lambda f: lambda self: _wrap(f(self._a)))(_f))


# ----- the xp namespace: the functions of CuPy that tinynet may call -------------------------

xp = types.ModuleType("fakecupy", "The fakecuda array namespace: CuPy's functions on NumPy.")

_FUNCTIONS = """
zeros ones empty full zeros_like ones_like empty_like full_like arange linspace eye identity
copy exp exp2 expm1 log log2 log10 log1p sqrt cbrt square abs absolute fabs sign signbit
negative positive reciprocal tanh sinh cosh sin cos tan arcsin arccos arctan arctan2 arcsinh
arccosh arctanh hypot floor ceil round around rint trunc fix mod remainder fmod floor_divide
divmod power float_power add subtract multiply divide true_divide maximum minimum fmax fmin where
clip nan_to_num logaddexp logaddexp2 heaviside copysign matmul dot vdot einsum tensordot inner
outer kron broadcast_to broadcast_arrays expand_dims squeeze reshape ravel transpose moveaxis
swapaxes rollaxis atleast_1d atleast_2d atleast_3d take take_along_axis put_along_axis put
choose compress diagonal diag diagflat trace tril triu concatenate stack hstack vstack dstack
column_stack split array_split tile repeat flip fliplr flipud roll rot90 pad isfinite isnan isinf
isclose allclose array_equal sum mean var std max min amax amin nanmax nanmin argmax argmin prod
cumsum cumprod nansum nanmean median percentile average ptp all any count_nonzero nonzero
flatnonzero argwhere logical_and logical_or logical_not logical_xor bitwise_and bitwise_or
bitwise_xor invert left_shift right_shift equal not_equal less less_equal greater greater_equal
sort argsort partition argpartition unique searchsorted bincount histogram meshgrid indices tri
copyto fill_diagonal lexsort unravel_index ravel_multi_index real imag conj conjugate angle
may_share_memory shares_memory shape ndim size result_type promote_types can_cast
min_scalar_type common_type isscalar broadcast_shapes
""".split()


def _function(name: str):
    np_fn = getattr(np, name)
    ufunc = isinstance(np_fn, np.ufunc)  # CuPy's ufuncs take arrays and scalars, no lists

    @functools.wraps(np_fn)
    def fn(*args, **kwargs):
        what = f"xp.{name}"
        if ufunc:
            args = tuple(_unwrap(a, what, lists=False) for a in args)
        else:
            args = _unwrap(args, what)
        kwargs = {k: _unwrap(v, what) for k, v in kwargs.items()}
        return _wrap(np_fn(*args, **kwargs))

    return fn


for _name in _FUNCTIONS:
    setattr(xp, _name, _function(_name))


def _asarray(a, dtype=None, order=None, *, blocking=False):
    """A device array from device arrays, Python scalars or lists; never from host arrays."""
    if type(a) is ndarray:
        return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
    if isinstance(a, np.ndarray):
        raise TypeError(
            "fakecuda: xp.asarray(numpy.ndarray) is a host-to-device copy; inside tinynet it "
            "must go through backend.from_host (Tensor.to)"
        )
    transfers["upload"] += 1
    return ndarray(np.asarray(_unwrap(a, "xp.asarray"), dtype=dtype, order=order))


def _array(a, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if type(a) is ndarray:
        out = a._a.astype(dtype or a.dtype, copy=True) if copy else a._a
        return ndarray(out)
    return ndarray(np.array(_asarray(a, dtype)._a, copy=copy, ndmin=ndmin))


def _ascontiguousarray(a, dtype=None):
    return ndarray(np.ascontiguousarray(_asarray(a)._a, dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None, blocking=True) -> np.ndarray:
    """Copy a device array to the host (an explicit transfer); host arrays pass through."""
    if type(a) is ndarray:
        return a.get()
    return np.asarray(a)


def get_array_module(*args):
    return xp if any(type(a) is ndarray for a in args) else np


xp.asarray = _asarray
xp.asanyarray = _asarray
xp.array = _array
xp.ascontiguousarray = _ascontiguousarray
xp.asnumpy = asnumpy
xp.get_array_module = get_array_module
xp.ndarray = ndarray
for _name in ("dtype", "finfo", "iinfo", "float16", "float32", "float64", "int8", "int16",
              "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool_", "complex64",
              "complex128", "intp", "newaxis", "pi", "e", "inf", "nan", "integer", "floating",
              "number", "signedinteger", "unsignedinteger", "complexfloating",
              "generic"):  # fmt: skip
    setattr(xp, _name, getattr(np, _name))
xp.bool = np.bool_


# ----- the generator: the methods cupy.random.Generator has ----------------------------------

_GENERATOR_METHODS = """
beta binomial chisquare dirichlet exponential f gamma geometric hypergeometric integers
logseries poisson power random standard_exponential standard_gamma standard_normal uniform
""".split()


class Generator:
    """cupy.random.Generator's surface over NumPy's generator; results are device arrays."""

    def __init__(self, seed=None):
        self._g = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return "fakecuda.Generator"


def _gen_method(name: str):
    def method(self, *args, **kwargs):
        return _wrap(np.asarray(getattr(self._g, name)(*args, **kwargs)))

    method.__name__ = name
    return method


for _name in _GENERATOR_METHODS:
    setattr(Generator, _name, _gen_method(_name))


# ----- RawKernel: tinynet's CUDA kernel sources, compiled for the CPU --------------------------

# C scalar types a kernel parameter may have -> (NumPy dtype CuPy passes for it, ctypes type)
_C_SCALARS = {
    "int": (np.dtype(np.int32), ctypes.c_int32),
    "long long": (np.dtype(np.int64), ctypes.c_int64),
    "float": (np.dtype(np.float32), ctypes.c_float),
    "double": (np.dtype(np.float64), ctypes.c_double),
}
_POINTEES = {"float": np.float32, "double": np.float64, "int": np.int32, "long long": np.int64}
# What the g++ build needs to take CUDA C as tinynet writes it: thread coordinates as globals
# the launcher below sets, CUDA's qualifiers as nothing, the math functions of <cmath>.
_PRELUDE = """#include <cmath>
#include <cstddef>
using std::exp; using std::log;
struct fakecuda_dim3 { unsigned x, y, z; };
static fakecuda_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
"""
_compiled: dict = {}


def have_compiler() -> bool:
    return shutil.which(os.environ.get("CXX", "g++")) is not None


def kernel_params(code: str, name: str) -> list[tuple[str, bool, str]]:
    """The parameters of `extern "C" __global__ void name(...)` in `code`, typedefs resolved:
    (C type, is pointer, parameter name) each, e.g. ("float", True, "cols")."""
    head = r'extern\s+"C"\s+__global__\s+void\s+' + re.escape(name)
    m = re.search(head + r"\s*\(([^)]*)\)", code)
    if m is None:
        raise ValueError(f'fakecuda.RawKernel: no extern "C" __global__ kernel {name!r}')
    aliases = dict((b, a) for a, b in re.findall(r"typedef\s+([\w ]+?)\s+(\w+)\s*;", code))
    out = []
    for param in m.group(1).split(","):
        decl = param.replace("const ", " ").replace("__restrict__", " ")
        pointer = "*" in decl
        *type_words, pname = decl.replace("*", " ").split()
        ctype = " ".join(type_words)
        out.append((aliases.get(ctype, ctype), pointer, pname))
    return out


class RawKernel:
    """cupy.RawKernel for the kernels tinynet writes, run on the CPU.

    The CUDA source is compiled by g++ with a launcher that runs every (block, thread)
    of the grid in turn, so a kernel that needs no __syncthreads and no shared memory (a
    grid-stride loop, as tinynet's are) computes what it computes on a GPU. Stricter than
    CuPy where CuPy would pass garbage: each argument must match its parameter's C type:
    a pointer takes a C-contiguous device array of that element type (a NumPy array is a
    host/device mix), a scalar takes the NumPy scalar of that type (a Python int would go
    to the GPU as a 64-bit long long, a Python float as a double, whatever the parameter).
    """

    def __init__(self, code: str, name: str, options: tuple = (), backend: str = "nvrtc",
                 translate_cucomplex: bool = False, *, enable_cooperative_groups=False,
                 jitify=None):  # fmt: skip
        self.code, self.name, self.options = code, name, tuple(options)
        self.params = kernel_params(code, name)
        for ctype, pointer, pname in self.params:
            if ctype not in (_POINTEES if pointer else _C_SCALARS):
                raise NotImplementedError(f"fakecuda.RawKernel {name}: parameter {ctype} {pname}")

    def _source(self) -> str:
        decls = ", ".join(f"{t}{'*' if ptr else ''} {n}" for t, ptr, n in self.params)
        names = ", ".join(n for _, _, n in self.params)
        return (
            _PRELUDE
            + self.code
            + f"""
extern "C" void fakecuda_launch(unsigned grid, unsigned block, {decls}) {{
  gridDim = {{grid, 1, 1}}; blockDim = {{block, 1, 1}};
  for (unsigned b = 0; b < grid; ++b)
    for (unsigned t = 0; t < block; ++t) {{
      blockIdx = {{b, 0, 0}}; threadIdx = {{t, 0, 0}};
      {self.name}({names});
    }}
}}
"""
        )

    def _function(self):
        src = self._source()
        if src not in _compiled:
            d = tempfile.mkdtemp(prefix="fakecuda-kernel-")
            atexit.register(shutil.rmtree, d, ignore_errors=True)
            path = os.path.join(d, "kernel.cpp")
            with open(path, "w") as f:
                f.write(src)
            lib = os.path.join(d, "kernel.so")
            cxx = os.environ.get("CXX", "g++")
            subprocess.run([cxx, "-O2", "-shared", "-fPIC", "-o", lib, path], check=True,
                           capture_output=True, text=True)  # fmt: skip
            _compiled[src] = ctypes.CDLL(lib).fakecuda_launch
        return _compiled[src]

    def _arg(self, param, a):
        ctype, pointer, pname = param
        what = f"{self.name}: parameter {ctype}{'*' if pointer else ''} {pname}"
        if pointer:
            if type(a) is not ndarray:
                raise _mixing(self.name) if isinstance(a, np.ndarray) else TypeError(
                    f"{what} takes a device array, got {type(a).__name__}")  # fmt: skip
            if a.dtype != _POINTEES[ctype] or not a._a.flags.c_contiguous:
                raise TypeError(f"{what} takes a C-contiguous {np.dtype(_POINTEES[ctype])} array, "
                                f"got {a.dtype} with strides {a._a.strides}")  # fmt: skip
            return a._a.ctypes.data_as(ctypes.c_void_p)
        want, ctor = _C_SCALARS[ctype]
        got = np.asarray(a).dtype if isinstance(a, np.generic) else python_scalar_dtype(a)
        if got != want:
            raise TypeError(f"{what}: CuPy would pass this {type(a).__name__} as {got}; "
                            f"pass {want.name}(...)")  # fmt: skip
        return ctor(a)

    def __call__(self, grid, block, args, *, shared_mem=0):
        if len(args) != len(self.params):
            raise TypeError(f"{self.name}: takes {len(self.params)} arguments, got {len(args)}")
        cargs = [self._arg(p, a) for p, a in zip(self.params, args)]
        (g,), (b,) = tuple(grid), tuple(block)
        self._function()(ctypes.c_uint(g), ctypes.c_uint(b), *cargs)


def python_scalar_dtype(v) -> np.dtype | None:
    """The dtype CuPy gives a Python scalar kernel argument (bool, int64, float64), or None."""
    for kind, dtype in ((bool, np.bool_), (int, np.int64), (float, np.float64)):
        if isinstance(v, kind):
            return np.dtype(dtype)
    return None


# ----- the backend module: the interface of tinynet/backend/cpu.py ---------------------------

backend = types.ModuleType(
    "tinynet_fakecuda_backend", "The fakecuda backend: the strict stand-in for backend/cuda.py."
)
backend.name = TYPE_NAME
backend.xp = xp
backend.dlpack_device_type = DLPACK_DEVICE_TYPE
backend.conv_block_bytes = 2 << 20  # NumPy underneath: the CPU's cache-sized blocks


def _is_array(a) -> bool:
    return type(a) is ndarray


def _from_host(a, index=None) -> ndarray:
    if type(a) is ndarray:
        raise TypeError("fakecuda: from_host got a device array; it takes host data")
    transfers["from_host"] += 1
    return ndarray(np.array(a, copy=True))  # a copy, as a real transfer: no shared memory


def _to_host(a) -> np.ndarray:
    if type(a) is not ndarray:
        raise TypeError(f"fakecuda: to_host expects a device array, got {type(a).__name__}")
    out = a.get()
    errors.raise_pending(_read_flag)
    return out


def _read_flag(flag: ndarray) -> np.ndarray:
    return flag._a.copy()  # part of the sync that to_host/synchronize make: not counted


def _scatter_add(target, index, values) -> None:
    """target[index] += values with repeats adding up (cupyx.scatter_add)."""
    if type(target) is not ndarray:
        raise TypeError(f"fakecuda: scatter_add into a {type(target).__name__}")
    vals = _operand(values, "scatter_add")
    if vals is None:
        raise TypeError(f"fakecuda: scatter_add of a {type(values).__name__}")
    np.add.at(target._a, _index(index), vals)


def _strided_view(a, shape, strides):
    if type(a) is not ndarray:
        raise TypeError(f"fakecuda: strided_view of a {type(a).__name__}")
    return ndarray(as_strided(a._a, shape=tuple(shape), strides=tuple(strides), writeable=False))


def _generator(seed=None) -> Generator:
    return Generator(seed)


def _synchronize(index=None) -> None:
    errors.raise_pending(_read_flag)


_erf = np.frompyfunc(math.erf, 1, 1)


def _erf_fn(a):
    if type(a) is not ndarray:
        raise TypeError(f"fakecuda: erf of a {type(a).__name__}")
    return ndarray(np.asarray(_erf(a._a)).astype(a.dtype))  # 0-d: frompyfunc gives a float


def _check_device(index: int) -> None:
    if not 0 <= index < DEVICE_COUNT:
        raise RuntimeError(
            f"fakecuda: device index {index} is out of range; {DEVICE_COUNT} devices exist"
        )


def _from_dlpack(x):
    if type(x) is ndarray:
        return x  # zero copy: the same device memory
    raise BufferError(f"fakecuda: cannot import a {type(x).__name__} through DLPack")


def _kernel(name: str, dtype) -> RawKernel:
    from tinynet.backend import cuda

    key = (name, np.dtype(dtype))
    if key not in _kernels:
        _kernels[key] = RawKernel(cuda.kernel_source(name, dtype), name)
    return _kernels[key]


def _col2im(cols, dst, kernel, stride, dilation, out_hw, pitch) -> None:
    """backend/cuda.py's col2im: its kernel source, run by the RawKernel above."""
    from tinynet.backend import cpu, cuda

    if not have_compiler():  # the tap loop instead; the kernel tests skip and say why
        return cpu.col2im(cols, dst, kernel, stride, dilation, out_hw, pitch)
    if not cuda.run_col2im(_kernel, cols, dst, kernel, stride, dilation, out_hw, pitch):
        cpu.col2im(cols, dst, kernel, stride, dilation, out_hw, pitch)


def _softmax_xent(x, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    """backend/cuda.py's softmax_xent: its fused kernel, errors raised at the next sync."""
    from tinynet.backend import cpu, cuda

    if not have_compiler():
        return cpu.softmax_xent(x, target, weight, ignore_index, label_smoothing)
    flag = errors.flag(xp, 0)
    return cuda.run_softmax_xent(_kernel, xp, flag, x, target, weight, ignore_index,
                                 label_smoothing)  # fmt: skip


def _masked(values, mask):
    """backend/cuda.py's masked: a select, as cupy.where."""
    return xp.where(mask, values, values.dtype.type(0))


_kernels: dict = {}
errors = DeviceErrors()  # the errors its kernels record, as backend/cuda.py keeps them
backend.col2im = _col2im
backend.softmax_xent = _softmax_xent
backend.masked = _masked
backend.is_array = _is_array
backend.from_host = _from_host
backend.to_host = _to_host
backend.scatter_add = _scatter_add
backend.strided_view = _strided_view
backend.generator = _generator
backend.synchronize = _synchronize
backend.erf = _erf_fn
backend.check_device = _check_device
backend.array_device_index = lambda a: 0
backend.device_count = lambda: DEVICE_COUNT
backend.is_available = lambda: True
backend.from_dlpack = _from_dlpack


def register() -> None:
    """Make "fakecuda" a device type of tinynet (tests only)."""
    from tinynet.backend import register_backend

    register_backend(TYPE_NAME, backend)


# ----- posing as CuPy itself: exercising tinynet/backend/cuda.py without a GPU ---------------

ndarray.scatter_add = lambda self, slices, value: _scatter_add(self, slices, value)

_current = [0]  # CuPy's current device


class _CudaDevice:
    """cupy.cuda.Device: a context manager that makes a GPU current."""

    def __init__(self, index=None):
        self.id = _current[0] if index is None else int(index)
        _check_device(self.id)
        self._prev: list[int] = []

    def __enter__(self):
        self._prev.append(_current[0])
        _current[0] = self.id
        return self

    def __exit__(self, *exc):
        _current[0] = self._prev.pop()

    def use(self) -> None:
        _current[0] = self.id

    def synchronize(self) -> None:
        pass


class _Pool:
    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass


def _module(name: str, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


def _asarray_or_upload(a, dtype=None, order=None, *, blocking=False):
    if isinstance(a, np.ndarray):
        transfers["from_host"] += 1
        return ndarray(np.array(a, dtype=dtype, copy=True))
    return _asarray(a, dtype, order)


def as_cupy_modules() -> dict[str, types.ModuleType]:
    """sys.modules entries under which `import cupy` / `import cupyx...` find the stand-in.

    With them in place, tinynet's real CUDA backend (tinynet/backend/cuda.py) runs on
    the stand-in's arrays: its imports, device checks, transfers and kernels are
    exercised without a GPU. Use `installed_as_cupy()`, which also resets tinynet's
    caches before and after.
    """
    cupy = _module("cupy", **{k: v for k, v in vars(xp).items() if not k.startswith("__")})
    cupy.__version__ = "14.0.0+fakecuda"
    # cupy.asarray(host array) is how backend/cuda.py copies to the device: allowed (and
    # counted) here; the "fakecuda" device's own xp.asarray keeps refusing host arrays.
    cupy.asarray = _asarray_or_upload
    cupy.random = _module("cupy.random", default_rng=Generator, Generator=Generator)
    runtime = _module(
        "cupy.cuda.runtime",
        getDeviceCount=lambda: DEVICE_COUNT,
        runtimeGetVersion=lambda: 12090,
        driverGetVersion=lambda: 12040,
        getDevice=lambda: _current[0],
        getDeviceProperties=lambda i: {"name": b"fakecuda GPU", "totalGlobalMem": 1 << 34,
                                       "major": 9, "minor": 0},
    )  # fmt: skip
    cupy.cuda = _module("cupy.cuda", Device=_CudaDevice, runtime=runtime)
    strided = _module(
        "cupy.lib.stride_tricks",
        as_strided=lambda x, shape=None, strides=None: _strided_view(
            x, x.shape if shape is None else shape, x.strides if strides is None else strides
        ),
    )
    cupy.lib = _module("cupy.lib", stride_tricks=strided)
    cupy.from_dlpack = _from_dlpack
    cupy.get_default_memory_pool = _Pool
    cupy.get_default_pinned_memory_pool = _Pool
    special = _module("cupyx.scipy.special", erf=_erf_fn)
    scipy = _module("cupyx.scipy", special=special)
    cupyx = _module("cupyx", scatter_add=_scatter_add, scipy=scipy)
    cupy.RawKernel = RawKernel
    return {"cupy": cupy, "cupyx": cupyx, "cupyx.scipy": scipy, "cupyx.scipy.special": special}


class installed_as_cupy:  # noqa: N801  (used as `with installed_as_cupy():`)
    """Within the block, `import cupy` gives the stand-in and "cuda" devices use it."""

    def __enter__(self):
        import sys

        self._saved = {k: sys.modules.get(k) for k in as_cupy_modules()}
        sys.modules.update(as_cupy_modules())
        _reset_tinynet_cuda()
        return sys.modules["cupy"]

    def __exit__(self, *exc):
        import sys

        for k, v in self._saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        _reset_tinynet_cuda()


def _reset_tinynet_cuda() -> None:
    import tinynet.backend as tb
    import tinynet.backend.cuda as tc

    tc._cupy_module = None
    tc._import_error = None
    tc._kernels.clear()
    tc._errors.__init__()
    tb._DEVICES.clear()
    tb._generators.clear()
    tb._default_device[0] = None


# ----- host_view: the one question code outside backend/ asks about where data lives ----------


def _host_view(a) -> None:
    """None, as backend/cuda.py: device data is never read on the host without a copy."""
    return None


backend.host_view = _host_view
