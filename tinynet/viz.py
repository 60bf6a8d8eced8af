"""Graph pictures: the graph behind a tensor as Graphviz DOT text, as SVG drawn here, and as
one self-contained HTML page that steps through its backward pass.

`to_dot` needs nothing installed; `render` needs Graphviz's `dot` program (and
uses the `graphviz` Python package when present: `pip install tinynet[viz]`).
`graph(t)` and `to_html(t, path)` lay the graph out themselves (no Graphviz, no
network): nodes in tape order, one row each. Every view numbers a node by its
sequence number (`Mul #7`), as `repr(node)`, `tape()` and detect_anomaly do.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field

from ._files import atomic_path
from .autograd import grad as _autograd_grad
from .autograd.engine import Node
from .autograd.tape import (
    Tape,
    _delegates,
    _fmt_values,
    _names,
    _Observer,
    _settings,
    grad_labels,
    input_name,
    node_label,
    op_math,
)
from .tensor import Tensor

__all__ = ["to_dot", "render", "graph", "Graph", "to_html"]

_INSTALL = (
    "render: drawing needs Graphviz's `dot` program, which was not found on PATH; install it "
    "(apt install graphviz, brew install graphviz or conda install graphviz) and, optionally, "
    "the Python package (pip install graphviz, or tinynet[viz]). tn.viz.to_dot(tensor) gives "
    "the DOT text without either; tn.viz.graph(tensor) and tn.viz.to_html need nothing"
)


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(shape) -> str:
    return str(tuple(shape))


def _tape_of(node: Node) -> Tape | None:
    """The tape that recorded `node` (the innermost one), or None."""
    for obs in reversed(node.observers):
        tape = obs.tape() if isinstance(obs, _Observer) else None
        if tape is not None and tape.entry(node) is not None:
            return tape
    return None


@dataclass
class _Box:
    """One thing drawn: an op node, a leaf, a constant input or the output."""

    key: int
    kind: str  # "op", "leaf", "const", "output"
    title: str  # "Conv2d #12", "0.weight", "input", "output"
    sub: str  # shape (and dtype)
    node: Node | None = None
    x: float = 0.0  # centre, set by _layout
    y: float = 0.0


@dataclass
class _Edge:
    src: int  # key of the box the value comes from
    dst: int  # key of the box that consumes it
    index: int  # which positional input of dst
    shape: tuple
    grad: float | None = None  # the norm of the gradient that flowed back along it


@dataclass
class _Graph:
    boxes: dict = field(default_factory=dict)  # key -> _Box, ops in tape order
    edges: list = field(default_factory=list)
    ops: list = field(default_factory=list)  # nodes sorted by seq


def _collect(tensor: Tensor, params, op: str = "to_dot") -> _Graph:
    """Walk the graph behind `tensor` (iteratively) into boxes and edges, in tape order."""
    g = _Graph()
    names = _names(params, op)
    root = tensor.grad_fn
    out_key = -1
    if root is None:
        if tensor.requires_grad:
            name = names.get(id(tensor), "leaf")
            g.boxes[id(tensor)] = _Box(id(tensor), "leaf", name, _shape(tensor.shape))
            g.edges.append(_Edge(id(tensor), out_key, 0, tuple(tensor.shape)))
        g.boxes[out_key] = _Box(out_key, "output", "output", _out_sub(tensor))
        return g
    out_shapes: dict[int, tuple] = {id(root): tuple(tensor.shape)}
    stack, seen, order = [root], {id(root)}, []
    while stack:  # iterative walk: deep graphs must not recurse
        node = stack.pop()
        order.append(node)
        for src, shape in zip(node.next, node.input_shapes):
            if isinstance(src, Node):
                out_shapes.setdefault(id(src), shape)
                if id(src) not in seen:
                    seen.add(id(src))
                    stack.append(src)
    g.ops = sorted(order, key=lambda n: n.seq)
    for node in g.ops:
        sub = "-> " + _shape(out_shapes[id(node)])
        g.boxes[id(node)] = _Box(id(node), "op", node_label(node), sub, node)
    for node in g.ops:
        tape = _tape_of(node)
        entry = tape.entry(node) if tape is not None else None
        step = tape.step(node) if tape is not None else None
        leaf_names = {**(tape.names if tape is not None else {}), **names}
        sources = entry.sources if entry is not None else []
        for i, src in enumerate(node.next):
            norm = None
            if step is not None and i < len(step.outs) and step.outs[i] is not None:
                norm = step.outs[i][1]
            if isinstance(src, Node):
                g.edges.append(_Edge(id(src), id(node), i, node.input_shapes[i], norm))
            elif src is not None:  # a leaf tensor
                if id(src) not in g.boxes:
                    sub = f"{_shape(src.shape)} {src.dtype.name}"
                    title = leaf_names.get(id(src), "leaf")
                    g.boxes[id(src)] = _Box(id(src), "leaf", title, sub)
                g.edges.append(_Edge(id(src), id(node), i, node.input_shapes[i], norm))
            elif i < len(sources) and sources[i] is not None and sources[i].kind == "const":
                c = sources[i]  # a constant input (the image): known when a tape recorded it
                if c.key not in g.boxes:
                    title = f"{input_name(node.fn, i)} (constant)"
                    g.boxes[c.key] = _Box(c.key, "const", title, f"{_shape(c.shape)} {c.dtype}")
                g.edges.append(_Edge(c.key, id(node), i, c.shape))
    root_step = None
    tape = _tape_of(root)
    if tape is not None:
        root_step = tape.step(root)
    g.boxes[out_key] = _Box(out_key, "output", "output", _out_sub(tensor))
    grad_norm = root_step.grad_norm if root_step is not None else None
    g.edges.append(_Edge(id(root), out_key, 0, tuple(tensor.shape), grad_norm))
    return g


def _out_sub(tensor: Tensor) -> str:
    return f"{_shape(tensor.shape)} {tensor.dtype.name}"


def to_dot(tensor: Tensor, params=None, name: str = "graph") -> str:
    """Graphviz DOT text of the graph that computed `tensor`, drawn in forward direction.

    Op nodes (ellipses) show the op, its sequence number (`Mul #7`, its place on the
    tape, as in `repr(node)` and `tape()`) and its output shape; leaves (blue boxes)
    are the tensors that require grad, named by `params` or by the recording
    `tape(params=...)`; constant inputs such as the image (grey boxes) are drawn when a
    `tape()` recorded the op that used them; the output is a double octagon. Once a
    recorded backward has run, each edge also carries the norm of the gradient that
    flowed back along it (`|g| = ...`).

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
    g = _collect(tensor, params)
    lines = [
        f"digraph {_quote(name)} {{",
        "  rankdir=BT;",  # inputs at the bottom, the output on top: backward flows down
        '  node [fontname="Helvetica", fontsize=10];',
    ]
    ids = {key: ("output" if b.kind == "output" else f"n{k}") for k, (key, b) in
           enumerate(g.boxes.items())}  # fmt: skip
    style = {
        "op": "shape=ellipse",
        "leaf": 'shape=box, style=filled, fillcolor="lightblue"',
        "const": 'shape=box, style=filled, fillcolor="lightgrey"',
        "output": "shape=doubleoctagon",
    }
    for key, b in g.boxes.items():
        lines.append(f"  {ids[key]} [label={_quote(b.title + chr(10) + b.sub)}, {style[b.kind]}];")
    for e in g.edges:
        label = _shape(e.shape) if e.dst != -1 else ""
        if e.grad is not None:
            label += f"\n|g| = {e.grad:.4g}"
        attr = f" [label={_quote(label.strip())}]" if label.strip() else ""
        lines.append(f"  {ids[e.src]} -> {ids[e.dst]}{attr};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ----- drawing without Graphviz: one row per op, in tape order ------------------------------

_OP_W, _SIDE_W, _BOX_H, _GAP, _PAD = 190, 160, 38, 30, 16


def _layout(g: _Graph) -> tuple[int, int]:
    """Centre (x, y) for every box; returns the drawing's (width, height) in pixels.

    Op nodes go down one column in tape order (the forward pass reads top to bottom, the
    backward bottom to top); each leaf or constant sits in the column to the left, just
    above or beside its first consumer.
    """
    x_side = _PAD + _SIDE_W / 2
    x_op = _PAD + _SIDE_W + 50 + _OP_W / 2
    step = _BOX_H + _GAP
    first_use: dict[int, list] = {}  # id(op node) -> side boxes first used there
    placed = set()
    for e in g.edges:  # edges are in tape order of their consumer
        src = g.boxes[e.src]
        if src.kind in ("leaf", "const") and e.src not in placed:
            placed.add(e.src)
            first_use.setdefault(e.dst, []).append(src)
    y = _PAD + _BOX_H / 2
    for node in g.ops:
        side = first_use.get(id(node), [])
        for k, sb in enumerate(side):
            sb.x, sb.y = x_side, y + k * step
        op = g.boxes[id(node)]
        op.x, op.y = x_op, y + max(len(side) - 1, 0) * step
        y = op.y + step
    out = g.boxes[-1]
    out.x, out.y = x_op, y
    for sb in first_use.get(-1, []):  # a leaf that is itself the output
        sb.x, sb.y = x_side, y
    return int(x_op + _OP_W / 2 + 200), int(y + _BOX_H / 2 + _PAD)


def _svg(g: _Graph, width: int, height: int) -> str:
    """The laid-out graph as an SVG element (ids `node-<seq>`, `edge-<k>` for the page's JS)."""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tinynet-graph" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, '
        'sans-serif" font-size="12">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='8' "
        "markerHeight='8' markerUnits='userSpaceOnUse' orient='auto-start-reverse'>"
        "<path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker></defs>",
        "<style>.box rect{stroke:#444;stroke-width:1}.op rect{fill:#fff7e0}"
        ".leaf rect{fill:#d6eaff}.const rect{fill:#e6e6e6}.output rect{fill:#fff}"
        ".edge{fill:none;stroke:#777;stroke-width:1.3}.elabel{fill:#333;font-size:10px}"
        ".gnorm{fill:#b03000;font-size:10px}</style>",
    ]
    order = {id(n): k for k, n in enumerate(g.ops)}
    lanes = 0
    hw, hh = _OP_W / 2, _BOX_H / 2
    for k, e in enumerate(g.edges):
        a, b = g.boxes[e.src], g.boxes[e.dst]
        if a.kind in ("leaf", "const"):  # from the left column into the op's left side
            sx, sy, ex, ey = a.x + _SIDE_W / 2, a.y, b.x - hw, b.y
            if abs(sy - ey) < 1:
                d = f"M{sx:.0f},{sy:.0f} L{ex:.0f},{ey:.0f}"
            else:
                mx = (sx + ex) / 2
                d = f"M{sx:.0f},{sy:.0f} C{mx:.0f},{sy:.0f} {mx:.0f},{ey:.0f} {ex:.0f},{ey:.0f}"
            lx, ly = sx + 4, sy - 4
        elif b.kind == "output" or order.get(e.dst, -1) == order.get(e.src, -9) + 1:
            d = f"M{a.x:.0f},{a.y + hh:.0f} L{b.x:.0f},{b.y - hh:.0f}"  # the next op: straight
            lx, ly = a.x + 6, a.y + hh + 11  # the shape, then |g| below it, in the gap
        else:  # a jump over other ops: an arc on the right
            lanes += 1
            cx = a.x + hw + 40 + 22 * (lanes % 6)
            sx, ex = a.x + hw, b.x + hw
            d = f"M{sx:.0f},{a.y:.0f} C{cx:.0f},{a.y:.0f} {cx:.0f},{b.y:.0f} {ex:.0f},{b.y:.0f}"
            lx, ly = cx - 12, (a.y + b.y) / 2
        out.append(
            f'<g class="edgegroup" id="edge-{k}" data-src="{a.key}" data-dst="{b.key}">'
            f'<path class="edge" d="{d}" marker-end="url(#arrow)"/>'
        )
        label = _shape(e.shape) if b.kind != "output" else ""
        out.append(f'<text class="elabel" x="{lx:.0f}" y="{ly:.0f}">{html.escape(label)}</text>')
        gn = f"|g| = {e.grad:.3g}" if e.grad is not None else ""
        gy = ly + 10 if a.kind not in ("leaf", "const") else ly + 16
        out.append(f'<text class="gnorm" x="{lx:.0f}" y="{gy:.0f}">{gn}</text></g>')
    for b in g.boxes.values():
        w = _OP_W if b.kind in ("op", "output") else _SIDE_W
        ident = f"node-{b.node.seq}" if b.node is not None else f"box-{b.kind}-{abs(b.key)}"
        out.append(
            f'<g class="box {b.kind}" id="{ident}" data-key="{b.key}">'
            f'<rect x="{b.x - w / 2:.0f}" y="{b.y - hh:.0f}" width="{w}" height="{_BOX_H}" '
            f'rx="{12 if b.kind == "op" else 3}"/>'
            f'<text x="{b.x:.0f}" y="{b.y - 3:.0f}" text-anchor="middle" font-weight="bold">'
            f"{html.escape(b.title)}</text>"
            f'<text x="{b.x:.0f}" y="{b.y + 12:.0f}" text-anchor="middle">'
            f"{html.escape(b.sub)}</text></g>"
        )
    out.append("</svg>")
    return "\n".join(out)


