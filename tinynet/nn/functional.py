"""`tinynet.nn.functional` (F): layers and losses as functions: argument checks, then ops.

Most functions compose registered ops. Four are fused Functions of their own,
because composing them would cost several passes over the data and several
graph nodes: `linear` (one GEMM), `batch_norm` (training mode), the
log_softmax + NLL of `cross_entropy`, and `binary_cross_entropy_with_logits`.
Each backward is hand derived but written with tinynet ops, so double backward
works through them as through any op. Conv and pooling are the ops of
`tinynet.ops.conv` / `tinynet.ops.pool`, re-exported here.
"""

from __future__ import annotations

import warnings

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..backend import generator
from ..ops import activation as _act
from ..ops._args import _floating, _int, _number, _tensor_first
from ..ops.broadcast import unbroadcast
from ..ops.conv import conv2d, conv_transpose2d
from ..ops.elementwise import const, exp, gelu, log, sigmoid, tanh, where
from ..ops.elementwise import leaky_relu as _leaky_relu
from ..ops.elementwise import relu as _relu
from ..ops.fold import col2im as fold
from ..ops.fold import im2col as unfold
from ..ops.indexing import chunk as _chunk
from ..ops.linalg import mm
from ..ops.movement import pad
from ..ops.norm import group_norm, layer_norm
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ..ops.reduce import amax as _amax
from ..ops.reduce import log_softmax as _log_softmax
from ..ops.reduce import softmax as _softmax
from ..ops.registry import Arg, Int, Sample, register
from ..ops.resample import adaptive_max_pool2d as _adaptive_max_pool2d
from ..ops.resample import interpolate
from ..tensor import Tensor

__all__ = [
    "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "pad",
    "linear", "relu", "relu_", "leaky_relu", "leaky_relu_", "gelu", "sigmoid", "tanh",
    "softmax", "log_softmax",
    "dropout", "batch_norm", "cross_entropy", "nll_loss", "mse_loss",
    "binary_cross_entropy_with_logits",
    # activations
    "silu", "mish", "elu", "selu", "celu", "softplus", "logsigmoid", "hardtanh", "relu6",
    "hardsigmoid", "hardswish", "softsign", "tanhshrink", "prelu", "glu", "normalize",
    # dropout, embedding, normalisation, resampling
    "dropout1d", "dropout2d", "dropout3d", "one_hot", "embedding", "layer_norm", "group_norm",
    "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices", "unfold", "fold",
    # losses
    "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "binary_cross_entropy",
    # similarities
    "cosine_similarity", "pairwise_distance",
]  # fmt: skip


def _shape(t) -> tuple:
    return tuple(t.shape)


def _need_tensor(op: str, name: str, v) -> None:
    if not isinstance(v, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(v).__name__}")


def _need_float(op: str, name: str, t: Tensor) -> None:
    _floating(op, t, name, hint="; convert it with .float()")


def _same_dtype(op: str, **tensors) -> None:
    items = [(k, t) for k, t in tensors.items() if t is not None]
    first_name, first = items[0]
    for k, t in items[1:]:
        if t.dtype != first.dtype:
            raise RuntimeError(
                f"{op}: {first_name} is {first.dtype.name} but {k} is {t.dtype.name}; convert "
                f"one with .to(tn.{first.dtype.name})"
            )


def _no_grad_arg(op: str, name: str, t) -> None:
    if t is not None and t.requires_grad:
        raise RuntimeError(
            f"{op}: the loss is not differentiable with respect to {name}, which requires grad; "
            f"pass {name}.detach()"
        )


# ----- linear ---------------------------------------------------------------------------------


