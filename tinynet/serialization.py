"""`tn.save` / `tn.load`: checkpoints as safetensors files (no pickle, nothing executed on load).

A module's `state_dict()` is a flat {name: Tensor} dict and is written as is,
so the file loads into the same architecture in PyTorch with
`safetensors.torch.load_file` + `load_state_dict`, and a PyTorch state dict
saved with `safetensors.torch.save_file` loads here.

Nested objects, such as an optimizer's `state_dict()` or a training
checkpoint `{"model": ..., "optimizer": ..., "epoch": 3}`, are flattened: each
tensor is stored under its dotted path ("optimizer.state.0.exp_avg") and the
rest (numbers, strings, lists, dicts, the key order) is kept as JSON in the
file's metadata, from which `tn.load` rebuilds the same structure.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ._files import atomic_path
from .backend import device as as_device
from .creation import from_numpy
from .tensor import Tensor, tensor

__all__ = ["save", "load", "flatten_state", "unflatten_state"]

_SKELETON = "tinynet.skeleton"  # metadata key: JSON of a nested object, tensors as references
_ORDER = "tinynet.keys"  # metadata key: the key order of a flat dict (the file sorts its keys)


def _is_flat(obj) -> bool:
    return isinstance(obj, dict) and all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()
    )


def flatten_state(obj) -> tuple[dict[str, Tensor], object]:
    """Split a nested object into ({dotted path: Tensor}, a JSON-able skeleton).

    Dicts (str or int keys), lists, tuples, numbers, strings, None and Tensors
    are accepted; in the skeleton each Tensor becomes {"__tensor__": path}.
    `unflatten_state` inverts it.

    Example:
        >>> tensors, skeleton = flatten_state(opt.state_dict())
    """
    tensors: dict[str, Tensor] = {}

    def walk(value, path: list[str]):
        where = ".".join(path) or "<root>"
        if isinstance(value, Tensor):
            key = where
            if key in tensors:
                raise ValueError(f"save: two tensors would be stored under the same key {key!r}")
            tensors[key] = value
            return {"__tensor__": key}
        if isinstance(value, np.ndarray):
            return walk(tensor(value, device="cpu"), path)
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                if isinstance(k, np.integer):
                    k = int(k)
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise TypeError(
                        f"save: dict keys must be str or int, got {type(k).__name__} at {where}"
                    )
                items.append([k, walk(v, [*path, str(k)])])
            return {"__dict__": items}
        if isinstance(value, (list, tuple)):
            kind = "__tuple__" if isinstance(value, tuple) else "__list__"
            return {kind: [walk(v, [*path, str(i)]) for i, v in enumerate(value)]}
        hint = "; save module.state_dict()" if hasattr(value, "state_dict") else ""
        raise TypeError(
            f"save: cannot store a {type(value).__name__} at {where}: tn.save stores tensors, "
            f"numbers, strings, None, lists and dicts (nothing is pickled){hint}"
        )

    skeleton = walk(obj, [])
    return tensors, skeleton


def unflatten_state(tensors: dict, skeleton):
    """Rebuild the object `flatten_state` split, taking tensors from `tensors`."""

    def build(node):
        if isinstance(node, dict):
            if "__tensor__" in node:
                key = node["__tensor__"]
                if key not in tensors:
                    raise ValueError(f"load: the checkpoint lacks the tensor {key!r}")
                return tensors[key]
            if "__dict__" in node:
                return {k: build(v) for k, v in node["__dict__"]}
            if "__list__" in node:
                return [build(v) for v in node["__list__"]]
            if "__tuple__" in node:
                return tuple(build(v) for v in node["__tuple__"])
            raise ValueError(f"load: malformed checkpoint structure {node!r}")
        return node

    return build(skeleton)


def save(obj, path, metadata: dict[str, str] | None = None) -> None:
    """Write a state dict (or a nested checkpoint) to `path` as a safetensors file, atomically.

    The file is written next to `path` under a temporary name and renamed over
    it, so an interrupted save never leaves a truncated checkpoint.

    Args:
        obj: a flat {name: Tensor} dict (`model.state_dict()`), or a nested
            object of dicts, lists, numbers and tensors (`opt.state_dict()`,
            `{"model": ..., "optimizer": ..., "epoch": 3}`).
        path: the file to write (by convention `*.safetensors`).
        metadata: extra str -> str pairs stored in the file's header.

    Example:
        >>> tn.save(model.state_dict(), "model.safetensors")
        >>> tn.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, "ck.safetensors")
    """
    from safetensors.numpy import save_file

    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    if _is_flat(obj):
        tensors = obj
        meta[_ORDER] = json.dumps(list(obj))
    else:
        tensors, skeleton = flatten_state(obj)
        meta[_SKELETON] = json.dumps(skeleton)
    # asarray(order="C"), not ascontiguousarray, which turns 0-d arrays into 1-d ones
    arrays = {k: np.asarray(t.detach().numpy(), order="C") for k, t in tensors.items()}
    with atomic_path(path) as tmp:  # a crash mid-write leaves the old file, not half a new one
        save_file(arrays, tmp, metadata=meta)


def _not_safetensors(path: str, reason: str) -> ValueError:
    with open(path, "rb") as f:
        head = f.read(4)
    hint = ""
    if head[:2] == b"PK" or head[:1] == b"\x80":
        hint = (
            " It looks like a PyTorch pickle (.pt/.pth), which tinynet never loads: in PyTorch, "
            "convert it with safetensors.torch.save_file(model.state_dict(), 'model.safetensors')."
        )
    return ValueError(
        f"load: {path!r} is not a valid safetensors file ({reason}); tn.load reads files "
        f"written by tn.save or safetensors.{hint}"
    )


def load(path, device=None, *, map_location=None, weights_only=None, mmap=None):
    """Read a checkpoint written by `tn.save` (or any safetensors file).

    Args:
        path: the file.
        device: where to put the tensors (default: the default device).
        map_location: torch's spelling of `device` (a device or its name).
        weights_only: accepted for torch's signature; tinynet always loads weights only
            (a safetensors file holds nothing else), whatever its value.
        mmap: accepted for torch's signature; ignored.

    Returns:
        {name: Tensor} for a flat state dict, in the order it was saved; the
        original nested structure for a nested checkpoint.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not safetensors (e.g. a pickled PyTorch .pt file).

    Example:
        >>> model.load_state_dict(tn.load("model.safetensors"))
    """
    from safetensors import safe_open

    if map_location is not None:
        if device is not None:
            raise ValueError(
                f"load: pass device= or map_location=, not both (got {device!r} and "
                f"{map_location!r})"
            )
        if callable(map_location) or isinstance(map_location, dict):
            raise TypeError(
                "load: map_location must be a device or a device name (e.g. 'cpu'); "
                f"got {type(map_location).__name__}, which needs pickle's storage hooks"
            )
        device = map_location
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no checkpoint file at {path!r}")
    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118  (safe_open has no __iter__)
    except (OSError, ValueError, TypeError) as e:
        raise _not_safetensors(path, str(e)) from None
    except Exception as e:  # SafetensorError is not exported as a class everywhere
        if type(e).__name__ != "SafetensorError":
            raise
        raise _not_safetensors(path, str(e)) from None
    dev = as_device(device)
    tensors = {}
    for k, a in arrays.items():
        if not a.flags.writeable:
            a = a.copy()
        if dev.type == "cpu" and a.dtype in (np.float16, np.float32, np.float64, np.int32,
                                             np.int64, np.bool_):  # fmt: skip
            tensors[k] = from_numpy(a)
        else:
            tensors[k] = tensor(a, device=dev)
    if _SKELETON in meta:
        return unflatten_state(tensors, json.loads(meta[_SKELETON]))
    order = json.loads(meta[_ORDER]) if _ORDER in meta else []
    if sorted(order) == sorted(tensors):
        tensors = {k: tensors[k] for k in order}
    return tensors
