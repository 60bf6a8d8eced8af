"""tinynet: a minimal autodiff deep-learning framework (re-exports the public API)."""

from . import (  # noqa: E402  (after Tensor: layers and optimizers build on it)  # noqa: E402  (tn.cuda.is_available(), tn.testing.compare_devices)
    autograd,
    cuda,
    data,  # noqa: E402  (after Tensor: data builds on the tensor API)
    nn,
    ops,
    optim,
    testing,
    viz,  # noqa: E402  (graph pictures: to_dot, render)
)
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .backend import (
    Device,
    Generator,
    device,
    get_default_device,
    manual_seed,
    set_default_device,
)
from .creation import (
    arange,
    empty,
    eye,
    from_dlpack,
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
from .dtypes import (
    bool_ as bool,
)
from .dtypes import (
    float16,
    float32,
    float64,
    get_default_dtype,
    int32,
    int64,
    set_default_dtype,
)
from .functional import *  # noqa: F403
from .serialization import load, save  # noqa: E402  (checkpoints: safetensors, no pickle)
from .tensor import Tensor, tensor

__version__ = "0.1.0"