class Graph:
    """The graph behind a tensor, ready to display: DOT text, or SVG drawn by tinynet itself.

    In a notebook a `Graph` shows itself as SVG (`_repr_svg_`); no Graphviz needed.
    Made by `tn.viz.graph(tensor, params=None)`.
    """

    def __init__(self, tensor: Tensor, params=None):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"graph: expected a Tensor, got {type(tensor).__name__}")
        self.tensor, self.params = tensor, params

    @property
    def dot(self) -> str:
        """The Graphviz DOT text (`to_dot`)."""
        return to_dot(self.tensor, self.params)

    def svg(self) -> str:
        """The graph as SVG text: ops in tape order, leaves and inputs beside them."""
        g = _collect(self.tensor, self.params, "graph")
        return _svg(g, *_layout(g))

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        g = _collect(self.tensor, self.params, "graph")
        return f"<Graph: {len(g.ops)} ops, {len(g.boxes) - len(g.ops) - 1} inputs>"


def graph(tensor: Tensor, params=None) -> Graph:
    """The graph behind `tensor` as a displayable object (SVG in notebooks, `.dot`, `.svg()`).

    Args:
        tensor: the output whose graph to draw.
        params: a Module or a dict `{name: tensor}` naming leaves.

    Returns:
        A `Graph`.
    """
    return Graph(tensor, params)


