"""dtypes, the default dtype, and PyTorch's type promotion."""

from __future__ import annotations

import numpy as np


class DType:
    """A tinynet dtype: a name plus the NumPy dtype that stores it."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_rank")

    def __init__(self, name: str, np_dtype, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self._rank = rank

    def __repr__(self) -> str:
        return f"tinynet.{self.name}"

    def __reduce__(self):  # copy/deepcopy keep the singleton
        return (_by_name, (self.name,))


bool_ = DType("bool", np.bool_, 0)
uint8 = DType("uint8", np.uint8, 1)
int8 = DType("int8", np.int8, 2)
int16 = DType("int16", np.int16, 3)
int32 = DType("int32", np.int32, 4)
int64 = DType("int64", np.int64, 5)
float16 = DType("float16", np.float16, 6)
float32 = DType("float32", np.float32, 7)
float64 = DType("float64", np.float64, 8)

# torch's short names are the same objects: `tn.float is tn.float32`
half, float_, double = float16, float32, float64
short, int_, long = int16, int32, int64

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(half=half, float=float_, double=double, short=short, int=int_, long=long)
_default = [float32]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class UnsupportedDTypeError(TypeError):
    """A dtype tinynet cannot hold (uint16/32/64, complex, strings, objects): refused, never
    converted with a silent wrap (uint64 2**64-1 must not become -1)."""


def check_int(value, op: str, name: str = "value") -> None:
    """Raise OverflowError if the Python int `value` does not fit in int64 (ints never wrap)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not INT64_MIN <= value <= INT64_MAX:
            raise OverflowError(
                f"{op}: {name} {value} is out of the int64 range [{INT64_MIN}, {INT64_MAX}]"
            )


def check_scalar_fits(value, d: DType, op: str) -> None:
    """Raise OverflowError if the Python int `value` does not fit integer dtype `d`."""
    check_int(value, op)
    if isinstance(value, int) and not isinstance(value, bool) and _category(d) == 1:
        info = np.iinfo(d.np)
        if not info.min <= value <= info.max:
            raise OverflowError(
                f"{op}: the value {value} does not fit in a {d.name} tensor "
                f"(range [{info.min}, {info.max}])"
            )


def _by_name(name: str) -> DType:
    return _BY_NAME[name]


def _category(d: DType) -> int:
    """0 bool, 1 integer, 2 floating: a higher category wins regardless of size."""
    return 0 if d is bool_ else (2 if d.is_floating_point else 1)


def get_default_dtype() -> DType:
    """The dtype Python floats and float factories get (float32 unless set)."""
    return _default[0]


def set_default_dtype(d) -> None:
    """Set the default floating dtype (float16, float32 or float64)."""
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default[0] = d


def as_dtype(d) -> DType:
    """Accept a tinynet dtype, a NumPy dtype or a name ("float32"); return a DType."""
    if isinstance(d, DType):
        return d
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    if d is float:
        return get_default_dtype()
    if d is int:
        return int64
    if d is bool:
        return bool_
    try:
        nd = np.dtype(d)
    except TypeError:
        raise TypeError(f"unknown dtype {d!r}; use one of {_names()}") from None
    if nd in _BY_NP:
        return _BY_NP[nd]
    hint = "; convert it first, e.g. a.astype(numpy.int64)" if nd.kind in "iu" else ""
    raise UnsupportedDTypeError(f"unsupported dtype {nd}; tinynet has {_names()}{hint}")


def _names() -> str:
    return ", ".join(x.name for x in ALL)


def from_numpy_dtype(nd) -> DType:
    return _BY_NP.get(np.dtype(nd)) or as_dtype(nd)


def scalar_dtype(v) -> DType:
    """The dtype a Python scalar would have on its own."""
    if isinstance(v, bool):
        return bool_
    if isinstance(v, int):
        return int64
    return get_default_dtype()


def _wider(a: DType, b: DType) -> DType:
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    if ca == 1 and a is not b:  # uint8 with int8 gives int16: NumPy's integer rule is torch's
        return _BY_NP[np.promote_types(a.np, b.np)]
    return a if a._rank >= b._rank else b


def promote(*operands) -> DType:
    """PyTorch's result dtype for `operands`, given as (dtype, kind) pairs.

    kind 2 is a tensor with dimensions, 1 a zero-dim tensor, 0 a Python scalar.
    The highest category (bool < int < float) present wins; its width comes from
    the highest kind of operand in that category. So float32 tensor * 2.0 stays
    float32, an int tensor * 2.5 gives the default float dtype, and a float16
    tensor + a float64 0-dim tensor stays float16.
    """
    cat = max(_category(d) for d, _ in operands)
    top = [(d, k) for d, k in operands if _category(d) == cat]
    kind = max(k for _, k in top)
    if kind == 0:  # the category comes from Python scalars alone
        return (bool_, int64, get_default_dtype())[cat]
    result = None
    for d, k in top:
        if k == kind:
            result = d if result is None else _wider(result, d)
    return result


class finfo:
    """Machine limits of a floating dtype (`tn.finfo(tn.float32).eps`), as torch.finfo."""

    def __init__(self, type=None):
        d = get_default_dtype() if type is None else as_dtype(type)
        if not d.is_floating_point:
            raise TypeError(f"finfo: {d} is not a floating point dtype; use tn.iinfo")
        i = np.finfo(d.np)
        self.dtype, self.bits = d.name, int(i.bits)
        self.eps, self.max, self.min = float(i.eps), float(i.max), float(i.min)
        self.tiny = self.smallest_normal = float(i.smallest_normal)
        self.resolution = float(i.resolution)

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.tiny:g}, dtype={self.dtype})"
        )


class iinfo:
    """Limits of an integer dtype (`tn.iinfo(tn.uint8).max`), as torch.iinfo."""

    def __init__(self, type):
        d = as_dtype(type)
        if _category(d) != 1:
            raise TypeError(f"iinfo: {d} is not an integer dtype; use tn.finfo")
        i = np.iinfo(d.np)
        self.dtype, self.bits, self.min, self.max = d.name, int(i.bits), int(i.min), int(i.max)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
