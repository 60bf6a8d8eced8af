"""The op library: each module holds one family of Functions and their public functions.

Every Function is registered (ops/registry.py) with sample inputs, so that
one generic test checks each op's gradient and its parity with PyTorch.
"""

from .activation import *  # noqa: F403
from .broadcast import unbroadcast
from .conv import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .fold import *  # noqa: F403
from .indexing import *  # noqa: F403
from .linalg import *  # noqa: F403
from .movement import *  # noqa: F403
from .norm import *  # noqa: F403
from .pool import *  # noqa: F403
from .reduce import *  # noqa: F403
from .registry import REGISTRY, Sample, register
from .resample import *  # noqa: F403

__all__ = ["REGISTRY", "Sample", "register", "unbroadcast"]
