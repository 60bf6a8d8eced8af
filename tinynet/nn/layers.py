"""Layers: thin Modules over `tinynet.nn.functional`, initialised and printed as PyTorch's.

Weights start as torch starts them: `kaiming_uniform_(w, a=sqrt(5))`, i.e.
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
so a recipe tuned in PyTorch trains alike here.
"""

from __future__ import annotations

import math

from .. import dtypes
from ..creation import empty, ones, zeros
from ..tensor import tensor
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = [
    "Identity", "Linear", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
    "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "Dropout", "ReLU", "LeakyReLU", "GELU",
    "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Flatten",
]  # fmt: skip


def _pair(v, name: str = "value") -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        return tuple(int(x) for x in v)
    return (int(v), int(v))


def _reset_affine(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default: weight kaiming_uniform_(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


def _factory(device, dtype) -> dict:
    return {"device": device, "dtype": dtype}


class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x @ W.T + b.

    Args:
        in_features: size of each input's last dim.
        out_features: size of each output's last dim.
        bias: learn an additive bias (default True).

    Shape:
        input (..., in_features) -> output (..., out_features).

    Example:
        >>> fc = nn.Linear(784, 10); y = fc(x.flatten(1))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None):  # fmt: skip
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(empty(out_features, in_features, **_factory(device, dtype)))
        if bias:
            self.bias = Parameter(empty(out_features, **_factory(device, dtype)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class _ConvNd(Module):
    def _conv_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def extra_repr(self) -> str:
        return self._conv_repr()

    def _check_channels(self, in_channels: int, out_channels: int, groups: int,
                        padding_mode: str) -> None:  # fmt: skip
        name = type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})"
            )
        if out_channels % groups:
            raise ValueError(
                f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})"
            )
        if padding_mode != "zeros":
            raise ValueError(
                f"{name}: padding_mode {padding_mode!r} is not supported; tinynet pads with "
                "zeros (padding_mode='zeros')"
            )

    def reset_parameters(self) -> None:
        _reset_affine(self.weight, self.bias)


