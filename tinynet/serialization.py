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
from .backend import Device
from .backend import device as as_device
from .creation import from_numpy
from .tensor import Tensor, tensor

__all__ = ["save", "load", "read_metadata", "flatten_state", "unflatten_state"]

_SKELETON = "tinynet.skeleton"  # metadata key: JSON of a nested object, tensors as references
_ORDER = "tinynet.keys"  # metadata key: the key order of a flat dict (the file sorts its keys)
_DEVICES = "tinynet.devices"  # metadata key: {name: device} of the tensors not saved from cpu


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
        hint = ""
        if hasattr(value, "state_dict"):
            hint = (
                f"; a whole {type(value).__name__} cannot be saved (that would need pickling): "
                f"save its state_dict() instead, e.g. tn.save(model.state_dict(), path), and "
                f"rebuild the object in code before load_state_dict(tn.load(path))"
            )
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


def save(obj, f, metadata: dict[str, str] | None = None) -> None:
    """Write a state dict (or a nested checkpoint) to `path` as a safetensors file, atomically.

    The file is written next to `path` under a temporary name and renamed over
    it, so an interrupted save never leaves a truncated checkpoint.

    Args:
        obj: a flat {name: Tensor} dict (`model.state_dict()`), or a nested
            object of dicts, lists, numbers and tensors (`opt.state_dict()`,
            `{"model": ..., "optimizer": ..., "epoch": 3}`).
        f: the file to write (by convention `*.safetensors`): a path, or a binary file
            object (written in one piece; atomic only for paths).
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
    where = {k: str(t.device) for k, t in tensors.items() if t.device.type != "cpu"}
    if where:  # for load(map_location={"cuda:0": "cpu"})
        meta[_DEVICES] = json.dumps(where)
    # asarray(order="C"), not ascontiguousarray, which turns 0-d arrays into 1-d ones
    arrays = {k: np.asarray(t.detach().cpu().numpy(), order="C") for k, t in tensors.items()}
    if hasattr(f, "write"):
        from safetensors.numpy import save

        f.write(save(arrays, metadata=meta))
        return
    with atomic_path(f) as tmp:  # a crash mid-write leaves the old file, not half a new one
        save_file(arrays, tmp, metadata=meta)


class _Bad(Exception):
    """One thing wrong with a file; `load` turns it into a ValueError naming the file."""


# safetensors dtype -> (little-endian NumPy dtype it is stored as, how tinynet keeps it)
_ST_DTYPES = {
    "BOOL": ("|b1", "keep"), "U8": ("|u1", "widen"), "I8": ("|i1", "widen"),
    "I16": ("<i2", "widen"), "U16": ("<u2", "widen"), "I32": ("<i4", "keep"),
    "U32": ("<u4", "widen"), "I64": ("<i8", "keep"), "U64": ("<u8", "u64"),
    "F16": ("<f2", "keep"), "BF16": ("<u2", "bf16"), "F32": ("<f4", "keep"),
    "F64": ("<f8", "keep"),
}  # fmt: skip
_MAX_HEADER = 100_000_000  # bytes: safetensors' own limit
_MAX_DEPTH = 64  # of the nested checkpoint structure stored in the metadata


def _json(text: str, what: str):
    try:
        return json.loads(text)
    except RecursionError:
        raise _Bad(f"{what} is nested too deeply") from None
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _Bad(f"{what} is not valid JSON ({e})") from None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _parse_header(raw: bytes, size: int, header_only: bool = False) -> tuple[dict, dict, int]:
    """Check a safetensors header completely: ({name: (dtype, shape, begin, end)}, metadata,
    data start). Every way a header can be wrong raises _Bad saying which."""
    if size < 8:
        raise _Bad(f"the file has {size} bytes, fewer than the 8 of the header length")
    n = int.from_bytes(raw[:8], "little")
    if n > _MAX_HEADER or n > size - 8:
        raise _Bad(f"the header length {n} exceeds the file ({size} bytes) or the 100 MB limit")
    try:
        text = raw[8 : 8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        raise _Bad(f"the header is not UTF-8 ({e})") from None
    header = _json(text, "the header")
    if not isinstance(header, dict):
        raise _Bad(f"the header is a JSON {type(header).__name__}, not an object")
    meta = header.pop("__metadata__", {})
    meta = {} if meta is None else meta
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        raise _Bad("__metadata__ must map strings to strings")
    if header_only:
        return {}, meta, 8 + n
    start, data_len = 8 + n, size - 8 - n
    entries, spans = {}, []
    for name, e in header.items():
        where = f"tensor {name!r}"
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise _Bad(f"{where}: expected an object with exactly dtype, shape, data_offsets")
        dtype, shape, offsets = e["dtype"], e["shape"], e["data_offsets"]
        if not isinstance(dtype, str) or dtype not in _ST_DTYPES:
            known = ", ".join(_ST_DTYPES)
            raise _Bad(f"{where}: dtype {dtype!r} is not one tinynet reads ({known})")
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            raise _Bad(f"{where}: shape {shape!r} is not a list of non-negative ints")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_int, offsets))):
            raise _Bad(f"{where}: data_offsets {offsets!r} is not a pair of ints")
        begin, end = offsets
        if not 0 <= begin <= end <= data_len:
            raise _Bad(f"{where}: data_offsets {offsets} fall outside the {data_len} data bytes")
        np_dtype = np.dtype(_ST_DTYPES[dtype][0])
        want = int(np.prod(shape, dtype=object)) * np_dtype.itemsize
        if end - begin != want:
            raise _Bad(
                f"{where}: data_offsets {offsets} hold {end - begin} bytes, but shape "
                f"{shape} of {dtype} needs {want}"
            )
        entries[name] = (dtype, tuple(shape), begin, end)
        spans.append((begin, end, name))
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            kind = "overlaps the previous tensor" if begin < at else f"leaves a gap at byte {at}"
            raise _Bad(f"tensor {name!r} at data_offsets [{begin}, {end}] {kind}")
        at = end
    if at != data_len:
        raise _Bad(f"the tensors cover {at} of the {data_len} data bytes")
    return entries, meta, start


def _array(buf, dtype: str, shape: tuple, begin: int, end: int, name: str) -> np.ndarray:
    """The tensor's values as a writable native array of a tinynet dtype, exactly."""
    stored, rule = _ST_DTYPES[dtype]
    a = np.frombuffer(buf, dtype=stored, count=(end - begin) // np.dtype(stored).itemsize,
                      offset=begin).reshape(shape)  # fmt: skip
    if rule == "keep":
        return a.astype(a.dtype.newbyteorder("="), copy=True)
    if rule == "widen":  # uint8, int8, int16, uint16, uint32: int64 holds every value
        return a.astype(np.int64)
    if rule == "bf16":  # bfloat16 is the top half of a float32: exact
        return np.asarray(a.astype(np.uint32) << 16).view(np.float32)
    # uint64: kept exactly when every value fits int64, refused otherwise (never wrapped)
    if a.size and int(a.max()) > np.iinfo(np.int64).max:
        raise _Bad(
            f"tensor {name!r} is uint64 with values up to {int(a.max())}, beyond int64 "
            "(tinynet has no uint64 dtype and never wraps an integer)"
        )
    return a.astype(np.int64)


