"""Tools to watch the engine: tape(), viz.to_dot, tensor and module hooks, detect_anomaly,
and autograd.functional (vjp, jvp, jacobian, hessian, hvp) against torch.autograd.functional."""

from __future__ import annotations

import inspect
import io
import re
import threading

import numpy as np
import pytest

import tinynet as tn
from tinynet.autograd import functional as AF
from tinynet.autograd.engine import Node
from tinynet.autograd.tape import op_math


def _t(a, requires_grad=True):
    return tn.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def _line() -> int:
    """The caller's current line number."""
    return inspect.currentframe().f_back.f_lineno


def _conv2d():
    """tinynet's conv2d where the conv ops exist yet (another issue builds them)."""
    fn = getattr(tn.ops, "conv2d", None)
    if fn is None:
        pytest.skip("conv2d is not implemented yet")
    return fn


# ----- tape ----------------------------------------------------------------------------------


def _known_graph():
    """x, w leaves; y = x * w; s = y.sum(); e = y.exp(); m = e.mean(); out = s + m."""
    x = _t([1.0, 2.0, 3.0])
    w = _t([0.5, -1.0, 0.25])
    with tn.autograd.tape() as tape:
        y = x * w
        out = y.sum() + y.exp().mean()
    return x, w, y, out, tape


def test_tape_records_nodes_in_order_with_shapes_and_saved_bytes():
    x, w, y, out, tape = _known_graph()
    assert [n.name for n in tape.nodes] == ["Mul", "Sum", "Exp", "Mean", "Add"]
    seqs = [n.seq for n in tape.nodes]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    mul, s, e, m, add = tape.entries
    assert mul.inputs == [("leaf", (3,)), ("leaf", (3,))]
    k = mul.node.seq  # inputs from nodes are named by sequence number, as repr(node) does
    assert s.inputs == [(f"#{k}", (3,))] and e.inputs == [(f"#{k}", (3,))]
    assert add.inputs == [(f"#{k + 1}", ()), (f"#{k + 3}", ())]
    assert (mul.out_shape, s.out_shape, add.out_shape) == ((3,), (), ())
    assert mul.out_dtype == "float64"
    assert mul.saved_bytes == 2 * 3 * 8  # Mul keeps x and w
    assert e.saved_bytes == 3 * 8  # Exp keeps its output
    assert s.saved_bytes == 0
    assert tape.nodes[0] is y.grad_fn and tape.nodes[-1] is out.grad_fn


def test_tape_printout_lists_nodes_one_per_line():
    *_, tape = _known_graph()
    text = str(tape)
    lines = text.splitlines()
    assert lines[0] == "tape: 5 nodes, 72 B saved for backward"
    body = lines[2:7]
    assert [ln.split()[1] for ln in body] == ["Mul", "Sum", "Exp", "Mean", "Add"]
    k = tape.nodes[0].seq
    assert re.search(rf"{k}\s+Mul\s+leaf \(3,\), leaf \(3,\)\s+\(3,\) float64\s+48 B", body[0])
    assert re.search(rf"{k + 4}\s+Add\s+#{k + 1} \(\), #{k + 3} \(\)\s+\(\) float64\s+0 B", body[4])
    assert "backward:" not in text  # nothing ran yet


def test_tape_shows_backward_order_and_gradient_shapes():
    x, w, y, out, tape = _known_graph()
    out.backward()  # outside the with block: the nodes still report to the tape
    # decreasing sequence number: the tape played backwards
    k = tape.nodes[0].seq
    assert tape.backward_order == [k + 4, k + 3, k + 2, k + 1, k]
    steps = {s.entry.node.name: s for s in tape.steps}
    assert steps["Mean"].grad_shape == ()
    assert steps["Mean"].outs[0] == ((3,), pytest.approx(np.sqrt(3) / 3))  # d mean = 1/3 each
    assert steps["Mul"].grad_shape == (3,)
    # the Mul step's gradients are the leaves' gradients: their norms match
    (dx, nx), (dw, nw) = steps["Mul"].outs
    assert dx == dw == (3,)
    assert nx == pytest.approx(np.linalg.norm(x.grad.numpy()))
    assert nw == pytest.approx(np.linalg.norm(w.grad.numpy()))
    text = str(tape)
    assert "backward: 5 steps, in the order they ran" in text
    after = text.split("backward:")[1].splitlines()[2:]
    assert [ln.split()[1] for ln in after] == ["Add", "Mean", "Exp", "Sum", "Mul"]
    assert f"() -> Sum #{k + 1}, () -> Mean #{k + 3}" in after[0]
    assert "(3,) -> leaf .grad, (3,) -> leaf .grad" in after[4]


def test_tape_explain_prints_each_ops_rule_from_its_docstring():
    x, w, y, out, tape = _known_graph()
    out.backward()
    buf = io.StringIO()
    tape.explain(file=buf)
    text = buf.getvalue()
    blocks = re.split(r"(?m)^step ", text)[1:]
    assert len(blocks) == 5
    for block, name in zip(blocks, ["Add", "Mean", "Exp", "Sum", "Mul"]):
        assert block.split()[1] == name
        forward, rule = op_math(tn.ops.REGISTRY[name])
        assert f"forward   {forward}" in block and f"backward  {rule}" in block
    mul = blocks[4]
    assert "dx = grad * y;  dy = grad * x" in mul
    assert f"|dx| = {np.linalg.norm(x.grad.numpy()):.4g}" in mul
    assert f"|dy| = {np.linalg.norm(w.grad.numpy()):.4g}" in mul
    assert "with      keepdim=False" in blocks[1]  # Mean's own setting


def test_tape_explain_before_backward(capsys):
    *_, tape = _known_graph()
    tape.explain()
    assert "no backward has run" in capsys.readouterr().out


