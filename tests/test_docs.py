"""Every ```python block in README.md and docs/*.md runs (docs are part of the product).

Blocks in one file run in order in one namespace, as a reader would type them.
Snippets that need a GPU are fenced as ```python-gpu and are not run here.
"""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
FILES = [
    p
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    if BLOCK.search(p.read_text())
]


def test_readme_and_learner_docs_have_examples():
    names = {p.name for p in FILES}
    assert {"README.md", "conv2d.md", "autograd.md", "backends.md"} <= names, names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_markdown_python_blocks_run(path, tmp_path, monkeypatch):
    blocks = BLOCK.findall(path.read_text())
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace: dict = {"__name__": "__doc__"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as e:  # name the block so a broken doc is easy to find
            raise AssertionError(f"{path.name} block {i} failed: {e!r}\n{code}") from e


def _run_example(name: str, *args: str, cwd) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=cwd,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, f"{name} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_example_conv_gradients_runs_and_agrees(tmp_path):
    out = _run_example("conv_gradients.py", cwd=tmp_path)
    assert "the three agree." in out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out
    else:
        assert (tmp_path / "conv_gradients.png").stat().st_size > 1000


def test_example_train_mnist_runs_a_short_job(tmp_path):
    out = _run_example("train_mnist.py", "--epochs", "1", "--limit", "300", "--no-progress",
                       "--out", str(tmp_path / "run"), cwd=tmp_path)  # fmt: skip
    assert "done: test accuracy" in out
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()


@pytest.mark.parametrize("name", ["conv.py", "engine.py", "train.py", "epoch.py"])
def test_benchmark_scripts_start(name):
    """Benchmarks are not tests, but they must not rot: each parses its arguments."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), "--help"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "--device" in out.stdout
