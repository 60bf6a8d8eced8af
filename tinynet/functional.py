"""Every tensor method as a function: `tn.exp(x)`, `tn.cat(ts, 0)`, `tn.matmul(a, b)`, ..."""

from .ops.elementwise import (  # noqa: F401
    abs, add, clamp, cos, div, eq, erf, exp, ge, gelu, gt, le, leaky_relu, log, logical_and,
    logical_not, logical_or, lt, masked_fill, maximum, minimum, mul, ne, neg, pow, relu,
    sigmoid, sin, sqrt, sub, tanh, where,
)
from .ops.linalg import matmul  # noqa: F401
from .ops.movement import (  # noqa: F401
    cat, chunk, clone, contiguous, expand, flatten, gather, getitem, pad, permute, reshape, split,
    squeeze, stack, t, transpose, unsqueeze, view,
)
from .ops.reduce import (  # noqa: F401
    amax, amin, argmax, argmin, log_softmax, logsumexp, max, mean, min, softmax, std, sum, var,
)

clip = clamp