def test_tape_marks_inputs_from_outside_and_constants():
    x = _t([1.0, 2.0])
    h = x.exp()  # made before the tape
    c = _t([3.0, 4.0], requires_grad=False)
    with tn.autograd.tape() as tape:
        y = h * c
    assert tape.entries[0].inputs == [(f"#{h.grad_fn.seq}", (2,)), ("const", (2,))]
    y.sum().backward()
    assert tape.backward_order == [y.grad_fn.seq]  # Sum is not on this tape; Exp neither
    assert f"-> Exp #{h.grad_fn.seq}" in str(tape)


def test_tape_records_only_inside_and_nothing_without_one():
    x = _t([1.0])
    a = x * 2
    assert a.grad_fn.observers == ()  # the normal path carries no observer
    with tn.autograd.tape() as tape:
        b = a * 3
    c = b * 4
    assert tape.nodes == [b.grad_fn]
    assert c.grad_fn.observers == ()
    assert str(tn.autograd.tape()).startswith("tape: no nodes")


def test_nested_tapes_both_record():
    x = _t([1.0])
    with tn.autograd.tape() as outer:
        a = x * 2
        with tn.autograd.tape() as inner:
            b = a.exp()
    b.backward()
    assert [n.name for n in outer.nodes] == ["Mul", "Exp"]
    assert [n.name for n in inner.nodes] == ["Exp"]
    assert outer.backward_order == [b.grad_fn.seq, a.grad_fn.seq]
    assert inner.backward_order == [b.grad_fn.seq]


def test_tape_sees_the_backward_graph_of_create_graph():
    # create_graph: the same backward formulas run as recorded ops, so the tape sees them
    x = _t([1.0, 2.0])
    with tn.autograd.tape() as tape:
        y = (x * x).sum()
        (g,) = tn.autograd.grad(y, x, create_graph=True)
    names = [n.name for n in tape.nodes]
    assert names[:2] == ["Mul", "Sum"] and "Mul" in names[2:]  # Mul's backward: grad * y
    np.testing.assert_array_equal(g.detach().numpy(), [2.0, 4.0])


def test_tape_is_thread_local():
    x = _t([1.0])
    done = threading.Event()

    def other():
        x * 5
        done.set()

    with tn.autograd.tape() as tape:
        t = threading.Thread(target=other)
        t.start()
        done.wait(5)
        t.join(5)
        x * 2
    assert len(tape) == 1


# ----- viz -----------------------------------------------------------------------------------


def _parse_dot(text: str):
    """A small parser for the DOT subset: digraph, attribute statements, nodes and edges.

    Returns (nodes {id: attrs}, edges [(a, b, attrs)]); raises ValueError on bad syntax.
    """
    tok = re.compile(
        r'\s*(?:(->)|([{}\[\];,=])|("(?:[^"\\]|\\.)*")|([A-Za-z_][\w.]*|-?\d+(?:\.\d+)?))'
    )
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = tok.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad DOT at {text[pos : pos + 20]!r}")
        tokens.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    it = iter(tokens + [None])
    cur = [next(it)]

    def take(expected=None):
        t = cur[0]
        if expected is not None and t != expected:
            raise ValueError(f"expected {expected!r}, got {t!r}")
        cur[0] = next(it)
        return t

    def value(t):
        return bytes(t[1:-1], "utf-8").decode("unicode_escape") if t.startswith('"') else t

    def attrs():
        out = {}
        if cur[0] != "[":
            return out
        take("[")
        while cur[0] != "]":
            k = value(take())
            take("=")
            out[k] = value(take())
            if cur[0] == ",":
                take(",")
        take("]")
        return out

    take("digraph")
    if cur[0] != "{":
        take()  # the graph's name
    take("{")
    nodes, edges = {}, []
    while cur[0] != "}":
        a = value(take())
        if cur[0] == "=":  # graph attribute
            take("=")
            take()
        elif cur[0] == "->":
            take("->")
            b = value(take())
            edges.append((a, b, attrs()))
        elif a in ("node", "edge", "graph"):
            attrs()
        else:
            if a in nodes:
                raise ValueError(f"node {a} declared twice")
            nodes[a] = attrs()
        take(";")
    take("}")
    if cur[0] is not None:
        raise ValueError("text after the closing brace")
    return nodes, edges


def _graph_nodes(t):
    """Every Node and leaf reachable from t (the test's own walk)."""
    nodes, leaves, stack = set(), set(), [t.grad_fn]
    while stack:
        n = stack.pop()
        if id(n) in nodes:
            continue
        nodes.add(id(n))
        for p in n.next:
            if isinstance(p, Node):
                stack.append(p)
            elif p is not None:
                leaves.add(id(p))
    return nodes, leaves


def test_to_dot_parses_and_names_every_node():
    x, w, y, out, _ = _known_graph()
    text = tn.viz.to_dot(out, params={"weight": w})
    nodes, edges = _parse_dot(text)
    ops = {k: v for k, v in nodes.items() if v.get("shape") == "ellipse"}
    leaves = {k: v for k, v in nodes.items() if v.get("shape") == "box"}
    n_nodes, n_leaves = _graph_nodes(out)
    assert len(ops) == len(n_nodes) == 5 and len(leaves) == len(n_leaves) == 2
    op_names = sorted(v["label"].split()[0] for v in ops.values())
    assert op_names == sorted(["Mul", "Sum", "Exp", "Mean", "Add"])
    for v in ops.values():  # each op shows its place on the tape and output shape
        assert re.fullmatch(r"\w+ #\d+\n-> \([\d, ]*\)", v["label"]), v["label"]
    labels = sorted(v["label"] for v in leaves.values())
    assert labels == ["leaf\n(3,) float64", "weight\n(3,) float64"]
    assert all(v.get("style") == "filled" for v in leaves.values())  # leaves are marked
    for a, b, _ in edges:
        assert a in nodes and b in nodes
    # structure: Mul feeds Sum and Exp; both leaves feed Mul; Add feeds the output
    by_label = {v["label"].split()[0]: k for k, v in nodes.items()}
    succ = {(nodes[a]["label"].split()[0], nodes[b]["label"].split()[0]) for a, b, _ in edges}
    assert {("Mul", "Sum"), ("Mul", "Exp"), ("Exp", "Mean"), ("Sum", "Add"), ("Mean", "Add"),
            ("leaf", "Mul"), ("weight", "Mul"), ("Add", "output")} == succ  # fmt: skip
    assert by_label["output"] == "output"


