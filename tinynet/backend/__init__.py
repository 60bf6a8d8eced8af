"""Devices and the backend seam: a device names an array namespace and a few kernels.

"cpu" is NumPy (backend/cpu.py); "cuda[:N]" is CuPy (backend/cuda.py, imported
lazily). This package is the only code in tinynet that knows about CuPy. Tests
register a strict stand-in with `register_backend`.
"""

from __future__ import annotations

import importlib
import os
import threading
import zlib
from types import ModuleType

from . import cpu

# type name -> module path, or a loaded module. Modules provide: name, xp, is_array,
# from_host, to_host, scatter_add, strided_view, generator, synchronize.
_BACKENDS: dict[str, str | ModuleType] = {"cpu": cpu, "cuda": "tinynet.backend.cuda"}
_lock = threading.Lock()


def register_backend(type_name: str, module: ModuleType) -> None:
    """Make `module` available as device type `type_name` (used by tests' stand-in)."""
    _BACKENDS[type_name] = module
    _DEVICES.clear()


def _load(type_name: str) -> ModuleType:
    mod = _BACKENDS.get(type_name)
    if mod is None:
        raise RuntimeError(
            f"unknown device type {type_name!r}; known: {sorted(_BACKENDS)}"
        )
    if isinstance(mod, str):
        with _lock:
            mod = _BACKENDS[type_name]
            if isinstance(mod, str):
                mod = importlib.import_module(mod)
                _BACKENDS[type_name] = mod
    return mod


class Device:
    """A device: a type ("cpu", "cuda", ...) and an index for multi-device types."""

    __slots__ = ("type", "index", "backend", "xp")

    def __init__(self, type_name: str, index: int | None = None):
        self.type = type_name
        self.index = index
        self.backend = _load(type_name)
        self.xp = self.backend.xp
        if hasattr(self.backend, "check_device"):
            self.backend.check_device(index or 0)

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return (
            isinstance(other, Device)
            and self.type == other.type
            and (self.index or 0) == (other.index or 0)
        )

    def __hash__(self) -> int:
        return hash((self.type, self.index or 0))


_DEVICES: dict[str, Device] = {}


def device(spec=None) -> Device:
    """`device("cpu")`, `device("cuda")`, `device("cuda:1")`; a Device passes through."""
    if spec is None:
        return get_default_device()
    if isinstance(spec, Device):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {spec!r}")
    dev = _DEVICES.get(spec)
    if dev is None:
        type_name, _, idx = spec.partition(":")
        if idx and not idx.isdigit():
            raise ValueError(f"device: bad device index in {spec!r}")
        index = int(idx) if idx else None
        if type_name != "cpu" and index is None:
            index = 0
        dev = Device(type_name, index)
        _DEVICES[spec] = dev
    return dev


def device_of(array) -> Device:
    """The device an array lives on, asking each loaded backend."""
    if cpu.is_array(array):
        return device("cpu")
    for type_name, mod in list(_BACKENDS.items()):
        if not isinstance(mod, str) and type_name != "cpu" and mod.is_array(array):
            idx = mod.array_device_index(array) if hasattr(mod, "array_device_index") else 0
            return device(f"{type_name}:{idx}")
    raise TypeError(f"not an array tinynet knows: {type(array).__name__}")


_default_device: list[Device | None] = [None]


def get_default_device() -> Device:
    dev = _default_device[0]
    if dev is None:
        dev = device(os.environ.get("TINYNET_DEVICE", "cpu") or "cpu")
        _default_device[0] = dev
    return dev


def set_default_device(spec) -> None:
    """Where factories put new tensors when no `device=` is given."""
    _default_device[0] = device(spec)


_generators: dict[Device, object] = {}
_seed: list[int | None] = [None]


def generator(dev: Device):
    """The random generator of a device (NumPy's Generator API), seeded by `manual_seed`."""
    gen = _generators.get(dev)
    if gen is None:
        seed = _seed[0]
        if seed is not None:  # each device gets its own stream from the same seed
            seed = [seed, dev.index or 0, zlib.crc32(dev.type.encode())]
        gen = dev.backend.generator(seed)
        _generators[dev] = gen
    return gen


def manual_seed(seed: int) -> None:
    """Seed the random generators of every device (tn.rand, randn, init, dropout, shuffles)."""
    _seed[0] = int(seed)
    _generators.clear()