# ----- the backward pass as one HTML page ------------------------------------------------------


def _adopt(tensor: Tensor, params) -> Tape:
    """A tape for a graph recorded without one, its backward run without touching `.grad`."""
    tape = Tape(params)
    g = _collect(tensor, None)
    leaves = [b for b in g.boxes.values() if b.kind == "leaf"]
    out_shape = {e.src: e.shape for e in g.edges}
    for node in g.ops:
        if node.saved is None:
            raise RuntimeError(
                f"to_html: the backward of {node_label(node)} already ran and freed what it "
                "saved; record the forward under `with tn.autograd.tape():` (its backward is "
                "then recorded too) or call to_html before backward()"
            )
        tape._adopt(node, out_shape[id(node)])
    leaf_tensors = [t for t in _leaf_tensors(g.ops) if id(t) in {b.key for b in leaves}]
    seed = None if tensor.ndim == 0 else tensor.detach() * 0 + 1
    try:
        _autograd_grad([tensor], leaf_tensors, [seed], retain_graph=True, allow_unused=True)
    finally:
        for node in g.ops:
            node.observers = tuple(o for o in node.observers if o is not tape._observer)
    return tape


def _leaf_tensors(ops) -> list:
    seen, out = set(), []
    for node in ops:
        for src in node.next:
            if src is not None and not isinstance(src, Node) and id(src) not in seen:
                seen.add(id(src))
                out.append(src)
    return out


