"""`tinynet.nn`: Module and Parameter, layers, losses; `nn.functional` (F) and `nn.init`."""

from . import functional, init
from .layers import *  # noqa: F403
from .layers import __all__ as _layers
from .loss import *  # noqa: F403
from .loss import __all__ as _losses
from .module import Module, ModuleList, Parameter, Sequential

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "functional", "init",
           *_layers, *_losses]  # fmt: skip
