"""Imports point one way: backend <- tensor/autograd <- ops <- F <- nn, optim, data.

Parsed with `ast`, so a violation fails here before it turns into an import cycle.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "tinynet"


def _imports(path: pathlib.Path) -> set[str]:
    """Absolute tinynet module names a file imports (relative imports resolved)."""
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    package = parts if path.name == "__init__.py" else parts[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _files(sub: str):
    return sorted((PKG / sub).rglob("*.py")) if (PKG / sub).is_dir() else [PKG / f"{sub}.py"]


RULES = [
    # (files, forbidden prefixes, why)
    ("backend", ["tinynet.tensor", "tinynet.autograd", "tinynet.ops", "tinynet.nn",
                 "tinynet.optim", "tinynet.data"], "the backend is the bottom layer"),
    ("autograd/engine", ["tinynet.ops", "tinynet.backend", "tinynet.nn"],
     "the engine knows no op and no backend"),
    ("autograd/grad_mode", ["tinynet.ops", "tinynet.backend", "tinynet.tensor"],
     "grad mode is a flag"),
    ("ops", ["tinynet.nn", "tinynet.optim", "tinynet.data"], "ops sit below nn/optim/data"),
]  # fmt: skip


@pytest.mark.parametrize("sub,forbidden,why", RULES, ids=[r[0] for r in RULES])
def test_imports_point_one_way(sub, forbidden, why):
    bad = []
    for f in _files(sub):
        for mod in _imports(f):
            if any(mod == p or mod.startswith(p + ".") for p in forbidden):
                bad.append(f"{f.relative_to(PKG.parent)} imports {mod}")
    assert not bad, f"{why}:\n" + "\n".join(bad)


def test_package_never_imports_torch():
    bad = [
        str(f.relative_to(PKG.parent))
        for f in PKG.rglob("*.py")
        if any(m == "torch" or m.startswith("torch.") for m in _imports(f))
    ]
    assert not bad, f"torch is a test oracle only, imported by: {bad}"


def test_rules_see_real_imports():
    # the parser itself must find the imports it checks, or every rule passes vacuously
    mods = _imports(PKG / "ops" / "elementwise.py")
    assert "tinynet.autograd.function" in mods and "tinynet.tensor" in mods