class Conv2d(_ConvNd):
    """2-D cross-correlation over NCHW input, as torch.nn.Conv2d.

    Args:
        in_channels, out_channels: C and F.
        kernel_size, stride, padding, dilation: ints or pairs; padding may be
            "valid" or "same" (stride 1 only).
        groups: split channels into groups convolved separately.
        bias: learn a bias per output channel (default True).
        padding_mode: "zeros" only.

    Shape:
        (N, C, H, W) -> (N, F, oH, oW),
        oH = (H + 2 * padding - dilation * (kH - 1) - 1) // stride + 1 (oW alike).

    Example:
        >>> conv = nn.Conv2d(1, 32, 3); y = conv(tn.randn(8, 1, 28, 28))  # (8, 32, 26, 26)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):  # fmt: skip
        super().__init__()
        self._check_channels(in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(
                    f"Conv2d: padding must be 'valid', 'same' or ints, got {padding!r}"
                )
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.output_padding = (0, 0)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        kH, kW = self.kernel_size
        shape = (out_channels, in_channels // groups, kH, kW)
        self.weight = Parameter(empty(*shape, **_factory(device, dtype)))
        if bias:
            self.bias = Parameter(empty(out_channels, **_factory(device, dtype)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)  # fmt: skip


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution (the adjoint of Conv2d), as torch.nn.ConvTranspose2d.

    The weight is (in_channels, out_channels // groups, kH, kW).

    Shape:
        (N, C, H, W) -> (N, F, oH, oW), oH = (H - 1) * stride - 2 * padding
        + dilation * (kH - 1) + output_padding + 1 (oW alike).

    Example:
        >>> up = nn.ConvTranspose2d(16, 8, 2, stride=2); y = up(tn.randn(1, 16, 7, 7))  # 14x14
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):  # fmt: skip
        super().__init__()
        self._check_channels(in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.output_padding = _pair(output_padding, "output_padding")
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(
                    f"ConvTranspose2d: output_padding {self.output_padding} must be smaller than "
                    f"either stride {self.stride} or dilation {self.dilation}"
                )
        self.groups = int(groups)
        self.padding_mode = padding_mode
        kH, kW = self.kernel_size
        shape = (in_channels, out_channels // groups, kH, kW)
        self.weight = Parameter(empty(*shape, **_factory(device, dtype)))
        if bias:
            self.bias = Parameter(empty(out_channels, **_factory(device, dtype)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _output_padding(self, input, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        size = tuple(int(s) for s in output_size)[-2:]
        out = []
        for d in range(2):
            lo = ((input.shape[d + 2] - 1) * self.stride[d] - 2 * self.padding[d]
                  + self.dilation[d] * (self.kernel_size[d] - 1) + 1)  # fmt: skip
            hi = lo + self.stride[d] - 1
            if not lo <= size[d] <= hi:
                raise ValueError(
                    f"ConvTranspose2d: requested output size {size} is not reachable from input "
                    f"{tuple(input.shape)}; dim {d} must be in [{lo}, {hi}]"
                )
            out.append(size[d] - lo)
        return tuple(out)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)  # fmt: skip


class MaxPool2d(Module):
    """Max over kH x kW windows, as torch.nn.MaxPool2d (stride defaults to kernel_size).

    Shape:
        (N, C, H, W) -> (N, C, oH, oW), oH = (H + 2 * padding - dilation * (kH - 1) - 1)
        // stride + 1 (rounded up with ceil_mode).

    Example:
        >>> pool = nn.MaxPool2d(2); y = pool(tn.randn(1, 3, 8, 8))  # (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        extra = {}  # only what differs from the defaults, so the op sees torch's common call
        if self.dilation not in (1, (1, 1)):
            extra["dilation"] = self.dilation
        if self.ceil_mode:
            extra["ceil_mode"] = True
        if self.return_indices:
            extra["return_indices"] = True
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, **extra)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Mean over kH x kW windows, as torch.nn.AvgPool2d (stride defaults to kernel_size).

    Example:
        >>> pool = nn.AvgPool2d(2); y = pool(tn.randn(1, 3, 8, 8))  # (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        extra = {}
        if self.ceil_mode:
            extra["ceil_mode"] = True
        if not self.count_include_pad:
            extra["count_include_pad"] = False
        if self.divisor_override is not None:
            extra["divisor_override"] = self.divisor_override
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, **extra)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Mean pooling to a fixed output size (oH, oW), as torch.nn.AdaptiveAvgPool2d.

    Example:
        >>> gap = nn.AdaptiveAvgPool2d(1); y = gap(tn.randn(2, 8, 5, 7))  # (2, 8, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _BatchNorm(Module):
    _dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True):  # fmt: skip
        super().__init__()
        self.num_features = int(num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        fk = _factory(device, dtype)
        if affine:
            self.weight = Parameter(ones(num_features, **fk))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(zeros(num_features, **fk))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, **fk))
            self.register_buffer("running_var", ones(num_features, **fk))
            self.register_buffer(
                "num_batches_tracked", tensor(0, dtype=dtypes.int64, device=device)
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input_dim(self, input) -> None:
        if input.ndim not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(
                f"{type(self).__name__}: expected {want} input, got {input.ndim}D input of shape "
                f"{tuple(input.shape)}"
            )
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: input has {input.shape[1]} channels (dim 1), the layer "
                f"expects {self.num_features} (input {tuple(input.shape)})"
            )

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked += 1
            if self.momentum is None:  # a cumulative moving average, as torch
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight, self.bias, use_batch_stats, factor, self.eps,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, per channel C, as torch.

    Training normalises with the batch's mean and (biased) variance and updates
    `running_mean` / `running_var` (unbiased) with `momentum` (None: a cumulative
    average); eval mode normalises with the running statistics. `affine` learns a
    per-channel scale and shift (`bias=False`: the scale only).

    Example:
        >>> bn = nn.BatchNorm1d(64); y = bn(tn.randn(32, 64))
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input, per channel C, as torch (see BatchNorm1d).

    Example:
        >>> bn = nn.BatchNorm2d(16); y = bn(tn.randn(8, 16, 10, 10))
    """

    _dims = (4,)


class Dropout(Module):
    """Zero elements with probability p in training mode, scaling the rest by 1 / (1 - p).

    Example:
        >>> drop = nn.Dropout(0.25)
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class ReLU(Module):
    """max(x, 0); `inplace=True` overwrites the input (allowed where torch allows it)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x * Phi(x) (approximate="tanh": torch's tanh approximation)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, input):
        return F.tanh(input)


class Softmax(Module):
    """softmax along `dim`."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self._dim(input))

    def _dim(self, input) -> int:
        if self.dim is not None:
            return self.dim
        return 0 if input.ndim in (0, 1, 3) else 1  # torch's legacy choice

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log_softmax along `dim`."""

    def forward(self, input):
        return F.log_softmax(input, self._dim(input))


class Flatten(Module):
    """Merge dims start_dim..end_dim (default: all but the batch dim).

    Example:
        >>> nn.Flatten()(tn.randn(8, 3, 4, 4)).shape  # (8, 48)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
