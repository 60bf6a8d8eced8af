"""`tinynet.nn`: Module and Parameter, layers, losses; `nn.functional` (F), `nn.init`,
`nn.utils` (gradient clipping, parameter vectors) and `nn.grad` (conv2d's gradients)."""

from . import functional, grad, init, utils
from .layers import *  # noqa: F403
from .layers import __all__ as _layers
from .loss import *  # noqa: F403
from .loss import __all__ as _losses
from .module import *  # noqa: F403
from .module import __all__ as _modules

__all__ = [*_modules, "functional", "init", "utils", "grad", *_layers, *_losses]
