"""`tinynet.nn.grad`: the gradients of conv2d as functions, with torch.nn.grad's signatures.

They are the adjoint Functions of `tinynet.ops.conv` (differentiable themselves):
`conv2d_weight` is the question this project grew from, dW[f, c] = the
cross-correlation of X[c] with dO[f], summed over the batch (docs/conv2d.md).
"""

from __future__ import annotations

from ..ops import conv as _conv
from ..tensor import Tensor

__all__ = ["conv2d_input", "conv2d_weight"]


def conv2d_input(input_size, weight: Tensor, grad_output: Tensor, stride=1, padding=0,
                 dilation=1, groups: int = 1) -> Tensor:  # fmt: skip
    """The gradient of conv2d with respect to its input, of shape `input_size`.

    Args:
        input_size: the conv2d input's shape (N, C, H, W).
        weight: (F, C // groups, kH, kW).
        grad_output: the gradient of the conv2d output, (N, F, oH, oW).
        stride, padding, dilation, groups: as the conv2d.

    Example:
        >>> dx = nn.grad.conv2d_input(x.shape, w, dy, padding=1)
    """
    return _conv.conv2d_input(input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0,
                  dilation=1, groups: int = 1) -> Tensor:  # fmt: skip
    """The gradient of conv2d with respect to its weight, of shape `weight_size`.

    dW[f, c] is the valid cross-correlation of input channel c with output-gradient
    channel f, summed over the batch (stride and dilation swap roles).

    Args:
        input: the conv2d input (N, C, H, W).
        weight_size: (F, C // groups, kH, kW).
        grad_output: the gradient of the conv2d output, (N, F, oH, oW).
        stride, padding, dilation, groups: as the conv2d.

    Example:
        >>> dw = nn.grad.conv2d_weight(x, w.shape, dy, padding=1)
    """
    return _conv.conv2d_weight(input, weight_size, grad_output, stride, padding, dilation, groups)
