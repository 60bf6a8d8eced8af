"""tinynet: a minimal autodiff deep-learning framework (re-exports the public API)."""

from . import (  # the public submodules: tn.nn, tn.optim, tn.utils.data, tn.cuda, ...
    accelerator,
    autograd,
    backends,
    cuda,
    data,
    nn,
    ops,
    optim,
    testing,
    utils,
    viz,
)
from .autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
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
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    initial_seed,
    linspace,
    logspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    zeros,
    zeros_like,
)
from .dtypes import (
    DType as dtype,
)
from .dtypes import (
    bool_ as bool,
)
from .dtypes import (
    double,
    finfo,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from .dtypes import (
    float_ as float,
)
from .dtypes import (
    int_ as int,
)
from .functional import *  # the tensor methods as functions: tn.exp, tn.cat, ...
from .serialization import load, save  # checkpoints: safetensors, no pickle
from .tensor import Tensor, tensor

__version__ = "0.1.0"
