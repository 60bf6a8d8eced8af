"""The device each benchmark runs on, for tinynet and for PyTorch (imported by the others).

`--device cuda` puts tinynet on the GPU (CuPy) and PyTorch on CUDA too where its build
has CUDA; the CPU-only PyTorch that the tests pin has none, and then PyTorch stays on
the CPU and the table says so. A GPU runs asynchronously, so every timed call ends
with a synchronisation (`sync()`), or the clock would stop at the kernel launches.
"""

from __future__ import annotations


def add_argument(parser) -> None:
    parser.add_argument("--device", default="cpu",
                        help="tinynet's device: cpu (default), cuda, cuda:1, ...")  # fmt: skip


def tinynet_device(spec: str):
    """(tn.Device, sync): a clear RuntimeError here if "cuda" lacks CuPy or a GPU."""
    import tinynet as tn
    from tinynet.backend import synchronize

    dev = tn.device(spec)
    return dev, lambda: synchronize(dev)


def torch_device(torch, spec: str):
    """(torch.device, sync, label): CUDA when asked for and available, else the CPU."""
    if spec.startswith("cuda") and torch.cuda.is_available():
        dev = torch.device(spec)
        return dev, lambda: torch.cuda.synchronize(dev), f"PyTorch {spec}"
    return torch.device("cpu"), lambda: None, "PyTorch CPU"


def worker_args(args) -> list[str]:
    return ["--device", args.device]