@register
class Linear(Function):
    """y = x @ w.T + b   (x: (..., in), w: (out, in), b: (out,))
    dx = grad @ w;  dw = grad2d.T @ x2d (leading dims flattened);  db = grad2d.sum(0)
    """

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        y = mm(ctx.device, x, w.T)  # BLAS reads the transposed view directly: no copy of w
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        dx = dw = db = None
        if need_x:
            dx = grad @ w
        if need_w or need_b:
            g2 = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
            if need_w:
                x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
                dw = g2.T @ x2  # one GEMM over every row of the batch
            if need_b:
                db = g2.sum(0)
        return dx, dw, db


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map `input @ weight.T + bias`, one GEMM.

    Args:
        input: (..., in_features).
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Shape:
        output: (..., out_features).

    Example:
        >>> y = F.linear(tn.randn(8, 3), tn.randn(5, 3), tn.zeros(5))  # (8, 5)
    """
    _need_tensor("linear", "input", input)
    _need_tensor("linear", "weight", weight)
    if bias is not None:
        _need_tensor("linear", "bias", bias)
    if weight.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out, in), got shape {_shape(weight)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(
            f"linear: input has {input.shape[-1] if input.ndim else 0} features in its last dim, "
            f"weight expects {weight.shape[1]} (input {_shape(input)}, weight {_shape(weight)})"
        )
    if bias is not None and _shape(bias) != (weight.shape[0],):
        raise RuntimeError(f"linear: bias must have shape ({weight.shape[0]},), got {_shape(bias)}")
    _same_dtype("linear", input=input, weight=weight, bias=bias)
    return Linear.apply(input, weight, bias)


# ----- activations --------------------------------------------------------------------------


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (optionally cast to `dtype` first)."""
    if dtype is not None:
        input = input.to(dtype)
    return _softmax(input, dim)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """log(softmax(x)) along `dim`, computed without overflow."""
    if dtype is not None:
        input = input.to(dtype)
    return _log_softmax(input, dim)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0); `inplace=True` writes the result into `input` (torch's rules)."""
    return input.relu_() if inplace else _relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place relu: `relu(input, inplace=True)`."""
    return input.relu_()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input if input > 0 else negative_slope * input; `inplace=True` writes into `input`."""
    if inplace:
        return input._inplace_op("leaky_relu_", _leaky_relu, negative_slope)
    return _leaky_relu(input, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place leaky_relu: `leaky_relu(input, negative_slope, inplace=True)`."""
    return leaky_relu(input, negative_slope, inplace=True)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability `p` and scale the rest by 1 / (1 - p) (inverted dropout).

    The mask comes from the device's generator (`tn.manual_seed`). With
    `training=False` or `p=0` the input is returned as is. `inplace` is accepted
    for PyTorch compatibility; the result is always a new tensor.

    Example:
        >>> y = F.dropout(x, 0.2, training=model.training)
    """
    _need_tensor("dropout", "input", input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return input
    _need_float("dropout", "input", input)
    xp = input.device.xp
    if p == 1.0:
        mask = xp.zeros(input.shape, dtype=input.data.dtype)
    else:
        rdt = "float64" if input.data.dtype == "float64" else "float32"
        keep = generator(input.device).random(input.shape, dtype=rdt) >= p
        mask = keep.astype(input.data.dtype) * input.data.dtype.type(1.0 / (1.0 - p))
    return input * const(input, mask)


# ----- batch norm ---------------------------------------------------------------------------


def _channel_shape(x_ndim: int, C: int) -> tuple:
    return (1, C) + (1,) * (x_ndim - 2)


def _stat_axes(x_ndim: int) -> tuple:
    return (0,) + tuple(range(2, x_ndim))


@register
class BatchNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b   (mean, biased var over every dim but 1)
    dx = w / sqrt(var + eps) * (grad - mean(grad) - xhat * mean(grad * xhat));  dw = sum(grad * xhat);  db = sum(grad)
    """  # noqa: E501

    @staticmethod
    def forward(ctx, x, w, b, running_mean, running_var, momentum, eps):
        xp = ctx.device.xp
        axes, shape = _stat_axes(x.ndim), _channel_shape(x.ndim, x.shape[1])
        n = x.size // x.shape[1]
        mean = x.mean(axis=axes, keepdims=True)
        xhat = x - mean
        var = xp.square(xhat).mean(axis=axes, keepdims=True)
        invstd = 1.0 / xp.sqrt(var + eps)
        xhat *= invstd
        if w is not None:
            y = xhat * w.reshape(shape)
            if b is not None:
                y += b.reshape(shape)
        else:  # never return xhat itself: it is saved for backward
            y = xhat + b.reshape(shape) if b is not None else xhat.copy()
        if running_mean is not None:  # as torch: the running variance is the unbiased one
            running_mean *= 1.0 - momentum
            running_mean += momentum * mean.reshape(-1).astype(running_mean.dtype)
        if running_var is not None:
            running_var *= 1.0 - momentum
            unbiased = var.reshape(-1) * (n / max(n - 1, 1))
            running_var += momentum * unbiased.astype(running_var.dtype)
        ctx.save_for_backward(x, w)
        ctx.cache = (xhat, invstd)  # intermediates: for a first-order backward only
        ctx.axes, ctx.shape, ctx.eps = axes, shape, eps
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        axes, shape = ctx.axes, ctx.shape
        if is_grad_enabled():  # create_graph: xhat and invstd from x with ops, carrying its graph
            centred = x - x.mean(axes, keepdim=True)
            invstd = ((centred * centred).mean(axes, keepdim=True) + ctx.eps) ** -0.5
            xhat = centred * invstd
        else:  # first order: the forward's arrays, constants as they may be
            xhat, invstd = (const(x, a) for a in ctx.cache)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        gx = (grad * xhat).sum(axes, keepdim=True) if need_x or need_w else None
        if need_x:
            n = x.numel() // x.shape[1]
            scale = invstd if w is None else invstd * w.reshape(shape)
            dx = (grad - grad.mean(axes, keepdim=True) - xhat * (gx * (1.0 / n))) * scale
        if need_w:
            dw = gx.reshape(-1)
        if need_b:
            db = grad.sum(axes)
        return dx, dw, db, None, None, None, None


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over every dim but the channel dim 1.

    Training mode normalises with the batch statistics and, where running
    statistics are given, updates them in place:
    `running = (1 - momentum) * running + momentum * batch` (the unbiased
    batch variance, as torch). Eval mode normalises with the running statistics.

    Args:
        input: (N, C), (N, C, L) or (N, C, H, W).
        running_mean, running_var: (C,) or None.
        weight, bias: (C,) or None (no affine transform).
        training: use batch statistics (and update the running ones).
        momentum: the running statistics' update factor.
        eps: added to the variance.

    Shape:
        output: the input's shape.

    Example:
        >>> y = F.batch_norm(x, rm, rv, w, b, training=True)
    """
    _need_tensor("batch_norm", "input", input)
    _need_float("batch_norm", "input", input)
    if input.ndim < 2:
        raise ValueError(
            f"batch_norm: input must have at least 2 dims (N, C, ...), got shape {_shape(input)}"
        )
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):  # fmt: skip
        if t is not None:
            _need_tensor("batch_norm", name, t)
        if t is not None and _shape(t) != (C,):
            raise RuntimeError(
                f"batch_norm: {name} must have shape ({C},) for input {_shape(input)} with {C} "
                f"channels, got {_shape(t)}"
            )
    _same_dtype("batch_norm", input=input, weight=weight, bias=bias)
    if training:
        if input.numel() // max(C, 1) <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {_shape(input)}"
            )
        return BatchNorm.apply(input, weight, bias, running_mean, running_var, float(momentum),
                               float(eps))  # fmt: skip
    if running_mean is None or running_var is None:
        raise RuntimeError(
            "batch_norm: running_mean and running_var are needed in eval mode (training=False)"
        )
    # eval: an affine map per channel, y = x * scale + shift, composed from ops
    shape = _channel_shape(input.ndim, C)
    scale = (running_var.to(input.dtype) + eps) ** -0.5
    if weight is not None:
        scale = scale * weight
    shift = -running_mean.to(input.dtype) * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


# ----- losses ------------------------------------------------------------------------------------

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_class_target(
    op: str, input: Tensor, target: Tensor, ignore_index: int, check_range: bool = True
) -> None:
    """Integer class indices of the right shape, each in [0, C) or equal to ignore_index
    (`check_range=False`: the backend's softmax_xent checks that without a host sync)."""
    _need_tensor(op, "target", target)
    if target.dtype.is_floating_point or target.dtype.name == "bool":
        raise TypeError(
            f"{op}: target must hold integer class indices (int64), got a {target.dtype.name} "
            f"tensor of shape {_shape(target)}; convert it with target.long() (probability "
            "targets are not supported)"
        )
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dim, got a 0-d tensor")
    want = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if _shape(target) != want:
        if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(
                f"{op}: input batch size {input.shape[0]} does not match target batch size "
                f"{target.shape[0]} (input {_shape(input)}, target {_shape(target)})"
            )
        raise RuntimeError(
            f"{op}: target of shape {_shape(target)} does not fit input of shape "
            f"{_shape(input)}; expected target shape {want}"
        )
    if not check_range:
        return
    C = input.shape[0] if input.ndim == 1 else input.shape[1]
    t = target.data
    bad = ((t < 0) | (t >= C)) & (t != ignore_index)
    backend = target.device.backend
    if bool(backend.to_host(bad.any())):
        value = int(backend.to_host(t[bad][:1])[0])
        raise IndexError(
            f"{op}: target {value} is out of bounds for {C} classes (valid targets are 0..{C - 1}"
            f", or ignore_index={ignore_index})"
        )


def _check_class_weight(op: str, weight, C: int, input: Tensor) -> None:
    if weight is None:
        return
    _need_tensor(op, "weight", weight)
    if _shape(weight) != (C,):
        raise RuntimeError(
            f"{op}: weight must have one entry per class, shape ({C},), got {_shape(weight)}"
        )
    _same_dtype(op, input=input, weight=weight)
    _no_grad_arg(op, "weight", weight)


def _per_class(weight, ndim: int):
    """A (C,) class weight shaped to broadcast along dim 1 of an ndim-dim input."""
    return weight.reshape(_channel_shape(ndim, weight.shape[0]))


def _target_weights(xp, target, weight, ignore_index, dtype):
    """Per element: the clamped target index (N, 1, ...), its weight, the non-ignored mask."""
    valid = target != ignore_index
    t = xp.where(valid, target, 0)
    wt = valid.astype(dtype) if weight is None else weight[t] * valid
    return t[:, None], wt, valid


def _reduce(xp, loss, wt, reduction):
    """The reduced loss and, for "mean", the divisor (the targets' total weight, an array)."""
    if reduction == "none":
        return loss, None
    if reduction == "sum":
        return loss.sum(), None
    denom = xp.asarray(wt.sum())
    return loss.sum() / denom, denom


def _grad_factor(grad: Tensor, ctx) -> Tensor:
    """The upstream gradient, shaped to broadcast against (N, C, ...)."""
    if ctx.reduction == "none":
        return grad.unsqueeze(1)
    if ctx.reduction == "mean":
        return grad / const(grad, ctx.denom)
    return grad


@register
class CrossEntropy(Function):
    """loss_i = -sum_c q_ic * log_softmax(x)_ic,  q_i = (1 - ls) * w[t_i] * onehot(t_i) + ls / C * w
    dx_i = grad_i * (softmax(x)_i * sum_c q_ic - q_i)   (mean: divided by sum_i w[t_i])
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction, label_smoothing):
        xp = ctx.device.xp
        C, ls = x.shape[1], label_smoothing
        # per-sample loss and p = softmax(x) (for backward): one fused kernel on a GPU, which
        # also checks the targets' range there (raising at the next sync, docs/backends.md)
        loss, p = ctx.device.backend.softmax_xent(x, target, weight, ignore_index, ls)
        t, wt, valid = _target_weights(xp, target, weight, ignore_index, x.dtype)
        wsum = C if weight is None else weight.sum()  # sum_c w_c
        out, ctx.denom = _reduce(xp, loss, wt, reduction)
        ctx.save_for_backward(x)
        ctx.cache = p  # softmax(x): an intermediate, for a first-order backward only
        ctx.t, ctx.wt, ctx.valid, ctx.weight = t, wt, valid, weight
        ctx.reduction, ctx.ls = reduction, ls
        # a_i = sum_c q_ic: the weight of sample i's target distribution
        ctx.a = (1.0 - ls) * wt + valid.astype(x.dtype) * (wsum * (ls / C))
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xp = grad.device.xp
        C, ls, dt = x.shape[1], ctx.ls, x.data.dtype
        onehot = xp.arange(C).reshape(_channel_shape(x.ndim, C)) == ctx.t
        q = onehot * ((1.0 - ls) * ctx.wt)[:, None]  # q_i: sample i's target distribution
        if ls:
            wc = 1.0 if ctx.weight is None else _per_class(ctx.weight, x.ndim)
            q = q + (ls / C) * ctx.valid[:, None] * wc
        # softmax(x): with ops under create_graph (it carries x's graph), else the forward's
        P = _softmax(x, 1) if is_grad_enabled() else const(x, ctx.cache)
        A, Q = const(x, ctx.a.astype(dt, copy=False)[:, None]), const(x, q.astype(dt))
        return (P * A - Q) * _grad_factor(grad, ctx), None, None, None, None, None


# Class weights in samples are fixed constants: the generic test perturbs and differentiates
# every shape argument, and these losses have no gradient for their weights (as torch).
_W5 = (0.5, 1.0, 2.0, 0.25, 1.5)


def _const_like(x: Tensor, values) -> Tensor:
    return const(x, x.device.xp.asarray(values, dtype=x.data.dtype))


def _unbatched(input: Tensor, target: Tensor):
    """A (C,) input with a 0-d target becomes a batch of one."""
    return input.unsqueeze(0), target.reshape(1)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross entropy between logits and integer class targets: log_softmax + NLL, fused.

    Stable at any logit size (the max is subtracted before exp). With
    `reduction="mean"` the sum is divided by the total weight of the targets
    that are not `ignore_index`, as torch does.

    Args:
        input: logits (N, C) or (N, C, d1, ...), or (C,) for one sample.
        target: int64 class indices (N,) or (N, d1, ...), each in [0, C) or ignore_index.
        weight: a (C,) rescaling weight per class, or None.
        ignore_index: a target value that contributes neither loss nor gradient.
        reduction: "mean", "sum" or "none".
        label_smoothing: in [0, 1]; mixes the one-hot target with the uniform distribution.

    Shape:
        output: () for "mean"/"sum", the target's shape for "none".

    Example:
        >>> loss = F.cross_entropy(model(x), y)
    """
    _need_tensor("cross_entropy", "input", input)
    _need_float("cross_entropy", "input", input)
    _check_reduction("cross_entropy", reduction)
    label_smoothing = _number("cross_entropy", "label_smoothing", label_smoothing)
    ignore_index = _int("cross_entropy", "ignore_index", ignore_index)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    _check_class_target("cross_entropy", input, target, ignore_index, check_range=False)
    C = input.shape[0] if input.ndim == 1 else input.shape[1]
    _check_class_weight("cross_entropy", weight, C, input)
    if input.ndim == 1:
        loss = CrossEntropy.apply(*_unbatched(input, target), weight, int(ignore_index),
                                  reduction, float(label_smoothing))  # fmt: skip
        return loss.reshape(()) if reduction == "none" else loss
    return CrossEntropy.apply(input, target, weight, int(ignore_index), reduction,
                              float(label_smoothing))  # fmt: skip


@register
class NllLoss(Function):
    """loss_i = -w[t_i] * x[i, t_i]
    dx = -grad * w[t_i] * onehot(t_i)   (mean: divided by sum_i w[t_i])
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        xp = ctx.device.xp
        t, wt, _ = _target_weights(xp, target, weight, ignore_index, x.dtype)
        loss = -xp.take_along_axis(x, t, axis=1)[:, 0] * wt
        out, ctx.denom = _reduce(xp, loss, wt, reduction)
        ctx.t, ctx.wt, ctx.reduction = t, wt, reduction
        ctx.x_ndim, ctx.C = x.ndim, x.shape[1]
        return out

    @staticmethod
    def backward(ctx, grad):
        xp = grad.device.xp
        onehot = xp.arange(ctx.C).reshape(_channel_shape(ctx.x_ndim, ctx.C)) == ctx.t
        q = (onehot * -ctx.wt[:, None]).astype(ctx.wt.dtype)
        return const(grad, q) * _grad_factor(grad, ctx), None, None, None, None


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of integer class targets, given log-probabilities.

    Args:
        input: log-probabilities (N, C) or (N, C, d1, ...), or (C,).
        target: int64 class indices (N,) or (N, d1, ...), each in [0, C) or ignore_index.
        weight: a (C,) rescaling weight per class, or None.
        ignore_index: a target value that contributes neither loss nor gradient.
        reduction: "mean" (divided by the targets' total weight), "sum" or "none".

    Example:
        >>> loss = F.nll_loss(F.log_softmax(logits, 1), y)
    """
    _need_tensor("nll_loss", "input", input)
    _need_float("nll_loss", "input", input)
    _check_reduction("nll_loss", reduction)
    _check_class_target("nll_loss", input, target, ignore_index)
    C = input.shape[0] if input.ndim == 1 else input.shape[1]
    _check_class_weight("nll_loss", weight, C, input)
    if input.ndim == 1:
        loss = NllLoss.apply(*_unbatched(input, target), weight, int(ignore_index), reduction)
        return loss.reshape(()) if reduction == "none" else loss
    return NllLoss.apply(input, target, weight, int(ignore_index), reduction)


def _apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _softplus_neg(x: Tensor) -> Tensor:
    """log(1 + exp(-x)) without overflow, with ops."""
    return relu(-x) + log(1 + exp(-x.abs()))


@register
class BinaryCrossEntropyWithLogits(Function):
    """loss = w * ((1 - t) * x + L * log(1 + exp(-x))),  L = 1 + (pw - 1) * t   (elementwise)
    dx = grad * w * (L * sigmoid(x) - pw * t);  dt = grad * w * ((pw - 1) * log(1 + exp(-x)) - x)
    """

    @staticmethod
    def forward(ctx, x, t, w, pw):
        xp = ctx.device.xp
        sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # log(1 + exp(-x)), stable
        loss = (1 - t) * x + (sp if pw is None else (1 + (pw - 1) * t) * sp)
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, t, w, pw)
        return loss

    @staticmethod
    def backward(ctx, grad):
        x, t, w, pw = ctx.saved_tensors
        g = grad if w is None else grad * w
        dx = dt = None
        if ctx.needs_input_grad[0]:
            if pw is None:
                dx = g * (sigmoid(x) - t)
            else:
                dx = g * ((1 + (pw - 1) * t) * sigmoid(x) - pw * t)
        if ctx.needs_input_grad[1]:
            dt = -g * x if pw is None else g * ((pw - 1) * _softplus_neg(x) - x)
        return _unbroadcast_to(dx, x), _unbroadcast_to(dt, t), None, None


