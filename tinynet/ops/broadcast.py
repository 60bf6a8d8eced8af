"""Undoing broadcasting: the one helper every binary op's backward uses."""

from __future__ import annotations


def unbroadcast(grad, shape: tuple):
    """Sum `grad` (a Tensor) down to `shape`, the shape of the input that was broadcast.

    Broadcasting copies an input along new leading axes and along axes of size 1,
    so the gradient of each copy adds up: sum over the leading axes, then over
    the axes where the input had size 1 (keeping them).
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
    )
    out = grad.sum(dim=dims, keepdim=True) if dims else grad
    return out.reshape(shape) if out.shape != shape else out
