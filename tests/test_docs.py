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
