"""`tinynet.utils.data`: the same objects as `tinynet.data`, at torch's import path.

`from torch.utils.data import DataLoader, TensorDataset` ports as
`from tinynet.utils.data import DataLoader, TensorDataset`.
"""

from tinynet.data import *  # noqa: F403
from tinynet.data import __all__  # noqa: F401
