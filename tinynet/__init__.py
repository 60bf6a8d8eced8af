"""tinynet: a minimal autodiff deep-learning framework (re-exports the public API)."""

from . import autograd, ops
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import Device, device, get_default_device, manual_seed, set_default_device
from .dtypes import (
    bool_ as bool,
    float16,
    float32,
    float64,
    get_default_dtype,
    int32,
    int64,
    set_default_dtype,
)
from .creation import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from .functional import *  # noqa: F403
from .tensor import Tensor, tensor

__version__ = "0.1.0"
