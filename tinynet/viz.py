"""Graph pictures: the graph behind a tensor as Graphviz DOT text, and rendered to SVG/PNG.

`to_dot` needs nothing installed; `render` needs Graphviz's `dot` program (and
uses the `graphviz` Python package when present: `pip install tinynet[viz]`).
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ._files import atomic_path
from .autograd.engine import Node
from .tensor import Tensor

__all__ = ["to_dot", "render"]

_INSTALL = (
    "render: drawing needs Graphviz's `dot` program, which was not found on PATH; install it "
    "(apt install graphviz, brew install graphviz or conda install graphviz) and, optionally, "
    "the Python package (pip install graphviz, or tinynet[viz]). tn.viz.to_dot(tensor) gives "
    "the DOT text without either"
)


def _names(params) -> dict[int, str]:
    """id(tensor) -> name, from a Module (named_parameters) or a {name: tensor} dict."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        items = params.named_parameters()
    elif isinstance(params, dict):
        items = params.items()
    else:
        raise TypeError(
            "to_dot: params must be a Module or a dict of named tensors, "
            f"got {type(params).__name__}"
        )
    return {id(t): name for name, t in items}


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(shape) -> str:
    return str(tuple(shape))


def to_dot(tensor: Tensor, params=None, name: str = "graph") -> str:
    """Graphviz DOT text of the graph that computed `tensor`, drawn in forward direction.

    Op nodes (ellipses) show the op and its output shape, and its place on the tape
    (the sequence number, `#seq`); leaves (boxes) are the tensors that require grad,
    with their parameter name when `params` names them; the output is a double
    octagon. Saved-for-backward sizes are not shown (see `tn.autograd.tape()`).

    Args:
        tensor: the output whose graph to draw.
        params: a Module (its `named_parameters()`) or a dict `{name: tensor}` naming leaves.
        name: the graph's name in the DOT text.

    Returns:
        DOT source text, e.g. for `dot -Tsvg` or `tn.viz.render`.

    Example::

        x = tn.randn(3, requires_grad=True)
        print(tn.viz.to_dot((x * x).sum(), params={"x": x}))
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    names = _names(params)
    lines = [
        f"digraph {_quote(name)} {{",
        "  rankdir=BT;",  # inputs at the bottom, the output on top: backward flows down
        '  node [fontname="Helvetica", fontsize=10];',
    ]
    ids: dict[int, str] = {}

    def ident(obj) -> str:
        if id(obj) not in ids:
            ids[id(obj)] = f"n{len(ids)}"
        return ids[id(obj)]

    def leaf_stmt(t: Tensor) -> str:
        label = f"{names[id(t)]}\n" if id(t) in names else "leaf\n"
        label += f"{_shape(t.shape)} {t.dtype.name}"
        return (
            f'  {ident(t)} [label={_quote(label)}, shape=box, style=filled, fillcolor="lightblue"];'
        )

    out_id = "output"
    out_label = f"output\n{_shape(tensor.shape)} {tensor.dtype.name}"
    lines.append(f"  {out_id} [label={_quote(out_label)}, shape=doubleoctagon];")
    root = tensor.grad_fn
    if root is None:
        if tensor.requires_grad:
            lines.append(leaf_stmt(tensor))
            lines.append(f"  {ident(tensor)} -> {out_id};")
        lines.append("}")
        return "\n".join(lines) + "\n"
    out_shapes: dict[int, tuple] = {id(root): tuple(tensor.shape)}
    edges = [f"  {ident(root)} -> {out_id};"]
    stack, seen, order = [root], {id(root)}, []
    while stack:  # iterative walk: deep graphs must not recurse
        node = stack.pop()
        order.append(node)
        for src, shape in zip(node.next, node.input_shapes):
            if src is None:
                continue
            if isinstance(src, Node):
                out_shapes.setdefault(id(src), shape)
                if id(src) not in seen:
                    seen.add(id(src))
                    stack.append(src)
            elif id(src) not in ids:
                lines.append(leaf_stmt(src))
            edges.append(f"  {ident(src)} -> {ident(node)} [label={_quote(_shape(shape))}];")
    for node in sorted(order, key=lambda n: n.seq):
        label = f"{node.name}  #{node.seq}\n-> {_shape(out_shapes[id(node)])}"
        lines.append(f"  {ident(node)} [label={_quote(label)}, shape=ellipse];")
    lines += edges
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(tensor: Tensor, path: str, params=None) -> str:
    """Draw the graph behind `tensor` into `path` (.svg, .png or .pdf, by its suffix).

    Args:
        tensor: the output whose graph to draw.
        path: the file to write; its suffix picks the format.
        params: as in `to_dot`.

    Returns:
        `path`.

    Raises:
        RuntimeError: Graphviz's `dot` program is not installed (the message says how).
    """
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"render: path must end in .svg, .png or .pdf, got {path!r}")
    source = to_dot(tensor, params)
    if shutil.which("dot") is None:
        raise RuntimeError(_INSTALL)
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is not None:
        data = graphviz.Source(source).pipe(format=fmt)
    else:
        done = subprocess.run(["dot", f"-T{fmt}"], input=source.encode(), capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"render: dot failed: {done.stderr.decode().strip()}")
        data = done.stdout
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return path