def _check_skeleton(skeleton, tensors) -> None:
    """The nested structure from the metadata: well-formed, bounded, only known tensors."""
    stack = [(skeleton, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise _Bad(f"the checkpoint structure is nested deeper than {_MAX_DEPTH}")
        if node is None or isinstance(node, (bool, int, float, str)):
            continue
        if not isinstance(node, dict) or len(node) != 1:
            raise _Bad(f"malformed checkpoint structure at {str(node)[:80]!r}")
        ((kind, value),) = node.items()
        if kind == "__tensor__":
            if not isinstance(value, str) or value not in tensors:
                raise _Bad(f"the checkpoint structure refers to a tensor {value!r} not in the file")
        elif kind == "__dict__":
            if not isinstance(value, list) or not all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int))
                and not isinstance(p[0], bool) for p in value
            ):  # fmt: skip
                raise _Bad("malformed checkpoint structure: __dict__ must list [key, value] pairs")
            stack.extend((v, depth + 1) for _, v in value)
        elif kind in ("__list__", "__tuple__"):
            if not isinstance(value, list):
                raise _Bad(f"malformed checkpoint structure: {kind} must be a list")
            stack.extend((v, depth + 1) for v in value)
        else:
            raise _Bad(f"malformed checkpoint structure: unknown node {kind!r}")


def _not_safetensors(name: str, head: bytes, reason: str) -> ValueError:
    hint = ""
    if head[:2] == b"PK" or head[:1] == b"\x80":
        hint = (
            " It looks like a PyTorch pickle (.pt/.pth), which tinynet never loads: in PyTorch, "
            "convert it with safetensors.torch.save_file(model.state_dict(), 'model.safetensors')."
        )
    return ValueError(
        f"load: {name!r} is not a valid safetensors file ({reason}); tn.load reads files "
        f"written by tn.save or safetensors.{hint}"
    )