def _unbroadcast_to(g, like):
    return None if g is None else unbroadcast(g, like.shape)


_W4, _PW4 = (0.5, 1.0, 2.0, 0.25), (3.0, 0.5, 1.0, 2.0)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross entropy of sigmoid(input) against `target`, fused and stable at large |x|.

    Args:
        input: logits of any shape.
        target: probabilities in [0, 1], the input's shape.
        weight: a rescaling weight broadcast over the input, or None.
        reduction: "mean", "sum" or "none".
        pos_weight: a weight of the positive term per class (broadcast along the last dim).

    Example:
        >>> loss = F.binary_cross_entropy_with_logits(logits, labels.float())
    """
    op = "binary_cross_entropy_with_logits"
    _need_tensor(op, "input", input)
    _need_tensor(op, "target", target)
    _need_float(op, "input", input)
    _need_float(op, "target", target)
    _check_reduction(op, reduction)
    if _shape(target) != _shape(input):
        raise ValueError(
            f"{op}: target size {_shape(target)} must be the same as input size {_shape(input)}"
        )
    _same_dtype(op, input=input, target=target, weight=weight, pos_weight=pos_weight)
    for name, t in (("weight", weight), ("pos_weight", pos_weight)):
        _no_grad_arg(op, name, t)
        if t is not None:
            try:
                ok = _broadcast_shape(_shape(t), _shape(input)) == _shape(input)
            except ValueError:
                ok = False
            if not ok:
                raise RuntimeError(
                    f"{op}: {name} of shape {_shape(t)} does not broadcast to the input's shape "
                    f"{_shape(input)}"
                )
    loss = BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight)
    return _apply_reduction(loss, reduction)


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ValueError("shapes do not broadcast")
        out.append(max(x, y))
    return tuple(out)


# ----- more activations (the ops of tinynet.ops.activation, with torch's inplace=) ------------


def _maybe_inplace(name: str, fn, input: Tensor, inplace: bool, *args) -> Tensor:
    """torch's `inplace=`: write `fn(input, *args)` into `input` under the engine's in-place
    rules (the version counter, rebasing onto fn's node), or compute it out of place."""
    if inplace:
        return input._inplace_op(name + "_", fn, *args)
    return fn(input, *args)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """SiLU (swish): x * sigmoid(x).

    Example:
        >>> y = F.silu(x)
    """
    return _maybe_inplace("silu", _act.silu, input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mish: x * tanh(softplus(x))."""
    return _maybe_inplace("mish", _act.mish, input, inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """ELU: x if x > 0 else alpha * (exp(x) - 1)."""
    return _maybe_inplace("elu", _act.elu, input, inplace, alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """SELU: scale * elu(x, alpha) with alpha = 1.6733, scale = 1.0507 (torch's constants)."""
    return _maybe_inplace("selu", _act.selu, input, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """CELU: x if x > 0 else alpha * (exp(x / alpha) - 1)."""
    return _maybe_inplace("celu", _act.celu, input, inplace, alpha)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus: log(1 + exp(beta * x)) / beta; x itself where beta * x > threshold."""
    return _act.softplus(input, beta, threshold)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed without overflow."""
    return _act.logsigmoid(input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:  # fmt: skip
    """Hardtanh: x clipped to [min_val, max_val] (no gradient at or beyond the bounds)."""
    return _maybe_inplace("hardtanh", _act.hardtanh, input, inplace, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """ReLU6: min(max(x, 0), 6)."""
    return _maybe_inplace("relu6", _act.relu6, input, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Hardsigmoid: min(max(x + 3, 0), 6) / 6."""
    return _maybe_inplace("hardsigmoid", _act.hardsigmoid, input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """Hardswish: x * min(max(x + 3, 0), 6) / 6."""
    return _maybe_inplace("hardswish", _act.hardswish, input, inplace)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - tanh(input)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else a * x, with a learned slope `weight` (one, or one per channel of dim 1).

    Example:
        >>> y = F.prelu(x, tn.full((1,), 0.25))
    """
    _need_tensor("prelu", "input", input)
    _need_tensor("prelu", "weight", weight)
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: weight must be 1-D, got shape {_shape(weight)}")
    n = weight.numel()
    if n != 1:
        C = input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim else 1)
        if n != C:
            raise RuntimeError(
                f"prelu: mismatch in parameter count: weight has {n} entries, the input "
                f"{_shape(input)} has {C} channels (dim 1); use 1 or {C}"
            )
        if input.ndim >= 2:
            weight = weight.reshape(_channel_shape(input.ndim, n))
    elif input.ndim:
        weight = weight.reshape(())
    return where(input > 0, input, weight * input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a * sigmoid(b), where a and b are the halves of `input` along `dim`."""
    _need_tensor("glu", "input", input)
    if input.ndim == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size {n}")
    a, b = _chunk(input, 2, dim)
    return a * sigmoid(b)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:  # fmt: skip
    """input / max(||input||_p along dim, eps).

    Example:
        >>> unit = F.normalize(embeddings, dim=-1)
    """
    _need_tensor("normalize", "input", input)
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    if p == 2:
        norm = (input * input).sum(dim, keepdim=True).sqrt()
    elif p == 1:
        norm = input.abs().sum(dim, keepdim=True)
    elif p == float("inf"):
        norm = _amax(input.abs(), dim, keepdim=True)
    else:
        norm = (input.abs() ** p).sum(dim, keepdim=True) ** (1.0 / p)
    return input / norm.clamp(min=eps)


# ----- channel dropout ------------------------------------------------------------------------


def _feature_dropout(op: str, input: Tensor, p: float, training: bool) -> Tensor:
    """Zero whole channels (dim 1 of (N, C, ...)) with probability p; scale the rest."""
    _need_tensor(op, "input", input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    _need_float(op, "input", input)
    if input.ndim < 2:
        raise RuntimeError(
            f"{op}: feature dropout needs at least 2 dims (N, C, ...), got shape {_shape(input)}"
        )
    xp = input.device.xp
    mshape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    if p == 1.0:
        mask = xp.zeros(mshape, dtype=input.data.dtype)
    else:
        rdt = "float64" if input.data.dtype == "float64" else "float32"
        keep = generator(input.device).random(mshape, dtype=rdt) >= p
        mask = keep.astype(input.data.dtype) * input.data.dtype.type(1.0 / (1.0 - p))
    return input * const(input, mask)


def _no_batch(op: str, input: Tensor, want: int, spatial: str) -> bool:
    """Warn as torch for an input that is neither want-1 nor want dims; True if unbatched."""
    if input.ndim not in (want - 1, want):
        warnings.warn(
            f"{op}: Received a {input.ndim}-D input to {op}, which is deprecated and will "
            f"result in an error in a future release. To retain the behavior and silence this "
            f"warning, please use dropout instead. Note that {op} exists to provide channel-wise "
            f"dropout on inputs with {spatial} spatial dimensions, a channel dimension, and an "
            f"optional batch dimension (i.e. {want - 1}D or {want}D inputs).",
            stacklevel=3,
        )
    return input.ndim == want - 1


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:  # fmt: skip
    """Zero whole channels of (N, C, L) or (C, L) input with probability p (channel dropout).

    `inplace` is accepted for PyTorch compatibility; the result is a new tensor.
    """
    _need_tensor("dropout1d", "input", input)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, "
            "a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."
        )
    if input.ndim == 2:
        return _feature_dropout("dropout1d", input.unsqueeze(0), p, training).squeeze(0)
    return _feature_dropout("dropout1d", input, p, training)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:  # fmt: skip
    """Zero whole channels of (N, C, H, W) input with probability p, scaling the rest by
    1 / (1 - p) (spatial dropout, Tompson et al.).

    As torch, a 3-D input is taken as (N, C, L) with a warning (channel-wise 1-D
    dropout). The mask comes from the device's generator (`tn.manual_seed`).
    `inplace` is accepted for PyTorch compatibility; the result is a new tensor.

    Example:
        >>> y = F.dropout2d(feature_maps, 0.1, training=model.training)
    """
    _need_tensor("dropout2d", "input", input)
    _no_batch("dropout2d", input, 4, "2")
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _feature_dropout("dropout2d", input, p, training)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:  # fmt: skip
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability p."""
    _need_tensor("dropout3d", "input", input)
    if _no_batch("dropout3d", input, 5, "3"):
        return _feature_dropout("dropout3d", input.unsqueeze(0), p, training).squeeze(0)
    return _feature_dropout("dropout3d", input, p, training)


# ----- embedding and one-hot --------------------------------------------------------------------


def _check_index(op: str, name: str, t) -> None:
    _need_tensor(op, name, t)
    if t.dtype.name not in ("int64", "int32"):
        raise RuntimeError(
            f"{op}: expected {name} to be an integer tensor (Long or Int), got {t.dtype.name} "
            f"of shape {_shape(t)}; convert it with .long()"
        )


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(..., num_classes) int64 one-hot encoding of an int64 tensor of class indices.

    With `num_classes=-1` the number of classes is the largest value plus one.

    Example:
        >>> F.one_hot(tn.tensor([0, 2]), 3).tolist()
        [[1, 0, 0], [0, 0, 1]]
    """
    op = "one_hot"
    _need_tensor(op, "tensor", tensor)
    if tensor.dtype.name != "int64":
        raise RuntimeError(
            f"{op}: is only applicable to index tensor of type LongTensor (int64), got "
            f"{tensor.dtype.name}"
        )
    xp = tensor.device.xp
    a = tensor.data
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0:
            raise RuntimeError(f"{op}: Class values must be non-negative, got {lo}")
    elif num_classes == -1:
        raise RuntimeError(f"{op}: Can not infer total number of classes from empty tensor.")
    else:
        hi = -1
    if num_classes == -1:
        num_classes = hi + 1
    elif num_classes < -1 or hi >= num_classes:
        raise RuntimeError(
            f"{op}: Class values must be smaller than num_classes ({num_classes}), got {hi}"
        )
    out = (a[..., None] == xp.arange(int(num_classes))).astype("int64")
    return const(tensor, out)


def _renorm_rows(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """torch's embedding_renorm_: rows that `input` uses with a norm above max_norm are scaled
    in place to norm max_norm (under no_grad, as torch)."""
    xp = weight.device.xp
    rows = xp.unique(input.data.reshape(-1))
    w = weight.data
    picked = w[rows]
    if norm_type == float("inf"):
        norms = xp.abs(picked).max(axis=1)
    else:
        norms = (xp.abs(picked) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] = picked * scale[:, None]
    weight._version += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:  # fmt: skip
    """Look up rows of `weight` by the integer indices in `input`: weight[input].

    Args:
        input: integer indices of any shape, each in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim).
        padding_idx: the row at this index gets no gradient (it still reads as stored).
        max_norm: rows looked up whose norm exceeds this are rescaled in place first.
        norm_type: the p of the max_norm norm.
        scale_grad_by_freq: not supported (raises NotImplementedError).
        sparse: accepted; the gradient is always dense.

    Shape:
        output: input.shape + (embedding_dim,).

    Example:
        >>> vecs = F.embedding(tn.tensor([[1, 2], [4, 0]]), tn.randn(10, 3))  # (2, 2, 3)
    """
    op = "embedding"
    _check_index(op, "input", input)
    _need_tensor(op, "weight", weight)
    if weight.ndim != 2:
        raise RuntimeError(f"{op}: weight must be 2-D, got shape {_shape(weight)}")
    if input.device != weight.device:
        raise RuntimeError(
            f"{op}: indices are on {input.device} but the weight on {weight.device}; move one"
        )
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"{op}: padding_idx {padding_idx} must be within num_embeddings {num}")
        padding_idx %= num
    if scale_grad_by_freq:
        raise NotImplementedError(f"{op}: scale_grad_by_freq=True is not supported")
    if input.data.size:
        lo, hi = int(input.data.min()), int(input.data.max())
        if lo < 0 or hi >= num:
            raise IndexError(
                f"{op}: index {lo if lo < 0 else hi} is out of range for a weight of "
                f"{num} rows (shape {_shape(weight)})"
            )
    if max_norm is not None:
        _renorm_rows(weight, input, float(max_norm), float(norm_type))
    out = weight[input]
    if padding_idx is not None and out.requires_grad:
        # the padding row reads as stored but sends no gradient back (as torch)
        pad = const(input, (input.data == padding_idx)[..., None])
        out = where(pad, weight.detach()[input], out)
    return out


# ----- more losses ----------------------------------------------------------------------------


def _legacy_reduction(op: str, size_average, reduce, reduction: str) -> str:
    """torch's deprecated size_average / reduce arguments, turned into a reduction string."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    new = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(
        f"{op}: size_average and reduce args will be deprecated, please use "
        f"reduction='{new}' instead.",
        UserWarning,
        stacklevel=3,
    )
    return new


def _pointwise_loss_args(op: str, input, target, reduction: str) -> None:
    _need_tensor(op, "input", input)
    _need_tensor(op, "target", target)
    _check_reduction(op, reduction)
    if _shape(input) != _shape(target):
        warnings.warn(
            f"{op}: Using a target size ({_shape(target)}) that is different to the input size "
            f"({_shape(input)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
        try:
            _broadcast_shape(_shape(input), _shape(target))
        except ValueError:
            raise RuntimeError(
                f"{op}: the size of input {_shape(input)} and of target {_shape(target)} do not "
                "broadcast"
            ) from None


def _weighted_reduction(op: str, loss: Tensor, weight, input: Tensor, reduction: str) -> Tensor:
    """torch 2.13's elementwise `weight=` of l1/mse/huber: mean divides by the weights' sum
    (huber: by the element count)."""
    if weight is None:
        return _apply_reduction(loss, reduction)
    _need_tensor(op, "weight", weight)
    if _shape(weight) != _shape(input):
        raise ValueError(f"{op}: Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and op != "huber_loss":
        return loss.sum() / weight.sum()
    return _apply_reduction(loss, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:  # fmt: skip
    """Mean absolute error: mean(|input - target|) (or its sum, or elementwise).

    Example:
        >>> loss = F.l1_loss(pred, y)
    """
    reduction = _legacy_reduction("l1_loss", size_average, reduce, reduction)
    _pointwise_loss_args("l1_loss", input, target, reduction)
    return _weighted_reduction("l1_loss", (input - target).abs(), weight, input, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:  # fmt: skip
    """Mean squared error: mean((input - target) ** 2) (or its sum, or elementwise).

    A target whose shape differs from the input's is broadcast, with a warning, as torch does.

    Example:
        >>> loss = F.mse_loss(pred, y)
    """
    reduction = _legacy_reduction("mse_loss", size_average, reduce, reduction)
    _pointwise_loss_args("mse_loss", input, target, reduction)
    d = input - target
    return _weighted_reduction("mse_loss", d * d, weight, input, reduction)


def _abs_and_square(input: Tensor, target: Tensor):
    d = input - target
    return d, d.abs()


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:  # fmt: skip
    """Smooth L1: 0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target).

    With beta = 0 it is the L1 loss.

    Example:
        >>> loss = F.smooth_l1_loss(boxes, target_boxes, beta=1.0)
    """
    op = "smooth_l1_loss"
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    _pointwise_loss_args(op, input, target, reduction)
    beta = _number(op, "beta", beta)
    if beta < 0:
        raise RuntimeError(f"{op}: does not support negative values for beta, got {beta}")
    d, a = _abs_and_square(input, target)
    if beta == 0.0:
        return _apply_reduction(a, reduction)
    loss = where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _apply_reduction(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:  # fmt: skip
    """Huber loss: 0.5 d**2 where |d| < delta, else delta * (|d| - 0.5 delta).

    Example:
        >>> loss = F.huber_loss(pred, y, delta=2.0)
    """
    op = "huber_loss"
    _pointwise_loss_args(op, input, target, reduction)
    delta = _number(op, "delta", delta)
    if delta <= 0:
        raise RuntimeError(f"{op}: does not support non-positive values for delta, got {delta}")
    d, a = _abs_and_square(input, target)
    loss = where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    return _weighted_reduction(op, loss, weight, input, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:  # fmt: skip
    """Kullback-Leibler divergence of `target` from the log-probabilities `input`.

    Elementwise: target * (log(target) - input) (0 where target is 0), or, with
    log_target, exp(target) * (target - input). `reduction="batchmean"` divides
    the sum by the batch size (the true KL divergence); "mean" divides by the
    number of elements (with torch's warning).

    Example:
        >>> loss = F.kl_div(F.log_softmax(logits, 1), teacher_probs, reduction="batchmean")
    """
    op = "kl_div"
    _need_tensor(op, "input", input)
    _need_tensor(op, "target", target)
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(op, size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn(
            "kl_div: reduction: 'mean' divides the total loss by both the batch size and the "
            "support size.'batchmean' divides only by the batch size, and aligns with the KL div "
            "math definition.'mean' will be changed to behave the same as 'batchmean' in the "
            "next major release.",
            UserWarning,
            stacklevel=2,
        )
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(
            f"{op}: reduction must be one of {_REDUCTIONS + ('batchmean',)}, got {reduction!r}"
        )
    _need_float(op, "input", input)
    _need_float(op, "target", target)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        # xlogy(t, t) - t * input, with 0 * log(0) = 0 and no NaN in the gradient at t = 0
        positive = target > 0
        safe = where(positive, target, 1.0)
        loss = target * log(safe) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _apply_reduction(loss, reduction)


_BCE_EPS = 9.999999960041972e-13  # torch's EPSILON = 1e-12, rounded to float32 as its kernel does


@register
class BinaryCrossEntropy(Function):
    """loss = -w * (t * max(log(x), -100) + (1 - t) * max(log(1 - x), -100))
    dx = grad * w * (x - t) / max(x * (1 - x), 1e-12);  dt = -grad * w * log(x / (1 - x))   (as torch)
    """  # noqa: E501

    @staticmethod
    def forward(ctx, x, t, w):
        xp = ctx.device.xp
        # each log clamped at -100 (log(0) = -inf never computed, so NumPy does not warn)
        pos, below = x > 0, x < 1
        lx = xp.where(pos, xp.maximum(xp.log(xp.where(pos, x, 1)), -100), -100)
        l1x = xp.where(below, xp.maximum(xp.log1p(-xp.where(below, x, 0)), -100), -100)
        loss = -(t * lx + (1 - t) * l1x)
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, t, w)
        return loss.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, t, w = ctx.saved_tensors
        g = grad if w is None else grad * w
        dx = dt = None
        if ctx.needs_input_grad[0]:
            dx = g * (x - t) / (x * (1 - x)).clamp(min=_BCE_EPS)
        if ctx.needs_input_grad[1]:
            dt = -g * (x / (1 - x)).log()  # torch's target gradient: -logit(x), unclamped
        return dx, dt, None


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross entropy between probabilities `input` and `target`, as torch's.

    Each log is clamped at -100, as torch does, so a probability of exactly 0 or 1
    gives a finite loss. Prefer `binary_cross_entropy_with_logits` on logits.

    Args:
        input: probabilities in [0, 1], any shape.
        target: the input's shape, values in [0, 1].
        weight: a rescaling weight broadcast to the target's shape, or None.
        reduction: "mean", "sum" or "none".

    Example:
        >>> loss = F.binary_cross_entropy(tn.sigmoid(logits), labels.float())
    """
    op = "binary_cross_entropy"
    reduction = _legacy_reduction(op, size_average, reduce, reduction)
    _need_tensor(op, "input", input)
    _need_tensor(op, "target", target)
    _check_reduction(op, reduction)
    if _shape(target) != _shape(input):
        raise ValueError(
            f"{op}: Using a target size ({_shape(target)}) that is different to the input size "
            f"({_shape(input)}) is deprecated. Please ensure they have the same size."
        )
    _need_float(op, "input", input)
    _same_dtype(op, input=input, target=target, weight=weight)
    if weight is not None:
        _no_grad_arg(op, "weight", weight)
        try:
            shape = _broadcast_shape(_shape(target), _shape(weight))
        except ValueError:
            shape = None
        if shape != _shape(target):
            raise RuntimeError(
                f"{op}: weight of shape {_shape(weight)} does not broadcast to the target's shape "
                f"{_shape(target)}"
            )
    a = input.data
    if a.size and bool(((a < 0) | (a > 1)).any()):
        raise RuntimeError(f"{op}: all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target, weight)
    return _apply_reduction(loss, reduction)


# ----- normalisation, resampling, adaptive max pooling -----------------------------------------


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """adaptive_max_pool2d that always returns (output, indices)."""
    return _adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size (oH, oW); with return_indices also each maximum's
    flat index into H * W (see `tinynet.ops.resample.adaptive_max_pool2d`).

    Example:
        >>> F.adaptive_max_pool2d(tn.randn(2, 8, 7, 7), 1).shape
        (2, 8, 1, 1)
    """
    return _adaptive_max_pool2d(input, output_size, return_indices)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:  # fmt: skip
    """Deprecated alias of `interpolate` (as in torch, with a warning)."""
    warnings.warn(
        "`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: `interpolate(..., mode="nearest")`."""
    warnings.warn(
        "`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: `interpolate(..., mode="bilinear", align_corners=True)`."""
    warnings.warn(
        "`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ----- similarities -------------------------------------------------------------------------------


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along `dim` (inputs broadcast).

    Example:
        >>> sim = F.cosine_similarity(a, b, dim=-1)
    """
    _need_tensor("cosine_similarity", "x1", x1)
    _need_tensor("cosine_similarity", "x2", x2)
    _need_float("cosine_similarity", "x1", x1)
    n1 = (x1 * x1).sum(dim, keepdim=True).sqrt().clamp(min=eps)
    n2 = (x2 * x2).sum(dim, keepdim=True).sqrt().clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:  # fmt: skip
    """The p-norm of x1 - x2 + eps along the last dim (inputs broadcast).

    Example:
        >>> d = F.pairwise_distance(anchor, positive)
    """
    _need_tensor("pairwise_distance", "x1", x1)
    _need_tensor("pairwise_distance", "x2", x2)
    d = (x1 - x2 + eps).abs()
    if p == 2:
        return (d * d).sum(-1, keepdim=keepdim).sqrt()
    if p == 1:
        return d.sum(-1, keepdim=keepdim)
    if p == float("inf"):
        return _amax(d, -1, keepdim=keepdim)
    return (d**p).sum(-1, keepdim=keepdim) ** (1.0 / p)


# ----- registry samples and torch oracles -------------------------------------------------


def _torch_linear(torch, x, w, b):
    return torch.nn.functional.linear(x, w, b)


def _torch_bn(torch, x, w=None, b=None):
    return torch.nn.functional.batch_norm(x, None, None, w, b, training=True)


def _tn_bn(x, w=None, b=None):
    return batch_norm(x, None, None, w, b, training=True)


def _torch_ce(torch, x, t, **kw):
    return torch.nn.functional.cross_entropy(x, t, **kw)


def _torch_ce_weighted(torch, x, t, **kw):
    return torch.nn.functional.cross_entropy(x, t, torch.tensor(_W5, dtype=x.dtype), **kw)


def _tn_ce_weighted(x, t, **kw):
    return cross_entropy(x, t, _const_like(x, _W5), **kw)


def _torch_nll(torch, x, t, **kw):
    return torch.nn.functional.nll_loss(x, t, **kw)


def _torch_nll_weighted(torch, x, t, **kw):
    return torch.nn.functional.nll_loss(x, t, torch.tensor(_W5, dtype=x.dtype), **kw)


def _tn_nll_weighted(x, t, **kw):
    return nll_loss(x, t, _const_like(x, _W5), **kw)


def _torch_bce(torch, x, t, **kw):
    return torch.nn.functional.binary_cross_entropy_with_logits(x, t, **kw)


def _torch_bce_weighted(torch, x, t, **kw):
    w, pw = torch.tensor(_W4, dtype=x.dtype), torch.tensor(_PW4, dtype=x.dtype)
    return torch.nn.functional.binary_cross_entropy_with_logits(x, t, w, pos_weight=pw, **kw)


def _tn_bce_weighted(x, t, **kw):
    w, pw = _const_like(x, _W4), _const_like(x, _PW4)
    return binary_cross_entropy_with_logits(x, t, w, pos_weight=pw, **kw)


def _torch_bce_probs(torch, x, t, **kw):
    return torch.nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid(), **kw)


def _tn_bce_probs(x, t, **kw):
    return binary_cross_entropy(sigmoid(x), sigmoid(t), **kw)


def _torch_bce_probs_w(torch, x, t, **kw):
    w = torch.tensor(_W4, dtype=x.dtype)
    return torch.nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid(), w, **kw)


def _tn_bce_probs_w(x, t, **kw):
    return binary_cross_entropy(sigmoid(x), sigmoid(t), _const_like(x, _W4), **kw)


Linear.samples = staticmethod(
    lambda: [
        Sample(((4, 3), (5, 3), (5,)), _torch_linear, linear),
        Sample(((2, 4, 3), (5, 3), (5,)), _torch_linear, linear, name="3d"),
        Sample(((3,), (5, 3), (5,)), _torch_linear, linear, name="1d"),
        Sample(((4, 3), (5, 3), Arg(None)), _torch_linear, linear, name="no-bias"),
    ]
)


BatchNorm.samples = staticmethod(
    lambda: [
        Sample(((4, 3), (3,), (3,)), _torch_bn, _tn_bn),
        Sample(((2, 3, 4, 5), (3,), (3,)), _torch_bn, _tn_bn, name="2d"),
        Sample(((4, 3, 5), (3,), (3,)), _torch_bn, _tn_bn, name="1d-seq"),
        Sample(((3, 2, 2, 3),), _torch_bn, _tn_bn, name="no-affine"),
    ]
)


CrossEntropy.samples = staticmethod(
    lambda: [
        Sample(((4, 5), Int((4,), 5)), _torch_ce, cross_entropy),
        Sample(((4, 5), Int((4,), 5)), _torch_ce, cross_entropy,
               kwargs={"reduction": "sum"}, name="sum"),
        Sample(((4, 5), Int((4,), 5)), _torch_ce, cross_entropy,
               kwargs={"reduction": "none"}, name="none"),
        Sample(((6, 5), Int((6,), 5)), _torch_ce, cross_entropy,
               kwargs={"ignore_index": 2}, name="ignore"),
        Sample(((4, 5), Int((4,), 5)), _torch_ce, cross_entropy,
               kwargs={"label_smoothing": 0.2}, name="smooth"),
        Sample(((6, 5), Int((6,), 5)), _torch_ce_weighted, _tn_ce_weighted,
               kwargs={"label_smoothing": 0.1, "ignore_index": 1}, name="weighted"),
        Sample(((2, 4, 3, 2), Int((2, 3, 2), 4)), _torch_ce, cross_entropy,
               kwargs={"label_smoothing": 0.1}, name="k-dim"),
        Sample(((5,), Int((), 5)), _torch_ce, cross_entropy, name="unbatched"),
    ]
)  # fmt: skip


NllLoss.samples = staticmethod(
    lambda: [
        Sample(((4, 5), Int((4,), 5)), _torch_nll, nll_loss),
        Sample(((6, 5), Int((6,), 5)), _torch_nll, nll_loss,
               kwargs={"ignore_index": 3, "reduction": "sum"}, name="ignore-sum"),
        Sample(((4, 5), Int((4,), 5)), _torch_nll_weighted, _tn_nll_weighted,
               name="weighted"),
        Sample(((2, 3, 4), Int((2, 4), 3)), _torch_nll, nll_loss,
               kwargs={"reduction": "none"}, name="k-dim"),
    ]
)  # fmt: skip


BinaryCrossEntropyWithLogits.samples = staticmethod(
    lambda: [
        Sample(((3, 4), (3, 4)), _torch_bce, binary_cross_entropy_with_logits),
        Sample(((3, 4), (3, 4)), _torch_bce, binary_cross_entropy_with_logits,
               kwargs={"reduction": "none"}, name="none"),
        Sample(((3, 4), (3, 4)), _torch_bce_weighted, _tn_bce_weighted,
               kwargs={"reduction": "sum"}, name="weights"),
    ]
)  # fmt: skip


BinaryCrossEntropy.samples = staticmethod(
    lambda: [
        Sample(((3, 4), (3, 4)), _torch_bce_probs, _tn_bce_probs),
        Sample(((3, 4), (3, 4)), _torch_bce_probs, _tn_bce_probs,
               kwargs={"reduction": "none"}, name="none"),
        Sample(((2, 3, 4), (2, 3, 4)), _torch_bce_probs_w, _tn_bce_probs_w,
               kwargs={"reduction": "sum"}, name="weight"),
    ]
)  # fmt: skip
# F.* refuse a first argument that is not a Tensor with one TypeError naming the function
for _name in __all__:
    globals()[_name] = _tensor_first(_name, globals()[_name])
del _name
