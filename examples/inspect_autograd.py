"""Watch tinynet's autodiff engine work: the demonstrations of docs/autograd.md, in order.

Run: python examples/inspect_autograd.py [--dot graph.dot] [--html backward.html]

Every part uses the same three lines,

    x = tn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x                    # Mul: saves both of its inputs for backward
    z = (y + y.tanh()).sum()     # y is used twice: a fan-out

and one of the inspection tools: the tape, the DOT graph, hooks, detect_anomaly
and autograd.functional. The end follows a small CNN's backward pass, and writes it as
one HTML page (backward.html) that steps through it node by node: open it in a browser.
"""

from __future__ import annotations

import argparse

import numpy as np

import tinynet as tn
import tinynet.nn as nn
import tinynet.nn.functional as F
from tinynet.autograd import functional as AF


def example():
    x = tn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    z = (y + y.tanh()).sum()
    return x, y, z


def by_hand(x: np.ndarray) -> np.ndarray:
    """dz/dx for the example: 2x * (1 + 1 - tanh(x**2)**2)."""
    return 2 * x * (2 - np.tanh(x**2) ** 2)


def header(title: str) -> None:
    print(f"\n===== {title} " + "=" * max(0, 70 - len(title)))


def tensors_and_nodes(dot_path: str | None) -> None:
    header("1. Tensors and nodes")
    x, y, z = example()
    print("x is a leaf:", x.is_leaf, "  x.grad_fn =", x.grad_fn)
    print("y.grad_fn =", y.grad_fn, "  its inputs are x itself:", y.grad_fn.next[0] is x)
    print("z.grad_fn =", z.grad_fn, "  its inputs (next):", z.grad_fn.next)
    dot = tn.viz.to_dot(z, params={"x": x})
    print(dot)
    if dot_path:
        with open(dot_path, "w") as f:
            f.write(dot)
        print(f"wrote {dot_path}; draw it with: dot -Tsvg {dot_path} -o graph.svg")


def the_tape():
    header("2. Why a tape: the forward pass, as recorded")
    x = tn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with tn.autograd.tape() as tape:
        y = x * x
        z = (y + y.tanh()).sum()
    print(tape)
    print("the # column is each node's sequence number, as in its repr:", tape.nodes)
    return tape, x, z


def reverse_order(tape, x, z) -> None:
    header("3. How reverse order is obtained")
    z.backward()
    print(tape)
    print("backward ran nodes", tape.backward_order, "(decreasing sequence number)")
    tape.explain(values=True)  # with the numbers: check each step by hand
    print("x.grad =", x.grad, "  by hand:", by_hand(np.array([1.0, 2.0, 3.0])))


def fan_out() -> None:
    header("4. Accumulation at fan-out")
    x, y, z = example()
    y.register_hook(lambda g: print("  gradient reaching y (Add's 1 + Tanh's 1 - tanh^2):", g))
    x.register_hook(lambda g: print("  gradient reaching the leaf x (fires once, summed):", g))
    z.backward()
    (x * 1).sum().backward()
    print("after a second backward of sum(x), x.grad accumulated to", x.grad)


def freeing() -> None:
    header("5. Why saved tensors are freed")
    x, y, z = example()
    print("Mul saved", len(y.grad_fn.saved), "tensors for backward")
    z.backward()
    print("after backward, Mul's saved tensors:", y.grad_fn.saved)
    try:
        z.backward()
    except RuntimeError as e:
        print("a second backward:", e)
    x, y, z = example()
    z.backward(retain_graph=True)
    z.backward()
    print("with retain_graph=True a second backward works: x.grad =", x.grad)


def create_graph() -> None:
    header("6. create_graph reuses the backward formulas")
    x = tn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with tn.autograd.tape() as tape:
        y = x * x
        z = (y + y.tanh()).sum()
        (g,) = tn.autograd.grad(z, x, create_graph=True)
    print(tape)
    (h,) = tn.autograd.grad(g.sum(), x)
    print("dz/dx =", g, "\nd/dx sum(dz/dx) =", h)

    def f(x):
        y = x * x
        return (y + y.tanh()).sum()

    x0, v = tn.tensor([1.0, 2.0, 3.0]), tn.tensor([1.0, 0.0, 0.0])
    print("hessian:\n", AF.hessian(f, x0))
    print("hvp(v) =", AF.hvp(f, x0, v)[1])
    print("jvp of x -> x*x along v (double-vjp trick) =", AF.jvp(lambda x: x * x, x0, v)[1])


def anomaly() -> None:
    header("7. detect_anomaly: where did the Inf come from?")
    x = tn.tensor([0.0, 1.0, 4.0], requires_grad=True)
    with tn.autograd.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        y = x.sqrt()  # the derivative of sqrt at 0 is infinite
        z = (y * 2).sum()
        try:
            z.backward()
        except RuntimeError as e:
            print(e)


def module_hooks() -> None:
    header("8. Hooks on modules")
    tn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3, stride=2))
    for name, m in model.named_children():
        m.register_forward_hook(
            lambda m, args, out, name=name: print(f"  forward  {name}: output {tuple(out.shape)}")
        )
        m.register_full_backward_hook(
            lambda m, gin, gout, name=name: print(
                f"  backward {name}: grad_output {tuple(gout[0].shape)}, grad_input "
                f"{[None if g is None else tuple(g.shape) for g in gin]}"
            )
        )
    (model(tn.randn(2, 1, 8, 8)) ** 2).mean().backward()


def small_cnn() -> nn.Module:
    tn.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3)
    )


def cnn() -> None:
    header("9. A small CNN's backward, one screen")
    model = small_cnn()
    img = tn.randn(2, 1, 4, 4)  # a constant: the tape draws it, it gets no gradient
    with tn.autograd.tape(params=model) as tape:  # parameters shown by their module names
        loss = F.cross_entropy(model(img), tn.tensor([0, 2]))
    loss.backward()
    print(tape)
    tape.explain()
    print(tn.viz.to_dot(loss))  # after backward: gradient norms on the edges


def step_through(html_path: str) -> None:
    header("10. A backward pass you can step through")
    model = small_cnn()
    img = tn.randn(2, 1, 4, 4)
    with tn.autograd.tape(params=model) as tape:
        loss = F.cross_entropy(model(img), tn.tensor([0, 2]))
    loss.backward()
    tn.viz.to_html(loss, html_path)
    print(f"wrote {html_path}: {len(tape.steps)} backward steps; open it in a browser and press ->")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", help="also write the graph of part 1 to this .dot file")
    parser.add_argument("--html", default="backward.html", help="the page of part 10")
    args = parser.parse_args(argv)
    tensors_and_nodes(args.dot)
    reverse_order(*the_tape())
    fan_out()
    freeing()
    create_graph()
    anomaly()
    module_hooks()
    cnn()
    step_through(args.html)


if __name__ == "__main__":
    main()
