"""dtypes, the default dtype, and PyTorch's type promotion."""

from __future__ import annotations

import numpy as np


class DType:
    """A tinynet dtype: a name plus the NumPy dtype that stores it."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize", "_rank")

    def __init__(self, name: str, np_dtype, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.itemsize = self.np.itemsize
        self._rank = rank

    def __repr__(self) -> str:
        return f"tinynet.{self.name}"

    def __reduce__(self):  # copy/deepcopy keep the singleton
        return (_by_name, (self.name,))


bool_ = DType("bool", np.bool_, 0)
int32 = DType("int32", np.int32, 1)
int64 = DType("int64", np.int64, 2)
float16 = DType("float16", np.float16, 3)
float32 = DType("float32", np.float32, 4)
float64 = DType("float64", np.float64, 5)

ALL = (bool_, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_default = [float32]


def _by_name(name: str) -> DType:
    return _BY_NAME[name]


def _category(d: DType) -> int:
    """0 bool, 1 integer, 2 floating: a higher category wins regardless of size."""
    return 0 if d is bool_ else (2 if d.is_floating_point else 1)


def get_default_dtype() -> DType:
    return _default[0]


def set_default_dtype(d) -> None:
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
        raise TypeError(f"unknown dtype {d!r}; use one of {[str(x) for x in ALL]}") from None
    if nd in _BY_NP:
        return _BY_NP[nd]
    if nd.kind in "iu":  # uint8 images and friends become int64, as torch.tensor would keep int
        return int64
    raise TypeError(f"unsupported dtype {nd}; tinynet has {[str(x) for x in ALL]}")


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
