"""One hyper-parameter checker for every optimizer and scheduler.

Each option is checked against an interval written as text ("[0, inf)", "[0, 1)",
"(0, 1]") so the rule and the error message are the same string. NaN fails every
interval; so does a non-number. The message keeps torch's wording ("Invalid learning
rate: nan") and adds the owner and the allowed range, e.g.
``SGD: Invalid learning rate: nan (lr must be a number in [0, inf))``.
"""

from __future__ import annotations

import numbers

__all__ = ["check_hparam", "check_betas", "check_int"]

# torch's wording for the options it names specially; others read "Invalid <name> value"
_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def _label(name: str) -> str:
    return _LABELS.get(name, f"{name} value")


def _inside(x: float, interval: str) -> bool:
    lo_open, hi_open = interval[0] == "(", interval[-1] == ")"
    lo_s, hi_s = (s.strip() for s in interval[1:-1].split(","))
    lo, hi = float(lo_s), float(hi_s)
    above = x > lo if lo_open else x >= lo
    below = x < hi if hi_open else x <= hi
    return above and below  # False for NaN: every comparison with NaN is False


def check_hparam(owner: str, name: str, value, interval: str = "[0, inf)", label: str = None):
    """Return `value` if it is a real number inside `interval`, else raise naming both.

    Args:
        owner: who checks, for the message ("SGD", "StepLR", "SGD: param_groups[1]").
        name: the argument's name ("lr", "momentum").
        value: the value given.
        interval: the allowed range, "[lo, hi]" with ( or ) for open ends; "inf" allowed.
        label: the words after "Invalid" (default: torch's, e.g. "learning rate").

    Raises:
        TypeError: `value` is not a real number (a bool counts as 0/1, as in torch).
        ValueError: `value` is NaN or outside `interval`.
    """
    label = label or _label(name)
    if not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner}: Invalid {label}: {value!r} ({name} must be a number in {interval}, "
            f"got {type(value).__name__})"
        )
    if not _inside(float(value), interval):
        raise ValueError(
            f"{owner}: Invalid {label}: {value} ({name} must be a number in {interval})"
        )
    return value


def check_betas(owner: str, betas, name: str = "betas"):
    """Check a pair of decay rates, each in [0, 1) (torch's "Invalid beta parameter at index i")."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{owner}: {name} must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        check_hparam(owner, f"{name}[{i}]", b, "[0, 1)", label=f"beta parameter at index {i}")
    return tuple(betas)


def check_int(owner: str, name: str, value, low: int = 0) -> int:
    """Return `value` if it is an int >= `low`; floats are refused, not truncated."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{owner}: {name} must be an int >= {low}, got {type(value).__name__} {value!r}"
        )
    if value < low:
        raise ValueError(f"{owner}: Invalid {name} value: {value} ({name} must be >= {low})")
    return int(value)
