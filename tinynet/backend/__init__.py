"""Devices and the backend seam: a device names an array namespace and a few kernels.

"cpu" is NumPy (backend/cpu.py); "cuda[:N]" is CuPy (backend/cuda.py, which imports
CuPy lazily). This package is the only code in tinynet that knows about CuPy. Tests
register a strict stand-in with `register_backend`.

A backend is a module with:

    name                  its device type ("cpu", "cuda", ...)
    xp                    the array namespace (numpy, cupy)
    is_array(a)           is `a` one of its arrays
    from_host(a, index)   copy a NumPy array onto device `index`
    to_host(a)            a NumPy array with the data of `a` (a copy off the CPU)
    scatter_add(t, i, v)  t[i] += v with repeated indices adding up
    strided_view(a, shape, strides)   a read-only view with byte strides
    generator(seed)       a random generator with NumPy's Generator methods
    synchronize(index)    wait for queued work on device `index` (and raise an error a
                          kernel recorded on the device meanwhile)
    erf(a)                the error function
    masked(values, mask)  values where mask, else 0 (also where values holds inf or NaN)
    col2im(cols, dst, kernel, stride, dilation, out_hw, pitch)
                          add conv columns back onto an image gradient (the adjoint of im2col)
    softmax_xent(x, target, weight, ignore_index, label_smoothing)
                          per-sample cross entropy and softmax of logits (N, C, ...); a target
                          out of range raises IndexError, at once or at the next sync
    conv_block_bytes      bytes of conv columns built per block (a CPU wants cache-sized
                          blocks, a GPU one big block)
    host_view(a)          `a` as a NumPy array when its values are in host memory (no copy,
                          no sync), else None: the one place code outside backend/ asks
                          where data lives (index bounds checks, zero-copy data loading)

and optionally `check_device(index)` (raise RuntimeError for a device that cannot be
used), `array_device_index(a)`, `device_count()`, `is_available()`,
`dlpack_device_type` with `from_dlpack(x)`, `device_context(index)`,
`unavailable_reason()`, `diagnose()`; and, for speed (the CPU has them):
`split(work, n, flops, nbytes)` (run work(i, j) over [0, n) in threads, see `split` below)
and `matmul(a, b)` (a @ b, threaded when big); `col2im_tap_major_from` (conv2d's stride-1
input gradient gives col2im tap-major columns from this many channels on, see cpu.col2im).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import zlib
from types import ModuleType

from . import cpu

# type name -> module path (imported on first use), or a loaded module
_BACKENDS: dict[str, str | ModuleType] = {"cpu": cpu, "cuda": "tinynet.backend.cuda"}
# DLPack device types (dlpack.h) of the backends tinynet ships, known before they load
_DLPACK_TYPES = {1: "cpu", 2: "cuda"}
_lock = threading.Lock()


REQUIRED = ("name", "xp", "is_array", "from_host", "to_host", "scatter_add", "strided_view",
            "generator", "synchronize", "erf", "masked", "col2im", "softmax_xent",
            "conv_block_bytes", "host_view")  # fmt: skip


def register_backend(type_name: str, module: ModuleType) -> None:
    """Make `module` available as device type `type_name` (used by the tests' stand-in).

    `module` provides the functions listed in this package's docstring (`REQUIRED`).
    """
    missing = [a for a in REQUIRED if not hasattr(module, a)]
    if missing:
        raise TypeError(f"register_backend: {type_name!r} lacks {', '.join(missing)}")
    if ":" in type_name or type_name in ("cpu", "cuda"):
        raise ValueError(f"register_backend: {type_name!r} is not a free device type name")
    _BACKENDS[type_name] = module
    _DEVICES.clear()
    _generators.clear()


def unregister_backend(type_name: str) -> None:
    """Forget a device type added with `register_backend` (tinynet's own stay)."""
    if type_name in ("cpu", "cuda"):
        raise ValueError(f"unregister_backend: {type_name!r} is built in")
    _BACKENDS.pop(type_name, None)
    _DEVICES.clear()
    _generators.clear()
    if _default_device[0] is not None and _default_device[0].type == type_name:
        _default_device[0] = None


def backend_types() -> list[str]:
    """The device types tinynet knows (loaded or not)."""
    return list(_BACKENDS)


def split(device: Device, n: int, work, flops: float = 0, nbytes: float = 0) -> None:
    """work(i, j) over [0, n) (images, rows): on the CPU in one thread per core when the work
    is big (backend `split`: `flops` of products, `nbytes` of memory passes; the rule is in
    docs/performance.md), elsewhere as one call. Each share must write its own part only."""
    f = getattr(device.backend, "split", None)
    if f is None:
        work(0, n)
    else:
        f(work, n, flops, nbytes)


def _load(type_name: str) -> ModuleType:
    mod = _BACKENDS.get(type_name)
    if mod is None:
        raise RuntimeError(
            f"unknown device type {type_name!r}; expected one of {', '.join(_BACKENDS)} "
            "(e.g. 'cpu', 'cuda', 'cuda:1')"
        )
    if isinstance(mod, str):
        with _lock:
            mod = _BACKENDS[type_name]
            if isinstance(mod, str):
                mod = importlib.import_module(mod)
                _BACKENDS[type_name] = mod
    return mod


def _parse(spec: str) -> tuple[str, int | None]:
    """'cuda:1' -> ('cuda', 1); 'cuda' -> ('cuda', 0); 'cpu' -> ('cpu', None)."""
    type_name, colon, idx = spec.strip().partition(":")
    if colon and not idx.isdigit():
        raise ValueError(
            f"device: bad device index in {spec!r}; expected a form like 'cuda' or 'cuda:0'"
        )
    index = int(idx) if idx else None
    if type_name != "cpu" and index is None:
        index = 0
    return type_name, index


class Device:
    """A device: a type ("cpu", "cuda", ...) and an index for multi-device types.

    `.xp` is its array namespace (numpy or cupy) and `.backend` its backend module.
    Constructing one checks that the device can be used: `Device("cuda", 0)`
    raises RuntimeError when CuPy or the GPU is missing, saying how to fix it.
    """

    __slots__ = ("type", "index", "backend", "xp")

    def __init__(self, type_name: str, index: int | None = None):
        self.type = type_name
        self.index = index
        self.backend = _load(type_name)
        if hasattr(self.backend, "check_device"):
            self.backend.check_device(index or 0)
        self.xp = self.backend.xp

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:  # parse only: comparing with "cuda" must not need a GPU
                type_name, index = _parse(other)
            except ValueError:
                return False
            return self.type == type_name and (self.index or 0) == (index or 0)
        return (
            isinstance(other, Device)
            and self.type == other.type
            and (self.index or 0) == (other.index or 0)
        )

    def __hash__(self) -> int:
        return hash((self.type, self.index or 0))

    def __reduce__(self):  # copy/deepcopy keep the cached instance
        return (device, (str(self),))


_DEVICES: dict[str, Device] = {}


def device(spec=None) -> Device:
    """`device("cpu")`, `device("cuda")`, `device("cuda:1")`; a Device passes through.

    With no argument, the default device (see `set_default_device`).

    Raises:
        RuntimeError: for an unknown device type, or a device that cannot be used here
            (for "cuda": CuPy not installed, or no GPU), with what to do about it.
        ValueError: for a malformed index ("cuda:x").
    """
    if spec is None:
        return get_default_device()
    if isinstance(spec, Device):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', got {spec!r}")
    dev = _DEVICES.get(spec)
    if dev is None:
        dev = Device(*_parse(spec))
        _DEVICES[spec] = dev
    return dev


def device_of(array) -> Device:
    """The device an array lives on, asking each loaded backend."""
    if cpu.is_array(array):
        return device("cpu")
    if type(array).__module__.partition(".")[0] == "cupy":
        _load("cuda")  # a CuPy array made outside tinynet: load its backend now
    for type_name, mod in list(_BACKENDS.items()):
        if not isinstance(mod, str) and type_name != "cpu" and mod.is_array(array):
            idx = mod.array_device_index(array) if hasattr(mod, "array_device_index") else 0
            return device(f"{type_name}:{idx}")
    raise TypeError(f"not an array tinynet knows: {type(array).__name__}")


# ----- the default device -------------------------------------------------------------------

_default_device: list[Device | None] = [None]


def get_default_device() -> Device:
    """Where factories put new tensors: `set_default_device`'s, else $TINYNET_DEVICE, else cpu."""
    dev = _default_device[0]
    if dev is None:
        spec = os.environ.get("TINYNET_DEVICE", "").strip() or "cpu"
        try:
            dev = device(spec)
        except (RuntimeError, ValueError) as e:
            raise type(e)(f"TINYNET_DEVICE={spec!r}: {e}") from None
        _default_device[0] = dev
    return dev


def set_default_device(spec) -> None:
    """Where factories put new tensors when no `device=` is given.

    `None` forgets the setting: the next lookup reads $TINYNET_DEVICE again (or "cpu").
    """
    _default_device[0] = None if spec is None else device(spec)


# ----- availability, synchronisation, device context ------------------------------------------


def _loaded(type_name: str) -> ModuleType | None:
    try:
        return _load(type_name)
    except (ImportError, RuntimeError):
        return None


def is_available(type_name: str = "cuda") -> bool:
    """Whether devices of `type_name` can be used here (never raises)."""
    mod = _loaded(type_name)
    if mod is None:
        return False
    try:
        return bool(mod.is_available()) if hasattr(mod, "is_available") else True
    except Exception:  # a broken driver or library reads as "not available"
        return False


def unavailable_reason(type_name: str = "cuda") -> str | None:
    """Why `type_name` devices cannot be used (None when they can), with the fix."""
    if is_available(type_name):
        return None
    mod = _loaded(type_name)
    if mod is not None and hasattr(mod, "unavailable_reason"):
        return mod.unavailable_reason()
    return f"device type {type_name!r} is not available"


def device_count(type_name: str = "cuda") -> int:
    """How many devices of `type_name` can be used (0 when none; never raises)."""
    if not is_available(type_name):
        return 0
    mod = _load(type_name)
    return int(mod.device_count()) if hasattr(mod, "device_count") else 1


def available_devices() -> list[Device]:
    """Every device usable here: cpu, then each index of each other available type."""
    out = [device("cpu")]
    for type_name in list(_BACKENDS):
        if type_name != "cpu":
            out.extend(device(f"{type_name}:{i}") for i in range(device_count(type_name)))
    return out


def synchronize(dev=None) -> None:
    """Wait until the work queued on `dev` (default: the default device) has finished."""
    dev = device(dev)
    dev.backend.synchronize(dev.index)


def device_context(dev):
    """A context in which `dev` is its backend's current device (CuPy launches there)."""
    dev = device(dev)
    if hasattr(dev.backend, "device_context"):
        return dev.backend.device_context(dev.index or 0)
    return contextlib.nullcontext()


def diagnose(type_name: str = "cuda") -> dict | None:
    """What the backend knows about its installation (versions, faults), or None."""
    mod = _loaded(type_name)
    return mod.diagnose() if mod is not None and hasattr(mod, "diagnose") else None


# ----- DLPack -------------------------------------------------------------------------------


def from_dlpack(x):
    """The array behind any DLPack producer, zero-copy, and its Device: `(array, device)`."""
    if not hasattr(x, "__dlpack_device__") or not hasattr(x, "__dlpack__"):
        raise TypeError(
            f"from_dlpack: expected an object with __dlpack__ (a NumPy or CuPy array, a torch "
            f"tensor, ...), got {type(x).__name__}"
        )
    dev_type, dev_id = (int(v) for v in x.__dlpack_device__())
    type_name = _DLPACK_TYPES.get(dev_type)
    if type_name is None:
        for name, mod in list(_BACKENDS.items()):
            if not isinstance(mod, str) and getattr(mod, "dlpack_device_type", None) == dev_type:
                type_name = name
    if type_name is None:
        raise RuntimeError(
            f"from_dlpack: the producer's memory is on DLPack device type {dev_type}, which no "
            "tinynet backend reads (CPU is 1, CUDA 2); copy it to the host first"
        )
    dev = device("cpu") if type_name == "cpu" else device(f"{type_name}:{dev_id}")
    return dev.backend.from_dlpack(x), dev


# ----- random generators ----------------------------------------------------------------------

_generators: dict[Device, object] = {}
_seed: list[int | None] = [None]
_type_seed: dict[str, int] = {}  # a device type seeded apart (tn.cuda.manual_seed_all)


class Generator:
    """A random generator a user owns (`torch.Generator`): the `generator=` argument of the
    random factories, samplers and `DataLoader` draws from it instead of the global stream.

    Args:
        device: where its numbers are made (default "cpu").

    Example: `g = tn.Generator().manual_seed(0); tn.randperm(5, generator=g)`.
    """

    def __init__(self, device="cpu"):
        self.device = device if isinstance(device, Device) else globals()["device"](device)
        self._initial_seed = int.from_bytes(os.urandom(8), "little") >> 1
        self._gen = None

    def manual_seed(self, seed: int) -> Generator:
        """Reseed it; returns itself, as torch does."""
        self._initial_seed = int(seed)
        self._gen = None
        return self

    def seed(self) -> int:
        """Reseed it from the operating system's entropy; returns the new seed."""
        self.manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)
        return self._initial_seed

    def initial_seed(self) -> int:
        """The seed it was last seeded with."""
        return self._initial_seed

    def backend_generator(self):
        """The backend's generator (NumPy's Generator API) behind it."""
        if self._gen is None:
            with device_context(self.device):
                self._gen = self.device.backend.generator(self._initial_seed)
        return self._gen


def generator(dev: Device, gen: Generator | None = None):
    """The random generator of a device (NumPy's Generator API), seeded by `manual_seed`,
    or the one behind a user's `Generator` when `gen` is given.

    Each device draws its own stream from the one seed, so the same seed gives the
    same numbers on a device every run, but not the same numbers on two devices.
    """
    if gen is not None:
        if not isinstance(gen, Generator):
            raise TypeError(f"generator= must be a tinynet Generator, got {type(gen).__name__}")
        if gen.device != dev:
            raise RuntimeError(
                f"generator on {gen.device} cannot make numbers for a tensor on {dev}"
            )
        return gen.backend_generator()
    gen = _generators.get(dev)
    if gen is None:
        seed = _type_seed.get(dev.type, _seed[0])
        if seed is not None:  # each device gets its own stream from the same seed
            seed = [seed, dev.index or 0, zlib.crc32(dev.type.encode())]
        with device_context(dev):  # CuPy allocates the generator's state on the device
            gen = dev.backend.generator(seed)
        _generators[dev] = gen
    return gen


def manual_seed(seed: int) -> None:
    """Seed the random generators of every device (tn.rand, randn, init, dropout, shuffles)."""
    _seed[0] = int(seed)
    _type_seed.clear()
    _generators.clear()


def manual_seed_type(type_name: str, seed: int) -> None:
    """Seed the generators of every device of one type ("cuda") only, as torch.cuda does."""
    _type_seed[type_name] = int(seed)
    for dev in [d for d in _generators if d.type == type_name]:
        del _generators[dev]
