"""`tinynet.utils`: torch's `torch.utils` paths (`tinynet.utils.data` is `tinynet.data`)."""

from . import data

__all__ = ["data"]
