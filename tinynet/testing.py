"""`tn.testing.compare_devices`: one training step on two devices, compared layer by layer.

A user moving a model to the GPU wants to see that nothing changed but the speed:
this runs the same step (forward, loss, backward, optionally an optimizer step) from
the same weights on two devices and reports, per layer output and per parameter
gradient, the largest difference.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .backend import device as as_device
from .backend import device_context
from .tensor import Tensor, tensor

__all__ = ["compare_devices", "DeviceComparison", "Difference"]


@dataclass
class Difference:
    """The largest elementwise difference of one quantity between the two devices.

    `max_abs` is max |a - b|; `rel` divides it by max |a| (the first device's values),
    so float32 rounding shows as ~1e-7 whatever the scale.
    """

    kind: str  # "loss", "output", "grad" or "param"
    name: str
    shape: tuple
    max_abs: float
    rel: float
    note: str = ""

    @property
    def label(self) -> str:
        return self.name if self.kind == "loss" else f"{self.kind} {self.name}"


@dataclass
class DeviceComparison:
    """What `compare_devices` found; `print(report)` shows a table."""

    devices: tuple[str, str]
    dtype: str
    loss: tuple[float, float]
    entries: list[Difference] = field(default_factory=list)

    def _of(self, kind: str) -> list[Difference]:
        return [e for e in self.entries if e.kind == kind]

    @property
    def outputs(self) -> list[Difference]:
        """Per layer output (forward), in the order the layers ran."""
        return self._of("output")

    @property
    def grads(self) -> list[Difference]:
        """Per parameter gradient (backward)."""
        return self._of("grad")

    @property
    def params(self) -> list[Difference]:
        """Per buffer (BatchNorm running stats) after the step, and per parameter after the
        optimizer step when an optimizer was given."""
        return self._of("param")

    @property
    def worst(self) -> Difference:
        """The entry with the largest relative difference."""
        return max(self.entries, key=lambda e: (e.rel, e.max_abs))

    @property
    def max_abs(self) -> float:
        return max(e.max_abs for e in self.entries)

    @property
    def max_rel(self) -> float:
        return max(e.rel for e in self.entries)

    def assert_close(self, rtol: float = 1e-4) -> None:
        """Raise AssertionError (with the table) if any relative difference exceeds `rtol`."""
        bad = [e for e in self.entries if not e.rel <= rtol]
        if bad:
            names = ", ".join(e.label for e in bad)
            raise AssertionError(f"devices differ beyond rtol={rtol:g} in {names}\n{self}")

    def __str__(self) -> str:
        a, b = self.devices
        lines = [f"compare_devices: {a} vs {b}, one training step ({self.dtype})"]
        width = max([len(e.name) for e in self.entries] + [20])
        header = f"  {'':<{width}}  {'shape':<18} {'max |diff|':>11} {'relative':>10}"
        titles = {"loss": "loss", "output": "layer outputs", "grad": "parameter gradients",
                  "param": "parameters and buffers after the step"}  # fmt: skip
        for kind, title in titles.items():
            rows = self._of(kind)
            if not rows:
                continue
            if kind == "loss":
                e = rows[0]
                lines.append(f"loss: {self.loss[0]:.7g} on {a}, {self.loss[1]:.7g} on {b} "
                             f"(|diff| {e.max_abs:.3g}, relative {e.rel:.3g})")  # fmt: skip
                continue
            lines.append(title)
            lines.append(header)
            for e in rows:
                shape = str(tuple(e.shape))
                note = f"  {e.note}" if e.note else ""
                lines.append(f"  {e.name:<{width}}  {shape:<18} {e.max_abs:>11.3g} {e.rel:>10.3g}"
                             f"{note}")  # fmt: skip
        w = self.worst
        lines.append(f"largest difference: {w.max_abs:.3g} (relative {w.rel:.3g}) in {w.label}")
        return "\n".join(lines)

    __repr__ = __str__


def _diff(kind: str, name: str, a, b) -> Difference:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return Difference(kind, name, a.shape, float("inf"), float("inf"),
                          f"shapes differ: {a.shape} vs {b.shape}")  # fmt: skip
    if a.size == 0:
        return Difference(kind, name, a.shape, 0.0, 0.0)
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.where(both_nan, 0.0, np.abs(a - b))
    d = np.where(np.isnan(d), np.inf, d)  # NaN on one side only
    max_abs = float(d.max())
    scale = float(np.abs(a[np.isfinite(a)]).max(initial=0.0))
    rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    return Difference(kind, name, a.shape, max_abs, rel)


def _named_modules(model) -> list:
    if hasattr(model, "named_modules"):
        return list(model.named_modules())
    out, stack = [], [("", model)]
    while stack:
        prefix, mod = stack.pop()
        out.append((prefix, mod))
        kids = list(mod.named_children()) if hasattr(mod, "named_children") else []
        for n, child in reversed(kids):
            stack.append((f"{prefix}.{n}" if prefix else n, child))
    return out


def _move(v, dev):
    if isinstance(v, Tensor):
        return v.detach().to(dev).requires_grad_(v.requires_grad) if v.requires_grad else v.to(dev)
    if isinstance(v, np.ndarray):
        return tensor(v, device=dev)
    if isinstance(v, tuple):
        return tuple(_move(x, dev) for x in v)
    if isinstance(v, list):
        return [_move(x, dev) for x in v]
    return v


def _tensors(out, name: str):
    """(name, tensor) for each tensor in a layer's output (a tensor, or a tuple of them)."""
    if isinstance(out, Tensor):
        yield name, out
    elif isinstance(out, (tuple, list)):
        for i, o in enumerate(out):
            yield from _tensors(o, f"{name}[{i}]")


def _default_loss(out, target):
    if target is None:
        return out.sum()
    from .nn import functional as F

    if target.dtype.is_floating_point:
        return F.mse_loss(out, target)
    return F.cross_entropy(out, target)


def _run(model, batch, dev, loss_fn, optimizer):
    """One step of a copy of `model` on `dev`: host copies of everything to compare."""
    m = copy.deepcopy(model)
    moved = m.to(dev)
    m = moved if moved is not None else m
    record: list = []
    modules = _named_modules(m)
    for name, sub in modules:
        label = name or f"({type(m).__name__})"
        label = f"{label} ({type(sub).__name__})" if name else label

        def hook(mod, args, out, label=label):
            for n, t in _tensors(out, label):
                record.append((n, t.detach()._host().copy()))

        if hasattr(sub, "register_forward_hook"):
            sub.register_forward_hook(hook)
        else:  # no hooks: wrap the bound forward of this (throw-away) copy

            def wrapped(*args, _orig=sub.forward, _hook=hook, _sub=sub, **kwargs):
                out = _orig(*args, **kwargs)
                _hook(_sub, args, out)
                return out

            object.__setattr__(sub, "forward", wrapped)

    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        inputs, target = batch
    elif isinstance(batch, (tuple, list)) and len(batch) == 1:
        inputs, target = batch[0], None
    else:
        inputs, target = batch, None
    inputs, target = _move(inputs, dev), _move(target, dev)

    params = list(m.named_parameters())
    opt = optimizer([p for _, p in params]) if optimizer is not None else None
    with device_context(dev):
        if hasattr(m, "zero_grad"):
            m.zero_grad()
        out = m(*inputs) if isinstance(inputs, tuple) else m(inputs)
        if loss_fn is None:
            loss = _default_loss(out, target)
        else:
            loss = loss_fn(out) if target is None else loss_fn(out, target)
        loss.backward()
        grads = {n: (p.grad._host().copy() if p.grad is not None else None) for n, p in params}
        after = {}
        if opt is not None:
            opt.step()
            after = {n: p.detach()._host().copy() for n, p in params}
        buffers = m.named_buffers() if hasattr(m, "named_buffers") else []
        after.update({f"{n} (buffer)": b.detach()._host().copy() for n, b in buffers
                      if b is not None})  # fmt: skip
    dtype = str(params[0][1].dtype).replace("tinynet.", "") if params else str(out.dtype)
    return float(loss.item()), record, grads, after, dtype


def compare_devices(model, batch, devices=("cpu", "cuda"), loss_fn=None,
                    optimizer=None) -> DeviceComparison:  # fmt: skip
    """Run one training step of `model` on two devices from the same weights and compare.

    The model itself is not changed: each device gets a deep copy, moved with
    `.to(device)`. The step is forward, loss, backward, and with `optimizer` an
    optimizer step. Layer outputs are recorded with forward hooks on every submodule.

    Args:
        model: an `nn.Module`.
        batch: the input (a Tensor or NumPy array), or `(input, target)`.
        devices: the two devices, e.g. `("cpu", "cuda")`; the first is the reference.
        loss_fn: `loss_fn(output, target)` (`loss_fn(output)` without a target); default:
            cross-entropy for an integer target, MSE for a float one, `output.sum()` without.
        optimizer: optional `params -> optimizer` (e.g. `lambda p: tn.optim.SGD(p, lr=0.1)`)
            to also compare the parameters after one update.

    Returns:
        A `DeviceComparison`: `print(report)` shows per layer output and per parameter
        gradient the largest absolute and relative difference; `report.worst`,
        `report.max_rel`, `report.assert_close(rtol)`.

    Random layers (dropout) draw from each device's own generator, so they differ
    between devices: compare such models in `eval()` mode.

    Example:
        >>> report = tn.testing.compare_devices(model, (x, y), devices=("cpu", "cuda"))
        >>> print(report)
    """
    if len(devices) != 2:
        raise ValueError(f"compare_devices: give exactly two devices, got {devices!r}")
    devs = [as_device(d) for d in devices]
    runs = [_run(model, batch, d, loss_fn, optimizer) for d in devs]
    (la, oa, ga, pa, dtype), (lb, ob, gb, pb, _) = runs
    report = DeviceComparison((str(devs[0]), str(devs[1])), dtype, (la, lb))
    report.entries.append(_diff("loss", "loss", la, lb))
    names_b = dict(ob)
    for name, a in oa:
        if name in names_b:
            report.entries.append(_diff("output", name, a, names_b[name]))
        else:
            report.entries.append(Difference("output", name, a.shape, float("inf"), float("inf"),
                                             f"not produced on {devs[1]}"))  # fmt: skip
    for name, a in ga.items():
        b = gb.get(name)
        if a is None or b is None:
            if a is not None or b is not None:
                report.entries.append(Difference("grad", name, (), float("inf"), float("inf"),
                                                 "a gradient on one device only"))  # fmt: skip
            continue
        report.entries.append(_diff("grad", name, a, b))
    for name, a in pa.items():
        report.entries.append(_diff("param", name, a, pb[name]))
    return report
