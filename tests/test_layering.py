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
    ("_grad_state", ["tinynet"], "the grad-mode flag imports nothing: tensor.py reads it"),
    ("tensor", ["tinynet.ops", "tinynet.nn", "tinynet.optim", "tinynet.data"],
     "Tensor's methods get their ops bound at package init; tensor.py imports no op"),
    ("autograd", ["tinynet.ops", "tinynet.nn", "tinynet.optim", "tinynet.data"],
     "autograd sits below the ops"),
    ("ops", ["tinynet.nn", "tinynet.optim", "tinynet.data"], "ops sit below nn/optim/data"),
    ("nn/functional", ["tinynet.nn.module", "tinynet.nn.layers", "tinynet.nn.loss",
                       "tinynet.optim", "tinynet.data"], "F sits below modules, optim and data"),
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


def _module_level_imports_after_code(path: pathlib.Path) -> list[int]:
    """Line numbers of module-level imports that come after a def or class."""
    seen_code, late = False, []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            seen_code = True
        elif seen_code and isinstance(node, (ast.Import, ast.ImportFrom)):
            late.append(node.lineno)
    return late


@pytest.mark.parametrize("name", ["tensor.py", "autograd/function.py", "autograd/engine.py"])
def test_no_bottom_of_file_imports(name):
    late = _module_level_imports_after_code(PKG / name)
    assert not late, f"{name}: imports after the code at lines {late}; import at the top"


def test_layering_sees_a_bottom_import():
    import textwrap

    src = textwrap.dedent("""
        import os
        def f(): pass
        from . import ops
    """)
    tmp = PKG.parent / "tests" / "_late_import_probe.py"
    try:
        tmp.write_text(src)
        assert _module_level_imports_after_code(tmp) == [4]
    finally:
        tmp.unlink()


def _module_names() -> list[str]:
    names = []
    for f in sorted(PKG.rglob("*.py")):
        parts = list(f.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


_IMPORT_EACH_FIRST = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for m in [m for m in sys.modules if m == "tinynet" or m.startswith("tinynet.")]:
        del sys.modules[m]  # the package from scratch: `name` is the first tinynet import
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ":\\n" + traceback.format_exc(limit=-3))
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_first_in_a_fresh_interpreter():
    """Whichever module a user imports first, the package initialises (no import cycle).

    One fresh interpreter (NumPy imported once), the tinynet package purged from
    sys.modules before each module is imported first.
    """
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(PKG.parent)}
    out = subprocess.run([sys.executable, "-c", _IMPORT_EACH_FIRST, *_module_names()],
                         capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert out.returncode == 0, f"imports that fail when first:\n{out.stdout}{out.stderr[-2000:]}"
