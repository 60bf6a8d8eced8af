"""`tinynet.optim`: optimizers and `optim.lr_scheduler`, as torch.optim."""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .nadam import NAdam, RAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "NAdam", "RAdam", "Adadelta", "Adagrad", "RMSprop",
    "lr_scheduler",
]  # fmt: skip