def _placement(map_location, device):
    """A function (tensor, saved location) -> Tensor from torch's map_location and device=."""
    if map_location is None:
        dev = as_device(device)
        return lambda t, loc: t.to(dev)
    if device is not None:
        raise ValueError("load: pass map_location or device, not both")
    if isinstance(map_location, (str, Device)):
        dev = as_device(map_location)
        return lambda t, loc: t.to(dev)
    if isinstance(map_location, dict):
        table = {str(k): v for k, v in map_location.items()}
        return lambda t, loc: t.to(as_device(table.get(loc, loc)))  # unmapped: stays put
    if callable(map_location):

        def call(t, loc):
            out = map_location(t, loc)
            if not isinstance(out, Tensor):
                raise TypeError(
                    f"load: map_location returned {type(out).__name__}, expected a Tensor"
                )
            return out

        return call
    raise TypeError(
        "load: map_location must be a device string ('cpu', 'cuda:0'), a tn.device, a dict "
        f"{{'cuda:0': 'cpu'}} or a function (tensor, location) -> tensor, got "
        f"{type(map_location).__name__}"
    )


def load(f, map_location=None, *, weights_only=None, device=None, mmap=None):
    """Read a checkpoint written by `tn.save` (or any safetensors file).

    The file is checked completely before any tensor is made: a damaged or crafted
    header (not JSON, nested, huge, wrong types, unknown dtypes, overlapping or
    out-of-range offsets, references to tensors that are not there) raises one
    ValueError naming the file and what is wrong.

    Args:
        f: the file (a path, or a binary file object).
        map_location: as torch's: a device string or `tn.device` for every tensor, a dict
            from saved location to target ({"cuda:0": "cpu"}; unmapped ones go where
            they were saved from) or a function (tensor on cpu, saved location) -> tensor.
        weights_only: accepted for torch's signature; tinynet only ever loads weights (no
            pickle), so True, False and None all read the file the same safe way.
        device: where to put the tensors (default: the default device); tinynet's own
            spelling of a device `map_location`.
        mmap: accepted for torch's signature; ignored.

    Returns:
        {name: Tensor} for a flat state dict, in the order it was saved; the
        original nested structure for a nested checkpoint. Integer types tinynet lacks
        (uint8, int8, int16, uint16, uint32) load as int64, bfloat16 as float32, uint64 as
        int64 when every value fits (else ValueError): values are always kept exactly.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a valid safetensors file (e.g. a pickled PyTorch .pt file).

    Example:
        >>> model.load_state_dict(tn.load("model.safetensors"))
        >>> sd = tn.load("model.safetensors", map_location="cpu", weights_only=True)
    """
    del weights_only, mmap  # always weights only; always read into memory
    place = _placement(map_location, device)
    if hasattr(f, "read"):
        name = str(getattr(f, "name", "<file object>"))
        raw = f.read()
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise TypeError(f"load: the file object {name} must be opened in binary mode ('rb')")
    else:
        try:
            name = os.fspath(f)
        except TypeError:
            raise TypeError(
                f"load: expected a path or a binary file object, got {type(f).__name__}"
            ) from None
        if not os.path.isfile(name):
            raise FileNotFoundError(f"load: no checkpoint file at {name!r}")
        with open(name, "rb") as fh:
            raw = fh.read()
    try:
        entries, meta, start = _parse_header(raw, len(raw))
        data = memoryview(raw)[start:]
        arrays = {k: _array(data, *e, k) for k, e in entries.items()}
        skeleton = _json(meta[_SKELETON], "the checkpoint structure") if _SKELETON in meta else None
        if skeleton is not None:
            _check_skeleton(skeleton, arrays)
        order = _json(meta[_ORDER], "the key order") if _ORDER in meta else []
        if not isinstance(order, list) or not all(isinstance(k, str) for k in order):
            raise _Bad("the key order is not a list of names")
        where = _json(meta.get(_DEVICES, "{}"), "the saved devices")
        if not isinstance(where, dict) or not all(isinstance(v, str) for v in where.values()):
            raise _Bad("the saved devices are not a {name: device} object")
    except _Bad as e:
        raise _not_safetensors(name, bytes(raw[:4]), str(e)) from None
    tensors = {k: place(from_numpy(a), where.get(k, "cpu")) for k, a in arrays.items()}
    if skeleton is not None:
        return unflatten_state(tensors, skeleton)
    if sorted(order) == sorted(tensors):
        tensors = {k: tensors[k] for k in order}
    return tensors


def read_metadata(path) -> dict[str, str]:
    """The str -> str metadata of a safetensors file (what `save(..., metadata=)` stored).

    Reads and checks only the header, not the tensors.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the header is not a valid safetensors header.
    """
    name = os.fspath(path)
    with open(name, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else 0
        raw = head + fh.read(min(n, _MAX_HEADER))
    try:
        _, meta, _ = _parse_header(raw, size, header_only=True)
    except _Bad as e:
        raise _not_safetensors(name, raw[:4], str(e)) from None
    return {k: v for k, v in meta.items() if not k.startswith("tinynet.")}