def test_to_dot_names_module_parameters():
    nn = pytest.importorskip("tinynet.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("nn.Linear is not implemented yet")
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    out = model(tn.randn(2, 4)).sum()
    nodes, _ = _parse_dot(tn.viz.to_dot(out, params=model))
    names = {v["label"].split("\n")[0] for v in nodes.values() if v.get("shape") == "box"}
    assert names == {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_to_dot_of_a_leaf_and_of_a_deep_chain():
    x = _t([1.0])
    nodes, edges = _parse_dot(tn.viz.to_dot(x))
    assert len(nodes) == 2 and len(edges) == 1
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = y * 1.0
    nodes, edges = _parse_dot(tn.viz.to_dot(y))
    assert len(nodes) == 3002 and len(edges) == 3001


def test_to_dot_rejects_bad_arguments():
    with pytest.raises(TypeError, match="expected a Tensor"):
        tn.viz.to_dot(np.ones(3))
    with pytest.raises(TypeError, match="Module or a dict"):
        tn.viz.to_dot(_t([1.0]) * 2, params=[1, 2])


def test_render_writes_or_says_what_to_install(tmp_path, monkeypatch):
    y = _t([1.0, 2.0]).exp().sum()
    import shutil

    if shutil.which("dot") is not None:
        path = tn.viz.render(y, str(tmp_path / "g.svg"))
        assert open(path).read().lstrip().startswith(("<?xml", "<svg"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt install graphviz"):
        tn.viz.render(y, str(tmp_path / "g.png"))
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.pdf"):
        tn.viz.render(y, str(tmp_path / "g.txt"))


# ----- tensor hooks ----------------------------------------------------------------------------


def test_hook_can_replace_the_gradient(torch):
    x = _t([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g * 10)
    (y * y).sum().backward()
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    yt = xt * 2
    yt.register_hook(lambda g: g * 10)
    (yt * yt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_hooks_fire_in_order_and_chain(torch):
    def run(lib, make):
        log = []
        x = make([1.0, 2.0])
        a = x * 3
        b = a.exp()
        c = (a * b).sum()
        a.register_hook(lambda g: log.append(("a1", g.tolist())) or g + 1)
        a.register_hook(lambda g: log.append(("a2", g.tolist())))  # sees a1's result
        b.register_hook(lambda g: log.append(("b", g.tolist())))
        x.register_hook(lambda g: log.append(("x", g.tolist())) or g * 2)
        c.register_hook(lambda g: log.append(("c", g.tolist())))
        c.backward()
        return log, x.grad.tolist()

    log, grad = run(tn, lambda v: _t(v))
    tlog, tgrad = run(torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    assert [e[0] for e in log] == [e[0] for e in tlog] == ["c", "b", "a1", "a2", "x"]
    for (_, g), (_, gt) in zip(log, tlog):
        np.testing.assert_allclose(g, gt)
    np.testing.assert_allclose(grad, tgrad)


def test_leaf_hook_fires_once_with_the_summed_gradient():
    x = _t([1.0, 1.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x * 2 + x * 3 + x.exp()).sum().backward()
    assert seen == [pytest.approx([5 + np.e, 5 + np.e])]


def test_leaf_hook_sees_this_backwards_gradient_not_the_accumulated_one():
    x = _t([1.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.item()))
    (x * 2).backward()
    (x * 3).backward()
    assert seen == [2.0, 3.0] and x.grad.item() == 5.0


def test_hook_handle_removes():
    x = _t([1.0])
    y = x * 2
    h1 = y.register_hook(lambda g: g * 10)
    h2 = x.register_hook(lambda g: g * 100)
    h1.remove()
    h2.remove()
    h2.remove()  # twice is harmless
    y.backward()
    assert x.grad.item() == 2.0


def test_hooks_fire_in_autograd_grad():
    x = _t([1.0])
    y = x * 2
    y.register_hook(lambda g: g * 5)
    (g,) = tn.autograd.grad(y * 1.0, x)
    assert g.item() == 10.0 and x.grad is None


def test_retain_grad_keeps_non_leaf_grads_after_hooks_and_accumulates(torch):
    def run(make):
        x = make([1.0, -2.0])
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 3)
        z = (y * y).sum()
        z.backward(retain_graph=True)
        first = y.grad.tolist()
        z.backward()
        return first, y.grad.tolist(), x.grad.tolist()

    ours = run(lambda v: _t(v))
    theirs = run(lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b)


def test_retain_grad_on_leaf_and_no_grad_tensor():
    x = _t([1.0])
    x.retain_grad()  # a leaf keeps .grad anyway: a no-op
    (x * 2).backward()
    assert x.grad.item() == 2.0 and not x.retains_grad
    y = x * 2
    assert not y.retains_grad
    y.retain_grad()
    assert y.retains_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        _t([1.0], requires_grad=False).retain_grad()
    with pytest.raises(RuntimeError, match="does not require grad"):
        _t([1.0], requires_grad=False).register_hook(print)


# ----- module hooks ----------------------------------------------------------------------------


def _nn():
    nn = pytest.importorskip("tinynet.nn")
    if not hasattr(getattr(nn, "Module", None), "register_full_backward_hook"):
        pytest.skip("nn.Module hooks are not there yet")
    return nn


def test_forward_pre_hook_and_forward_hook(torch):
    nn = _nn()

    class Double(nn.Module):
        def forward(self, x, scale=1.0):
            return x * 2 * scale

    m = Double()
    log = []

    def pre(mod, args):
        log.append(("pre", len(args)))
        return (args[0] + 1,)  # replaces the positional arguments

    def post(mod, args, out):
        log.append(("post", args[0].tolist()))
        return out * 10  # replaces the output

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    out = m(_t([1.0]), scale=0.5)
    assert out.item() == 20.0  # ((1 + 1) * 2 * 0.5) * 10
    assert log == [("pre", 1), ("post", [2.0])]
    h1.remove()
    h2.remove()
    assert m(_t([1.0])).item() == 2.0


def test_full_backward_hook_gets_grad_input_and_output_like_torch(torch):
    nn = _nn()

    class Mix(nn.Module):
        def forward(self, a, b):
            return a * b.exp(), a.sum() * b

    class TMix(torch.nn.Module):
        def forward(self, a, b):
            return a * b.exp(), a.sum() * b

    def run(lib, mod, make):
        seen = []
        mod.register_full_backward_hook(
            lambda m, gi, go: seen.append(
                ([None if g is None else g.tolist() for g in gi], [g.tolist() for g in go])
            )
        )
        a, b = make([1.0, 2.0]), make([0.5, -0.5])
        p, q = mod(a, b)
        (p * 3 + q * q).sum().backward()
        return seen, a.grad.tolist(), b.grad.tolist()

    ours = run(tn, Mix(), lambda v: _t(v))
    theirs = run(torch, TMix(), lambda v: torch.tensor(v, dtype=torch.float64,
                                                        requires_grad=True))  # fmt: skip
    assert len(ours[0]) == len(theirs[0]) == 1
    (gi, go), (tgi, tgo) = ours[0][0], theirs[0][0]
    np.testing.assert_allclose(gi, tgi)
    np.testing.assert_allclose(go, tgo)
    np.testing.assert_allclose(ours[1], theirs[1])
    np.testing.assert_allclose(ours[2], theirs[2])


def test_full_backward_hook_can_replace_grad_input(torch):
    nn = _nn()

    def run(lin):
        x_req = lin.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
        h = lin.tensor([[0.3, 0.2], [-0.1, 0.4]], requires_grad=True)
        return x_req, h

    class Sq(nn.Module):
        def forward(self, x, y):
            return x * x + y

    class TSq(torch.nn.Module):
        def forward(self, x, y):
            return x * x + y

    results = []
    for lib, m in ((tn, Sq()), (torch, TSq())):
        x, y = run(lib)
        order = []
        m.register_full_backward_hook(lambda mod, gi, go, order=order: order.append("first"))
        m.register_full_backward_hook(
            lambda mod, gi, go, order=order: (order.append("second"), (gi[0] * 0, gi[1] * 2))[1]
        )
        m(x, y).sum().backward()
        results.append((x.grad.tolist(), y.grad.tolist(), order))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])
    assert results[0][2] == results[1][2] == ["first", "second"]


def test_full_backward_hook_on_a_first_layer_and_removal(torch):
    nn = _nn()
    if not hasattr(nn, "Linear"):
        pytest.skip("nn.Linear is not implemented yet")
    lin = nn.Linear(3, 2)
    seen = []
    h = lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    x = tn.randn(4, 3)  # data: no gradient wanted
    lin(x).sum().backward()
    (gi, go), = seen  # fmt: skip
    assert gi == (None,) and go[0].shape == (4, 2)
    np.testing.assert_allclose(go[0].numpy(), np.ones((4, 2)))
    h.remove()
    lin(x).sum().backward()
    assert len(seen) == 1


def test_module_hooks_fire_in_a_sequential_in_order():
    nn = _nn()
    if not hasattr(nn, "Linear"):
        pytest.skip("nn.Linear is not implemented yet")
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    log = []
    for name, m in model.named_children():
        m.register_forward_hook(lambda mod, a, o, name=name: log.append(("fwd", name)))
        m.register_full_backward_hook(lambda mod, gi, go, name=name: log.append(("bwd", name)))
    model(tn.randn(2, 3, requires_grad=True)).sum().backward()
    assert log == [("fwd", "0"), ("fwd", "1"), ("fwd", "2"),
                   ("bwd", "2"), ("bwd", "1"), ("bwd", "0")]  # fmt: skip


def test_module_hooks_leave_gradients_and_double_backward_unchanged():
    nn = _nn()
    if not hasattr(nn, "Linear"):
        pytest.skip("nn.Linear is not implemented yet")

    def grads(with_hooks: bool):
        tn.manual_seed(3)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        model.double()
        if with_hooks:
            for m in model.modules():
                m.register_full_backward_hook(lambda mod, gi, go: None)
                m.register_forward_hook(lambda mod, a, o: None)
        x = _t(np.linspace(-1, 1, 6).reshape(2, 3))
        out = (model(x) ** 2).sum()
        (gx,) = tn.autograd.grad(out, x, create_graph=True)
        (gx * gx).sum().backward()  # a second derivative through the hook gates
        return [gx.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]

    for a, b in zip(grads(False), grads(True)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_full_backward_hook_bad_replacement_is_named():
    nn = _nn()

    class Id(nn.Module):
        def forward(self, x):
            return x * 1

    m = Id()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="full backward hook of Id returned 2 gradients"):
        m(_t([1.0])).sum().backward()


# ----- detect_anomaly --------------------------------------------------------------------------


def test_detect_anomaly_names_the_first_bad_op_and_the_users_line():
    x = _t([0.0, 1.0, 4.0])
    with tn.autograd.detect_anomaly():
        a = x * 1.0
        line = _line() + 1
        b = a.sqrt()  # d sqrt at 0 is Inf: this op and this line must be named
        loss = (b.exp() * 2).sum()
        with pytest.raises(RuntimeError) as info, np.errstate(divide="ignore"):
            loss.backward()
    msg = str(info.value)
    assert "backward of Sqrt" in msg and "Inf" in msg
    assert f"{__file__}:{line}," in msg and "b = a.sqrt()" in msg
    assert "test_detect_anomaly_names_the_first_bad_op" in msg  # the function it ran in
    assert "tinynet" not in msg.split("Forward traceback")[1].split(__file__)[-1]


def test_detect_anomaly_nan_in_a_user_function_and_without_anomaly_mode():
    class Bad(tn.autograd.Function):
        """y = x
        dx = grad * nan
        """

        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            return grad * float("nan")

    x = _t([1.0, 2.0])
    y = Bad.apply(x * 2).sum()
    y.backward()  # anomaly mode off: NaN flows silently, as in torch
    assert np.isnan(x.grad.numpy()).all()
    with tn.autograd.detect_anomaly():
        line = _line() + 1
        y = Bad.apply(x * 2).sum()
        with pytest.raises(RuntimeError, match=rf"backward of Bad .*NaN(.|\n)*:{line},"):
            y.backward()


def test_detect_anomaly_as_decorator_and_only_at_backward():
    x = _t([0.0])
    y = x.sqrt()  # recorded without anomaly mode: no place known

    @tn.autograd.detect_anomaly()
    def run():
        with np.errstate(divide="ignore"):
            y.backward()

    with pytest.raises(RuntimeError, match="(?s)backward of Sqrt.*under detect_anomaly"):
        run()
    assert not tn.autograd.grad_mode.is_anomaly_enabled()


# ----- autograd.functional vs torch.autograd.functional ----------------------------------------


def _pair(torch, *arrays):
    ours = tuple(_t(a, requires_grad=False) for a in arrays)
    theirs = tuple(torch.tensor(a) for a in arrays)
    return ours, theirs


def _close(a, b, rtol=1e-9, atol=1e-12):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for u, v in zip(a, b):
            _close(u, v, rtol, atol)
        return
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)


def _funcs(lib):
    """Test functions written once for both libraries."""
    W = np.random.default_rng(1).standard_normal((3, 2))

    def mlp(x):
        return (x @ lib.tensor(W)).tanh() * x.sum()

    def two(x, y):
        return (x * y.exp(), (x * x).sum() * y)

    def scalar(x):
        return (x.sigmoid() * x * x).sum() + (x * x * x).sum()

    def scalar2(x, y):
        return ((x * y).tanh() ** 2).sum() + (x.exp() * y).sum()

    return mlp, two, scalar, scalar2


def test_vjp_matches_torch(torch):
    rng = np.random.default_rng(0)
    xa, ya, va = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(2)
    (mlp, two, _, _), (tmlp, ttwo, _, _) = _funcs(tn), _funcs(torch)
    (x,), (xt,) = _pair(torch, xa)
    (v,), (vt,) = _pair(torch, va)
    _close(AF.vjp(mlp, x, v), torch.autograd.functional.vjp(tmlp, xt, vt))
    (x, y), (xt, yt) = _pair(torch, xa, ya)
    (v1, v2), (v1t, v2t) = _pair(torch, ya, xa)
    _close(AF.vjp(two, (x, y), (v1, v2)), torch.autograd.functional.vjp(ttwo, (xt, yt), (v1t, v2t)))


def test_jvp_matches_torch(torch):
    rng = np.random.default_rng(2)
    xa, ya, ua, wa = (rng.standard_normal(3) for _ in range(4))
    (mlp, two, _, _), (tmlp, ttwo, _, _) = _funcs(tn), _funcs(torch)
    (x, y, u, w), (xt, yt, ut, wt) = _pair(torch, xa, ya, ua, wa)
    _close(AF.jvp(mlp, x, u), torch.autograd.functional.jvp(tmlp, xt, ut))
    _close(AF.jvp(two, (x, y), (u, w)), torch.autograd.functional.jvp(ttwo, (xt, yt), (ut, wt)))


def test_jacobian_matches_torch(torch):
    rng = np.random.default_rng(3)
    xa, ya = rng.standard_normal(3), rng.standard_normal(3)
    (mlp, two, _, _), (tmlp, ttwo, _, _) = _funcs(tn), _funcs(torch)
    (x, y), (xt, yt) = _pair(torch, xa, ya)
    _close(AF.jacobian(mlp, x), torch.autograd.functional.jacobian(tmlp, xt))
    _close(AF.jacobian(two, (x, y)), torch.autograd.functional.jacobian(ttwo, (xt, yt)))


def test_hessian_and_hvp_match_torch(torch):
    rng = np.random.default_rng(4)
    xa, ya, va, wa = (rng.standard_normal(4) for _ in range(4))
    (_, _, scalar, scalar2), (_, _, tscalar, tscalar2) = _funcs(tn), _funcs(torch)
    (x, y, v, w), (xt, yt, vt, wt) = _pair(torch, xa, ya, va, wa)
    TF = torch.autograd.functional
    H = AF.hessian(scalar, x)
    assert isinstance(H, tn.Tensor) and H.shape == (4, 4)
    _close(H, TF.hessian(tscalar, xt))
    _close(AF.hessian(scalar2, (x, y)), TF.hessian(tscalar2, (xt, yt)))
    _close(AF.hvp(scalar, x, v), TF.hvp(tscalar, xt, vt))
    _close(AF.hvp(scalar2, (x, y), (v, w)), TF.hvp(tscalar2, (xt, yt), (vt, wt)))
    _close(AF.vhp(scalar2, (x, y), (v, w)), TF.vhp(tscalar2, (xt, yt), (vt, wt)))


def test_functional_create_graph_and_caller_graph_untouched(torch):
    x = _t([0.5, -1.0])
    out, g = AF.vjp(lambda a: (a**3).sum(), x)
    assert not g.requires_grad and x.grad is None
    # create_graph: differentiate the hvp again (a third derivative), vs torch
    v = _t([1.0, 2.0], requires_grad=False)
    _, hv = AF.hvp(lambda a: (a**4).sum(), x, v, create_graph=True)
    assert hv.requires_grad
    (d,) = tn.autograd.grad(hv.sum(), x)
    xt = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    vt = torch.tensor([1.0, 2.0], dtype=torch.float64)
    _, hvt = torch.autograd.functional.hvp(lambda a: (a**4).sum(), xt, vt, create_graph=True)
    (dt,) = torch.autograd.grad(hvt.sum(), xt)
    _close(d, dt)


def test_functional_unused_input_and_constant_output_give_zeros(torch):
    x, y = _t([1.0, 2.0], False), _t([3.0], False)
    _, (gx, gy) = AF.vjp(lambda a, b: (a * 2).sum(), (x, y))
    np.testing.assert_array_equal(gy.numpy(), [0.0])
    H = AF.hessian(lambda a: (a * 2).sum(), x)  # linear: zero Hessian
    np.testing.assert_array_equal(H.numpy(), np.zeros((2, 2)))


def test_functional_errors():
    x = _t([1.0, 2.0], False)
    with pytest.raises(RuntimeError, match="pass v"):
        AF.vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match=r"v has shape \(3,\)"):
        AF.jvp(lambda a: a * 2, x, tn.ones(3, dtype=tn.float64))
    with pytest.raises(RuntimeError, match="one-element Tensor"):
        AF.hessian(lambda a: a * 2, x)
    with pytest.raises(TypeError, match="Tensor or a tuple"):
        AF.vjp(lambda a: a, [1.0, 2.0])
    with pytest.raises(TypeError, match="floating point"):
        AF.jacobian(lambda a: a, tn.ones(2, dtype=tn.int64))


def test_functional_through_conv2d_matches_torch(torch):
    conv2d = _conv2d()
    rng = np.random.default_rng(5)
    xa = rng.standard_normal((1, 2, 4, 4))
    wa = rng.standard_normal((2, 2, 2, 2)) * 0.3
    va = rng.standard_normal((1, 2, 3, 3))
    TF = torch.autograd.functional

    def f(x, w):
        return conv2d(x, w, stride=2, padding=1).tanh()

    def ft(x, w):
        return torch.nn.functional.conv2d(x, w, stride=2, padding=1).tanh()

    (x, w, v), (xt, wt, vt) = _pair(torch, xa, wa, va)
    _close(AF.vjp(f, (x, w), v), TF.vjp(ft, (xt, wt), vt), rtol=1e-8)
    (u1, u2), (u1t, u2t) = _pair(
        torch, rng.standard_normal(xa.shape), rng.standard_normal(wa.shape)
    )
    _close(AF.jvp(f, (x, w), (u1, u2)), TF.jvp(ft, (xt, wt), (u1t, u2t)), rtol=1e-8)

    def s(w):
        return (f(x, w) ** 2).sum()

    def st(w):
        return (ft(xt, w) ** 2).sum()

    _close(AF.hvp(s, w, u2), TF.hvp(st, wt, u2t), rtol=1e-8)
    H, Ht = AF.hessian(s, w), TF.hessian(st, wt)
    assert H.shape == (2, 2, 2, 2, 2, 2, 2, 2)
    _close(H, Ht, rtol=1e-7, atol=1e-10)


# ----- the example script ----------------------------------------------------------------------


def test_inspect_autograd_example_runs(capsys, tmp_path):
    import pathlib
    import runpy

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "inspect_autograd.py"
    mod = runpy.run_path(str(path), run_name="inspect_autograd")
    mod["main"](["--dot", str(tmp_path / "g.dot"), "--html", str(tmp_path / "b.html")])
    out = capsys.readouterr().out
    for part in range(1, 11):
        assert f"===== {part}. " in out
    assert "backward of Sqrt" in out and "conv2d_weight: dw[f, c]" in out
    _parse_dot((tmp_path / "g.dot").read_text())
    assert "tinynet-data" in (tmp_path / "b.html").read_text()


# ----- every device ------------------------------------------------------------------------------


def test_tools_work_on_every_device(device, tmp_path):
    # the strict stand-in device catches any implicit host transfer in the tools
    x = tn.tensor([0.5, 1.0, 2.0], device=device, requires_grad=True)
    with tn.autograd.tape() as tape:
        y = x * x
        z = (y + y.tanh()).sum()
    z.backward()
    buf = io.StringIO()
    tape.explain(file=buf, values=True)
    assert "dx = grad * y" in buf.getvalue() and "= [0.5, 1. , 2. ]" in buf.getvalue()
    assert "|g| = " in tn.viz.graph(z)._repr_svg_() and "<table>" in tape._repr_html_()
    assert "tinynet-data" in open(tn.viz.to_html(z, str(tmp_path / "p.html"))).read()
    assert tape.backward_order == [n.seq for n in reversed(tape.nodes)]
    _parse_dot(tn.viz.to_dot(z))
    v = tn.ones(3, device=device)
    _, hv = AF.hvp(lambda a: (a * a * a).sum(), x.detach(), v)
    _, jv = AF.jvp(lambda a: a * a, x.detach(), v)
    np.testing.assert_allclose(hv.cpu().numpy(), 6 * np.array([0.5, 1.0, 2.0]), rtol=1e-6)
    np.testing.assert_allclose(jv.cpu().numpy(), 2 * np.array([0.5, 1.0, 2.0]), rtol=1e-6)
    with tn.autograd.detect_anomaly(), np.errstate(divide="ignore"):
        bad = (tn.tensor([0.0, 1.0], device=device, requires_grad=True).sqrt()).sum()
        with pytest.raises(RuntimeError, match="backward of Sqrt"):
            bad.backward()


# ----- one numbering, names, values, rich display, the HTML page ---------------------------------


def _small_cnn():
    nn = pytest.importorskip("tinynet.nn")
    tn.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))


def _recorded_cnn():
    import tinynet.nn.functional as F

    model = _small_cnn()
    img = tn.randn(2, 1, 4, 4)
    with tn.autograd.tape(params=model) as tape:
        loss = F.cross_entropy(model(img), tn.tensor([0, 2]))
    loss.backward()
    return model, img, loss, tape


def test_one_numbering_in_tape_repr_dot_html_and_anomaly(tmp_path):
    x = _t([0.0, 1.0, 4.0])
    with tn.autograd.tape() as tape, tn.autograd.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt()
        z = (y * 2).sum()
        with pytest.raises(RuntimeError) as err:
            z.backward(retain_graph=True)
    sqrt = y.grad_fn
    k = sqrt.seq
    assert repr(sqrt) == f"<Sqrt #{k}>"
    rows = str(tape).splitlines()[2:5]
    assert [r.split()[:2] for r in rows] == [[str(k), "Sqrt"], [str(k + 1), "Mul"],
                                             [str(k + 2), "Sum"]]  # fmt: skip
    assert f"#{k} (3,)" in rows[1]  # Mul's input is named by the same number
    assert f"Sqrt #{k} produced Inf" in str(err.value)
    assert f'"Sqrt #{k}\\n-> (3,)"' in tn.viz.to_dot(z)
    assert f"Mul #{k + 1}  (3,)     (3,) -> Sqrt #{k}" in str(tape)  # the backward table
    page = open(tn.viz.to_html(z, str(tmp_path / "p.html"))).read()
    assert f'id="node-{k}"' in page and f'"title": "Mul #{k + 1}"' in page


def test_tape_params_name_leaves_everywhere():
    model, img, loss, tape = _recorded_cnn()
    text = str(tape)
    assert "0.weight (2, 1, 3, 3), 0.bias (2,)" in text
    assert "3.weight (3, 32), 3.bias (3,)" in text
    assert "-> 0.weight.grad" in text and "leaf" not in text
    buf = io.StringIO()
    tape.explain(file=buf)
    assert "-> 3.bias.grad" in buf.getvalue()
    nodes, _ = _parse_dot(tn.viz.to_dot(loss))  # the tape's names, without params=
    labels = {v["label"].split("\n")[0] for v in nodes.values()}
    assert {"0.weight", "0.bias", "3.weight", "3.bias"} <= labels


def test_dot_draws_constants_and_gradient_norms_after_backward():
    model, img, loss, tape = _recorded_cnn()
    nodes, edges = _parse_dot(tn.viz.to_dot(loss))
    consts = {k: v for k, v in nodes.items() if v.get("fillcolor") == "lightgrey"}
    labels = sorted(v["label"] for v in consts.values())
    assert labels == ["target (constant)\n(2,) int64", "x (constant)\n(2, 1, 4, 4) float32"]
    by_label = {v["label"].split("\n")[0]: k for k, v in nodes.items()}
    for name, p in model.named_parameters():
        (lab,) = [e[2]["label"] for e in edges if e[0] == by_label[name]]
        norm = float(lab.split("|g| = ")[1])
        assert norm == pytest.approx(np.linalg.norm(p.grad.numpy()), rel=1e-3), name
    (img_edge,) = [e for e in edges if e[0] == by_label["x (constant)"]]
    assert "|g|" not in img_edge[2]["label"]  # the image gets no gradient
    before = tn.viz.to_dot((tn.randn(2, requires_grad=True) * 2).sum())
    assert "|g|" not in before  # nothing ran yet: no norms


def test_explain_values_shows_the_numbers_of_a_step():
    x = _t([1.0, 2.0, 3.0])
    with tn.autograd.tape() as tape:
        y = x * x
        z = (y * _t([1.0, -1.0, 0.5], requires_grad=False)).sum()
    z.backward()
    buf = io.StringIO()
    tape.explain(file=buf, values=True)
    blocks = re.split(r"(?m)^step ", buf.getvalue())[1:]
    mul = blocks[2]  # x * x: grad in is [1, -1, 0.5], each input gets grad * x
    assert re.search(r"grad\s+= \[ 1. , -1. ,  0.5\]", mul), mul
    assert mul.count("= [ 1. , -2. ,  1.5]") == 2  # dx and dy
    assert re.search(r"x \(leaf\)\s+= \[1., 2., 3.\]", mul)
    plain = io.StringIO()
    tape.explain(file=plain)
    assert "= [" not in plain.getvalue()  # values only when asked
    big = _t(np.ones(100))
    with tn.autograd.tape() as t2:
        s = (big * 2).sum()
    s.backward()
    buf = io.StringIO()
    t2.explain(file=buf, values=True)
    assert "(100,)  |dx| = 20" in buf.getvalue() and "= [2., 2." not in buf.getvalue()


def test_rich_display_of_tape_and_graph_without_graphviz():
    import xml.etree.ElementTree as ET

    model, img, loss, tape = _recorded_cnn()
    page = tape._repr_html_()
    root = ET.fromstring(page)  # well-formed
    rows = root.findall(".//tbody/tr")
    assert len(rows) == 2 * len(tape.entries)  # the tape table and the backward table
    assert "0.weight" in page
    g = tn.viz.graph(loss, params=model)
    svg = ET.fromstring(g._repr_svg_())
    assert svg.tag.endswith("svg")
    ids = {e.get("id") for e in svg.iter() if e.get("id")}
    assert {f"node-{n.seq}" for n in tape.nodes} <= ids
    texts = " ".join(t.text or "" for t in svg.iter() if t.tag.endswith("text"))
    assert "x (constant)" in texts and "3.weight" in texts and "|g| = " in texts
    assert g.dot == tn.viz.to_dot(loss, params=model)
    assert str(tn.autograd.tape()._repr_html_()).startswith("<p>tape: no nodes")


def _page_data(path):
    import json

    text = open(path, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="tinynet-data">(.*?)</script>', text, re.S)
    return text, json.loads(m.group(1))


def test_to_html_page_structure(tmp_path):
    model, img, loss, tape = _recorded_cnn()
    path = tn.viz.to_html(loss, str(tmp_path / "b.html"), params=model)
    text, data = _page_data(path)
    # self-contained: no network, no other file
    assert not re.search(r"(?i)(https?:)?//[a-z]|<link|(?<![-\w])src=|@import|url\((?!#)", text)
    steps = data["steps"]
    assert [s["title"] for s in steps] == [f"{s.entry.node.name} #{s.entry.seq}"
                                           for s in tape.steps]  # fmt: skip
    for s, st in zip(steps, tape.steps):
        assert f'id="{s["id"]}"' in text  # each step highlights a drawn node
        forward, rule = op_math(st.entry.node.fn)
        assert (s["forward"], s["rule"]) == (forward, rule)
        assert s["grad"]["norm"] == pytest.approx(st.grad_norm)
    ids = [s["id"] for s in steps]
    assert ids == sorted(ids, key=lambda i: -int(i.split("-")[1]))  # tape played backwards
    conv = steps[-1]
    assert conv["title"].startswith("Conv2d") and "conv2d_weight" in " ".join(conv["where"])
    outs = {o["label"]: o for o in conv["outs"]}
    assert outs["dw"]["target"] == "0.weight.grad" and "values" in outs["dw"]  # 18 numbers
    np.testing.assert_allclose(
        np.array(eval(outs["db"]["values"].replace("\n", ""))), model[0].bias.grad.numpy(),
        atol=1e-4,
    )  # fmt: skip
    assert conv["grad"]["shape"] == "(2, 2, 4, 4)" and "values" not in conv["grad"]  # 64 numbers
    relu = steps[-2]
    assert relu["outs"][0]["target"] == conv["title"] and relu["outs"][0]["target_id"] == conv["id"]
    assert 'id="prev"' in text and 'id="next"' in text and 'id="slider"' in text


def test_to_html_runs_its_own_backward_and_leaves_grad_alone(tmp_path):
    x = _t([1.0, 2.0, 3.0])
    z = (x * x).sum()  # no tape
    _, data = _page_data(tn.viz.to_html(z, str(tmp_path / "a.html"), params={"x": x}))
    assert x.grad is None  # the page's backward did not touch .grad
    (mul,) = [s for s in data["steps"] if s["title"].startswith("Mul")]
    assert [o["target"] for o in mul["outs"]] == ["x.grad", "x.grad"]
    assert mul["outs"][0]["values"] == "[1., 2., 3.]"  # grad * x with grad = 1
    z.backward()  # the graph was retained
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    with pytest.raises(RuntimeError, match="already ran"):
        tn.viz.to_html(z, str(tmp_path / "b.html"))
    with pytest.raises(ValueError, match="no backward pass"):
        tn.viz.to_html(x.detach(), str(tmp_path / "c.html"))
    with pytest.raises(TypeError, match="expected a Tensor"):
        tn.viz.to_html(np.ones(2), str(tmp_path / "d.html"))
    with pytest.raises(TypeError, match="to_html: params must be a Module or a dict"):
        tn.viz.to_html((x * 2).sum(), str(tmp_path / "e.html"), params=[x])
    with pytest.raises(TypeError, match="tape: params must be a Module or a dict.*list"):
        tn.autograd.tape(params=[x])


def _chromium():
    import os
    import shutil

    for c in (os.environ.get("TINYNET_CHROMIUM"), "chromium", "chromium-browser"):
        path = c and (shutil.which(c) or (c if os.path.isfile(c) else None))
        if path:
            return path
    return None


@pytest.mark.browser
def test_to_html_in_headless_chromium(tmp_path):
    """The page loads in a real browser without console errors and stepping moves the
    highlight. Needs the `playwright` package and a Chromium from the distribution (apt
    install chromium); skips without either. Never downloads a browser."""
    sync_api = pytest.importorskip("playwright.sync_api")
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium, or set TINYNET_CHROMIUM)")
    model, img, loss, tape = _recorded_cnn()
    path = tn.viz.to_html(loss, str(tmp_path / "b.html"))
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=args)
        try:
            page = browser.new_page()
            errors, requests = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"file://{path}")

            def active():
                return page.eval_on_selector_all(".box.active", "els => els.map(e => e.id)")

            steps = [f"node-{s.entry.seq}" for s in tape.steps]
            assert active() == [steps[0]]
            page.click("#next")
            assert active() == [steps[1]]
            assert page.inner_text("#counter") == f"step 2 / {len(steps)}"
            assert tape.steps[1].entry.node.name in page.inner_text("#detail")
            page.keyboard.press("ArrowRight")
            assert active() == [steps[2]]
            page.click("#prev")
            page.click("#prev")
            assert active() == [steps[0]] and page.is_disabled("#prev")
            page.fill("#slider", str(len(steps) - 1))
            page.dispatch_event("#slider", "input")
            assert active() == [steps[-1]] and page.is_disabled("#next")
            assert page.eval_on_selector_all(".box.done", "els => els.length") == len(steps) - 1
            assert errors == []
            assert all(u.startswith("file://") for u in requests), requests
        finally:
            browser.close()
