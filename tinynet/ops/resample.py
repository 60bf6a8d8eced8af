"""Resampling: interpolate (nearest, nearest-exact, linear, bilinear, area) and adaptive max pool.

None of these needs a Function of its own. Nearest picks input positions with an
index array per spatial dim (getitem: the gradient adds up where an input is
picked twice). Linear and bilinear are separable: along each spatial dim the
output is a fixed (out, in) interpolation matrix times the input, so bilinear is
`A_h @ x @ A_w^T`, two matmuls whose gradients (and their gradients) come with
matmul. Adaptive max pool finds each window's argmax on arrays and gathers it.
Source positions follow torch's formulas exactly (align_corners, scale_factor,
computed in the input's precision), so the results match torch's kernels.
"""

from __future__ import annotations

import math
import operator

import numpy as np  # host-side only: the few source indices of nearest resampling

from ..tensor import Tensor
from ._args import _floating, _in_int64, _tensor
from .elementwise import const
from .indexing import gather, getitem
from .linalg import matmul
from .movement import clone
from .pool import adaptive_avg_pool2d

__all__ = ["interpolate", "adaptive_max_pool2d"]

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")
_NEED_DIMS = {"linear": 3, "bilinear": 4}


def _opmath(x: Tensor):
    """The dtype torch computes source positions in: float32 for float16/32, else float64."""
    return "float64" if x.data.dtype == "float64" else "float32"


