"""The op library: each module holds one family of Functions and their public functions.

Every Function is registered (ops/registry.py) with sample inputs, so that
one generic test checks each op's gradient and its parity with PyTorch.
"""

import sys

from ..tensor import bind_ops as _bind_ops
from .activation import *  # noqa: F403
from .broadcast import unbroadcast
from .conv import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .fold import *  # noqa: F403
from .indexing import *  # noqa: F403
from .inplace import *  # noqa: F403
from .linalg import *  # noqa: F403
from .movement import *  # noqa: F403
from .norm import *  # noqa: F403
from .pool import *  # noqa: F403
from .reduce import *  # noqa: F403
from .registry import REGISTRY, Sample, register
from .resample import *  # noqa: F403

_bind_ops(sys.modules[__name__])  # Tensor's methods call these ops

__all__ = ["REGISTRY", "Sample", "register", "unbroadcast"]
