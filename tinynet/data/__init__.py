"""Data loading: datasets, samplers, the batching DataLoader (with worker processes),
default_collate, and ready-made datasets (`datasets`). Also importable as
`tinynet.utils.data`, torch's path."""

from . import datasets
from .collate import default_collate, default_convert
from .dataloader import DataLoader, collate
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    ImageDataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "ImageDataset",
    "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
    "TensorDataset", "WeightedRandomSampler", "WorkerInfo", "collate", "datasets",
    "default_collate", "default_convert", "get_worker_info", "random_split",
]  # fmt: skip