def _scale(n_in: int, n_out: int, align_corners: bool, scale) -> float:
    """torch's area_pixel_compute_scale: the input step per output step."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _nearest_index(n_in: int, n_out: int, scale, exact: bool, ft) -> np.ndarray:
    """The input position each output position copies (torch's nearest / nearest-exact),
    computed on the host in torch's precision (a few numbers per output row or column)."""
    s = np.asarray(1.0 / scale if scale is not None and scale > 0 else n_in / n_out, dtype=ft)
    dst = np.arange(n_out).astype(ft)
    if exact:
        dst = dst + np.asarray(0.5, dtype=ft)
    src = np.floor(dst * s).astype(np.int64)
    return np.minimum(src, n_in - 1)


def _pick(x: Tensor, axis: int, idx: np.ndarray) -> Tensor:
    """x's positions `idx` along `axis`: a view or an expand where the pattern allows (their
    backward is a sum or an assignment), else an index array (a scatter-add backward)."""
    n_in, n_out = x.shape[axis], len(idx)
    k = n_out // n_in if n_in else 0
    if k and n_out == k * n_in and np.array_equal(idx, np.repeat(np.arange(n_in), k)):
        # each input copied k times in a row: unsqueeze, expand, merge
        grown = x.unsqueeze(axis + 1)
        shape = list(grown.shape)
        shape[axis + 1] = k
        merged = list(x.shape)
        merged[axis] = n_out
        return grown.expand(*shape).reshape(*merged)
    step = int(idx[1] - idx[0]) if n_out > 1 else 1
    if step > 0 and np.array_equal(idx, idx[0] + step * np.arange(n_out)):
        index = (slice(None),) * axis + (slice(int(idx[0]), int(idx[-1]) + 1, step),)
        return getitem(x, index)
    index = (slice(None),) * axis + (const(x, x.device.backend.from_host(idx)),)
    return getitem(x, index)


def _linear_matrix(xp, n_in: int, n_out: int, align_corners: bool, scale, ft, dtype):
    """The (n_out, n_in) matrix of linear interpolation weights along one dim, as torch's."""
    s = xp.asarray(_scale(n_in, n_out, align_corners, scale), dtype=ft)
    dst = xp.arange(n_out).astype(ft)
    if align_corners:
        src = s * dst
    else:
        src = xp.maximum(s * (dst + xp.asarray(0.5, dtype=ft)) - xp.asarray(0.5, dtype=ft), 0)
    i0 = xp.minimum(xp.floor(src).astype("int64"), n_in - 1)
    lam1 = xp.clip(src - i0.astype(ft), 0, 1)
    lam0 = 1 - lam1
    i1 = i0 + (i0 < n_in - 1).astype("int64")
    cols = xp.arange(n_in)[None, :]
    m = (cols == i0[:, None]) * lam0[:, None] + (cols == i1[:, None]) * lam1[:, None]
    return m.astype(dtype)


def _output_size(op, x, size, scale_factor, recompute_scale_factor):
    """(output sizes, scale factors or None per dim) as torch's interpolate computes them."""
    dim = x.ndim - 2
    spatial = tuple(x.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(
                f"{op}: recompute_scale_factor is not meaningful with an explicit size"
            )
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * dim
        if len(sizes) != dim:
            raise ValueError(
                f"{op}: input and output must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {list(spatial)} and output size of "
                f"{size!r}; give the input as (N, C, d1, ...) and the size as (o1, ...)"
            )
        try:
            if any(isinstance(s, bool) for s in sizes):
                raise TypeError
            sizes = tuple(_in_int64(op, "size", operator.index(s)) for s in sizes)  # int-likes
        except TypeError:
            raise TypeError(
                f"{op}: expected size to be an int or a tuple of ints, got {size!r}"
            ) from None
        if any(s <= 0 for s in sizes):
            raise ValueError(f"{op}: output size must be positive, got {size!r}")
        return sizes, (None,) * dim
    if scale_factor is None:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) \
        else (scale_factor,) * dim  # fmt: skip
    if len(scales) != dim:
        raise ValueError(
            f"{op}: input and scale_factor must have the same number of spatial dimensions, but "
            f"got input with spatial dimensions of {list(spatial)} and scale_factor "
            f"{scale_factor!r}"
        )
    scales = tuple(float(s) for s in scales)
    if any(s <= 0 for s in scales):
        raise ValueError(f"{op}: scale_factor must be positive, got {scale_factor!r}")
    sizes = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
    if any(s <= 0 for s in sizes):
        raise ValueError(
            f"{op}: scale_factor {scale_factor!r} gives an empty output for input {tuple(x.shape)}"
        )
    return sizes, ((None,) * dim if recompute_scale_factor else scales)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:  # fmt: skip
    """Resize (N, C, d1, ...) input to `size`, or by `scale_factor`, as torch's interpolate.

    Args:
        input: (N, C, L) for "linear", (N, C, H, W) for "bilinear" and "area"; nearest
            modes take either.
        size: the output's spatial size: an int or one int per spatial dim.
        scale_factor: a multiplier (or one per dim); the output size is floor(in * scale).
        mode: "nearest" (torch's: floor(dst * in / out)), "nearest-exact"
            (floor((dst + 0.5) * in / out)), "linear", "bilinear" or "area" (adaptive
            average pooling).
        align_corners: for linear modes: True maps the corner pixels' centres onto each
            other; False (default) maps the corners' edges (half-pixel centres).
        recompute_scale_factor: True computes positions from the output size instead of
            the given scale_factor (they differ when in * scale is not an integer).
        antialias: must be False (not supported).

    Shape:
        output (N, C, *size).

    Example:
        >>> F.interpolate(tn.randn(1, 3, 8, 8), scale_factor=2, mode="bilinear").shape
        (1, 3, 16, 16)
    """
    op = "interpolate"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(
            f"{op}: mode {mode!r} is not supported; use one of {', '.join(_MODES)}"
        )
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError(
                f"{op}: align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    if input.ndim < 3:
        raise ValueError(
            f"{op}: input must be (N, C, d1, ...) with at least one spatial dim, got shape "
            f"{tuple(input.shape)}"
        )
    want = _NEED_DIMS.get(mode, 4 if mode == "area" else None)
    if want is not None and input.ndim != want:
        raise NotImplementedError(
            f"{op}: got {input.ndim}D input, but {mode} mode needs {want}D input "
            f"(input {tuple(input.shape)})"
        )
    if mode != "area" and input.ndim > 4:
        raise NotImplementedError(f"{op}: {input.ndim}D input is not supported (3D or 4D)")
    _floating(op, input, error=RuntimeError)
    sizes, scales = _output_size(op, input, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        return adaptive_avg_pool2d(input, sizes)
    xp, ft = input.device.xp, _opmath(input)
    nd = input.ndim
    out = input
    for k, (n_out, s) in enumerate(zip(sizes, scales)):
        axis = nd - len(sizes) + k
        n_in = input.shape[axis]
        if mode.startswith("nearest"):
            if n_in == n_out and s in (None, 1.0):
                continue
            idx = _nearest_index(n_in, n_out, s, mode == "nearest-exact", ft)
            out = _pick(out, axis, idx)
        else:
            m = const(
                input, _linear_matrix(xp, n_in, n_out, align_corners, s, ft, input.data.dtype)
            )
            if axis == nd - 1:
                out = matmul(out, m.T)
            else:
                out = matmul(m, out)
    return clone(out) if out is input else out  # a new tensor, as torch


def adaptive_max_pool2d(x: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size (torch's adaptive_max_pool2d).

    Output cell i covers input rows floor(i H / oH) to ceil((i + 1) H / oH), and the
    same for columns. The gradient goes to the (first) maximum of each window.

    Args:
        x: input (N, C, H, W) or (C, H, W).
        output_size: int or (oH, oW); None in the pair keeps that input size.
        return_indices: also return each maximum's flat index into H * W (int64).

    Shape:
        output (N, C, oH, oW).

    Example:
        >>> F.adaptive_max_pool2d(tn.randn(2, 8, 7, 7), (2, 3)).shape
        (2, 8, 2, 3)
    """
    op = "adaptive_max_pool2d"
    _tensor(op, x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: input must be 3-D or 4-D (N, C, H, W), got {tuple(x.shape)}")
    _floating(op, x, error=RuntimeError)
    if x.ndim == 3:
        out = adaptive_max_pool2d(x.unsqueeze(0), output_size, return_indices)
        return (out[0][0], out[1][0]) if return_indices else out[0]
    N, C, H, W = x.shape
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
        output_size = tuple(n if o is None else o for o, n in zip(output_size, (H, W)))
    else:
        output_size = (output_size, output_size)
    try:
        if any(isinstance(o, bool) for o in output_size):
            raise TypeError
        oH, oW = (_in_int64(op, "output_size", operator.index(o)) for o in output_size)
    except TypeError:
        raise TypeError(f"{op}: output_size must be ints, got {output_size!r}") from None
    if oH <= 0 or oW <= 0:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if H == 0 or W == 0:
        raise ValueError(f"{op}: input {tuple(x.shape)} has an empty spatial dim")
    xp = x.device.xp
    rows, kh = _windows(xp, H, oH)
    cols, kw = _windows(xp, W, oW)
    a = x.data
    win = a[:, :, rows[:, :, None, None], cols[None, None, :, :]]  # (N, C, oH, kh, oW, kw)
    win = win.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, oH, oW, kh * kw)
    k = xp.argmax(win, axis=-1)  # the first maximum, as torch (NaN counts as the maximum)
    r = rows[xp.arange(oH)[:, None], k // kw]
    c = cols[xp.arange(oW)[None, :], k % kw]
    idx = r * W + c  # (N, C, oH, oW)
    out = gather(x.reshape(N, C, H * W), 2, const(x, idx.reshape(N, C, oH * oW)))
    out = out.reshape(N, C, oH, oW)
    if return_indices:
        return out, const(x, idx.astype("int64"))
    return out


def _windows(xp, n: int, o: int):
    """Row indices (o, k) of each adaptive window, short windows padded by their last row."""
    i = xp.arange(o)
    start = (i * n) // o
    end = -((-(i + 1) * n) // o)
    k = min(-(-n // o) + 1, n)  # no window is longer than ceil(n / o) + 1
    rows = xp.minimum(start[:, None] + xp.arange(k)[None, :], end[:, None] - 1)
    return rows, k
