"""Ready-made datasets: MNIST, Fashion-MNIST (IDX files) and the bundled MNIST sample."""

from .mnist import MNIST, FashionMNIST, MNISTSample, default_root, mnist_sample, read_idx

__all__ = ["MNIST", "FashionMNIST", "MNISTSample", "default_root", "mnist_sample", "read_idx"]