def _value_info(shape, norm, value) -> dict:
    info = {"shape": _shape(shape), "norm": None if norm is None else float(norm)}
    if value is not None:
        info["values"] = _fmt_values(value, indent=0)
    return info


def _page_data(tensor: Tensor, params) -> tuple[_Graph, dict]:
    root = tensor.grad_fn
    if root is None:
        raise ValueError(
            f"to_html: the tensor (shape {tuple(tensor.shape)}) was not made by an op that "
            "records: there is no backward pass to show (does an input require grad?)"
        )
    tape = _tape_of(root)
    if tape is None or tape.step(root) is None:
        tape = _adopt(tensor, params)
    g = _collect(tensor, params, "to_html")
    names = {**tape.names, **_names(params, "to_html")}
    steps = []
    for k, s in enumerate(st for st in tape.steps if id(st.entry.node) in g.boxes):
        e, node = s.entry, s.entry.node
        forward, rule = op_math(node.fn)
        labels = grad_labels(node.fn, s.outs)
        outs = []
        for i, o in enumerate(s.outs):
            if o is None:
                continue
            t = node.next[i] if i < len(node.next) else None
            if isinstance(t, Node):
                target, target_id = node_label(t), f"node-{t.seq}"
            else:
                name = names.get(id(t))
                target, target_id = (f"{name}.grad" if name else "leaf .grad"), ""
            info = _value_info(o[0], o[1], s.out_values[i] if i < len(s.out_values) else None)
            info.update(label=labels[i], input=input_name(node.fn, i), target=target,
                        target_id=target_id)  # fmt: skip
            outs.append(info)
        inputs = []
        for i, src in enumerate(e.sources):
            if src is None:
                continue
            label = names.get(src.key, src.label) if src.kind == "leaf" else src.label
            info = _value_info(src.shape, None, src.value)
            info.update(name=input_name(node.fn, i), source=label)
            inputs.append(info)
        steps.append({
            "k": k, "id": f"node-{node.seq}", "title": node_label(node),
            "forward": forward, "rule": rule,
            "where": [f"{n}: {m}" for n, m in _delegates(node.fn, rule, set(labels.values()))],
            "settings": _settings(node), "inputs": inputs,
            "output": _value_info(e.out_shape, None, e.out_value),
            "grad": _value_info(s.grad_shape, s.grad_norm, s.grad_value), "outs": outs,
        })  # fmt: skip
    return g, {"steps": steps}


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#222}
header{padding:10px 16px;background:#22313f;color:#fff}
header h1{font-size:18px;margin:0}
header p{margin:4px 0 0;font-size:13px;color:#cfd8e3}
main{display:flex;gap:16px;padding:12px 16px;align-items:flex-start}
#graph{overflow:auto;border:1px solid #ddd;max-height:88vh;flex:0 0 auto}
#panel{flex:1 1 420px;min-width:360px;font-size:13px}
#controls{display:flex;gap:8px;align-items:center;margin-bottom:8px}
button{font-size:14px;padding:4px 12px;white-space:nowrap}
#counter{white-space:nowrap}
#counter{font-weight:bold}
pre{background:#f6f6f6;padding:6px 8px;margin:4px 0;white-space:pre-wrap;font-size:12px}
.k{color:#666;width:90px;display:inline-block}
.box.active rect{stroke:#d02000;stroke-width:3;fill:#ffe1c4}
.box.done rect{fill:#e9f7e4}
.edgegroup.active .edge{stroke:#d02000;stroke-width:2.5}
.edgegroup.active .gnorm{font-weight:bold}
.gnorm{visibility:hidden}.edgegroup.shown .gnorm{visibility:visible}
h2{font-size:15px;margin:10px 0 4px}
"""

_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("tinynet-data").textContent);
  var steps = data.steps, cur = 0;
  function el(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function tensor(t) {
    var s = t.shape + (t.norm === null ? "" : "   |.| = " + t.norm.toPrecision(4));
    return esc(s) + (t.values ? "<pre>" + esc(t.values) + "</pre>" : "");
  }
  function show(k) {
    cur = Math.max(0, Math.min(steps.length - 1, k));
    var s = steps[cur];
    var boxes = document.querySelectorAll(".box");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].classList.remove("active");
      boxes[i].classList.remove("done");
    }
    for (var j = 0; j < cur; j++) {
      var d = el(steps[j].id);
      if (d) { d.classList.add("done"); }
    }
    var node = el(s.id);
    if (node) {
      node.classList.add("active");
      var box = el("graph"), r = node.getBoundingClientRect(), v = box.getBoundingClientRect();
      if (r.top < v.top || r.bottom > v.bottom) { box.scrollTop += r.top - v.top - 40; }
    }
    var edges = document.querySelectorAll(".edgegroup");
    var done = {};
    for (var m = 0; m <= cur; m++) { done[steps[m].id] = true; }
    for (var e = 0; e < edges.length; e++) {
      var g = edges[e], dst = document.querySelector("[data-key='" + g.dataset.dst + "']");
      var dstId = dst ? dst.id : "";
      g.classList.toggle("active", dstId === s.id);
      g.classList.toggle("shown", !!done[dstId] || (dst && dst.classList.contains("output")));
    }
    el("counter").textContent = "step " + (cur + 1) + " / " + steps.length;
    el("slider").value = cur;
    el("prev").disabled = cur === 0;
    el("next").disabled = cur === steps.length - 1;
    var h = "<h2>" + esc(s.title) + "</h2>";
    h += "<div><span class='k'>forward</span><code>" + esc(s.forward) + "</code></div>";
    h += "<div><span class='k'>backward</span><code>" + esc(s.rule) + "</code></div>";
    for (var w = 0; w < s.where.length; w++) {
      h += "<div><span class='k'>" + (w ? "" : "where") + "</span><code>" + esc(s.where[w]) +
           "</code></div>";
    }
    if (s.settings) {
      h += "<div><span class='k'>with</span><code>" + esc(s.settings) + "</code></div>";
    }
    h += "<h2>forward values</h2>";
    for (var a = 0; a < s.inputs.length; a++) {
      var inp = s.inputs[a];
      h += "<div><span class='k'>" + esc(inp.name) + "</span>from " + esc(inp.source) + ": " +
           tensor(inp) + "</div>";
    }
    h += "<div><span class='k'>output</span>" + tensor(s.output) + "</div>";
    h += "<h2>gradient in</h2><div><span class='k'>grad</span>" + tensor(s.grad) + "</div>";
    h += "<h2>gradients out</h2>";
    for (var o = 0; o < s.outs.length; o++) {
      var out = s.outs[o];
      h += "<div class='out'><span class='k'>" + esc(out.label) + "</span>to " +
           esc(out.input) + " &rarr; " + esc(out.target) + ": " + tensor(out) + "</div>";
    }
    el("detail").innerHTML = h;
  }
  el("prev").addEventListener("click", function () { show(cur - 1); });
  el("next").addEventListener("click", function () { show(cur + 1); });
  el("slider").addEventListener("input", function () { show(parseInt(this.value, 10)); });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") { show(cur + 1); }
    if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") { show(cur - 1); }
  });
  el("slider").max = steps.length - 1;
  show(0);
})();
"""


def to_html(tensor: Tensor, path: str, params=None, title: str = "tinynet: a backward pass") -> str:
    """Write one self-contained HTML page that steps through the backward pass of `tensor`.

    The page draws the graph in tape order and walks the backward one node at a time
    (buttons, slider, arrow keys): the node is highlighted, with its rule from the op's
    docstring, the incoming gradient and what it sends to each input (values for tensors
    of at most `tn.autograd.tape.SMALL` elements, shape and norm for all). Everything is
    inline (SVG, CSS, JS): no network, no other files.

    If the forward was recorded under `tn.autograd.tape()` and `backward()` has run, the
    page shows that recorded pass; otherwise `to_html` runs the backward itself (with
    `retain_graph=True`, leaving every `.grad` untouched).

    Args:
        tensor: the output (e.g. the loss) whose backward to show.
        path: the .html file to write.
        params: a Module or a dict `{name: tensor}` naming leaves.
        title: the page's title.

    Returns:
        `path`.

    Example::

        with tn.autograd.tape(params=model) as tape:
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        tn.viz.to_html(loss, "backward.html")
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_html: expected a Tensor, got {type(tensor).__name__}")
    _names(params, "to_html")  # a bad params fails before any work
    g, data = _page_data(tensor, params)
    svg = _svg(g, *_layout(g)).replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)  # inline
    blob = json.dumps(data).replace("</", "<\\/")
    n = len(data["steps"])
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{_CSS}</style></head>
<body>
<header><h1>{html.escape(title)}</h1>
<p>The graph in tape order (forward reads top to bottom). Step through the backward pass:
{n} nodes, from the output up; <b>Next</b> / <b>Prev</b> or the arrow keys.</p></header>
<main>
<div id="graph">{svg}</div>
<div id="panel">
<div id="controls"><button id="prev" type="button">&larr; Prev</button>
<button id="next" type="button">Next &rarr;</button>
<input id="slider" type="range" min="0" max="{max(n - 1, 0)}" value="0">
<span id="counter"></span></div>
<div id="detail"></div>
</div></main>
<script type="application/json" id="tinynet-data">{blob}</script>
<script>{_JS}</script>
</body></html>
"""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    return path


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
