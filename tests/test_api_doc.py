"""docs/api.md lists every public name, and names nothing that does not exist.

A public name is one a user reaches from a public module without an underscore: a
module's `__all__` where it has one, else every function, class or value defined in
tinynet that the module holds (modules themselves aside), plus the public methods and
properties of `Tensor`. Run `python tests/test_api_doc.py --write` to regenerate the
tables after adding names (summaries come from the first line of each docstring), then
read the diff.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re
import sys
import types

ROOT = pathlib.Path(__file__).resolve().parents[1]
API_MD = ROOT / "docs" / "api.md"

# (module, how the docs spell its prefix, heading)
MODULES = [
    ("tinynet", "tn", "Tensors, factories and math (`import tinynet as tn`)"),
    ("tinynet.autograd", "tn.autograd", "Autograd"),
    ("tinynet.autograd.functional", "tn.autograd.functional", "Higher-order autograd"),
    ("tinynet.nn", "nn", "Modules (`import tinynet.nn as nn`)"),
    ("tinynet.nn.functional", "F", "Functions (`import tinynet.nn.functional as F`)"),
    ("tinynet.nn.init", "nn.init", "Initialisation"),
    ("tinynet.nn.utils", "nn.utils", "Gradient utilities"),
    ("tinynet.nn.grad", "nn.grad", "Conv gradients as functions"),
    ("tinynet.optim", "tn.optim", "Optimizers"),
    ("tinynet.optim.lr_scheduler", "tn.optim.lr_scheduler", "Learning-rate schedulers"),
    ("tinynet.data", "tn.data", "Data (also `tinynet.utils.data`)"),
    ("tinynet.data.datasets", "tn.data.datasets", "Datasets"),
    ("tinynet.cuda", "tn.cuda", "CUDA"),
    ("tinynet.viz", "tn.viz", "Pictures of the graph"),
    ("tinynet.testing", "tn.testing", "Testing helpers"),
]
ROW = re.compile(r"^\| `([\w.]+)` \| (.*) \|$")


def _available():
    for name, prefix, heading in MODULES:
        try:
            yield importlib.import_module(name), prefix, heading
        except ModuleNotFoundError:
            continue


def _public(mod) -> list[str]:
    if hasattr(mod, "__all__"):
        return sorted(mod.__all__)
    names = []
    for n in dir(mod):
        obj = getattr(mod, n)
        if n.startswith("_") or isinstance(obj, types.ModuleType):
            continue
        home = getattr(obj, "__module__", None) or type(obj).__module__
        if str(home).startswith("tinynet"):
            names.append(n)
    return sorted(names)


def _tensor_members() -> list[str]:
    import tinynet as tn

    return sorted(n for n in dir(tn.Tensor) if not n.startswith("_"))


def public_names() -> dict[str, str]:
    """Every public name, spelled as the docs spell it, with its one-line summary."""
    import tinynet as tn

    out = {}
    for mod, prefix, _ in _available():
        for n in _public(mod):
            out[f"{prefix}.{n}"] = _summary(getattr(mod, n), n)
    for n in _tensor_members():
        out[f"Tensor.{n}"] = _summary(inspect.getattr_static(tn.Tensor, n), n, tensor=True)
    return out


def _summary(obj, name: str, tensor: bool = False) -> str:
    import tinynet as tn

    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    doc = obj.__doc__ if callable(obj) or isinstance(obj, property) else None
    if isinstance(obj, types.MemberDescriptorType):  # a slot: its docstring is in __slots__
        doc = inspect.getdoc(obj)
    if doc and doc is not type(obj).__doc__:
        line = inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ").strip()
        return line.replace("|", "\\|")
    base = name[:-1] if name.endswith("_") and not name.endswith("__") else name
    if tensor and inspect.isfunction(getattr(tn, base, None)):
        return f"method form of `tn.{base}`" + (" (in place)" if base != name else "")
    if tensor and base != name and hasattr(tn.Tensor, base):
        return f"in-place form of `Tensor.{base}`"
    return f"a `{type(obj).__name__}`" if not callable(obj) else "(no docstring)"


def documented() -> dict[str, str]:
    rows = {}
    for line in API_MD.read_text().splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def render() -> str:
    names = public_names()
    lines = [
        "# API reference",
        "",
        "Every public name in tinynet, with its one-line summary. Names, signatures and",
        "defaults follow PyTorch 2.13; `docs/porting.md` says where tinynet differs.",
        "tests/test_api_doc.py keeps this page complete (regenerate the tables with",
        "`python tests/test_api_doc.py --write`).",
        "",
    ]
    for _mod, prefix, heading in _available():
        lines += [f"## {heading}", "", "| name | what |", "|---|---|"]
        lines += [f"| `{k}` | {names[k]} |" for k in sorted(names) if k.rsplit(".", 1)[0] == prefix]
        lines.append("")
    lines += ["## Tensor methods and properties", "", "| name | what |", "|---|---|"]
    lines += [f"| `{k}` | {names[k]} |" for k in sorted(names) if k.startswith("Tensor.")]
    return "\n".join(lines) + "\n"


def test_every_public_name_is_documented():
    missing = sorted(set(public_names()) - set(documented()))
    assert not missing, f"docs/api.md lacks {missing}; run python tests/test_api_doc.py --write"


def test_api_md_names_only_what_exists():
    stale = sorted(set(documented()) - set(public_names()))
    assert not stale, f"docs/api.md names {stale}, which do not exist (any more)"


def test_every_row_has_a_summary():
    bare = sorted(k for k, v in documented().items() if not v.strip() or "no docstring" in v)
    assert not bare, f"these rows of docs/api.md have no summary: {bare}"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    sys.path.insert(0, str(ROOT))
    API_MD.write_text(render())
    print(f"wrote {API_MD}")
