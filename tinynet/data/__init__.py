"""Data loading: datasets, the batching DataLoader, and ready-made datasets (`datasets`)."""

from . import datasets
from .dataloader import DataLoader, collate
from .dataset import Dataset, ImageDataset, Subset, TensorDataset

__all__ = [
    "DataLoader", "Dataset", "ImageDataset", "Subset", "TensorDataset", "collate", "datasets",
]  # fmt: skip
