"""`tn.backends`: torch.backends' switches that seeding and speed boilerplate sets.

`torch.backends.cudnn.benchmark = True` and `torch.backends.cudnn.deterministic = True`
appear in most training scripts; tinynet has no cuDNN (CuPy's GEMMs run its convolutions),
so the flags are kept for scripts to set and read and change nothing. `mps` is Apple's
GPU backend, which tinynet does not have.
"""

from __future__ import annotations

from types import SimpleNamespace

__all__ = ["cudnn", "mps"]


def _false() -> bool:
    return False


#: cuDNN's flags (`benchmark`, `deterministic`, `enabled`, `allow_tf32`): accepted, no effect.
cudnn = SimpleNamespace(
    benchmark=False,
    deterministic=False,
    enabled=True,
    allow_tf32=True,
    is_available=_false,
    version=lambda: None,
)

#: Apple's Metal backend: never available in tinynet.
mps = SimpleNamespace(is_available=_false, is_built=_false)
