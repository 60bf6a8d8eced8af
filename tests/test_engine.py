"""The engine as docs/autograd.md sections 2-6 describe it: a tape replayed backwards,
accumulation, freeing, create_graph, thread-local grad mode, autograd.grad, user Functions,
version checks, errors."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import tinynet as tn
from tinynet.autograd.engine import Node


def _t(a, requires_grad=True, dtype=tn.float64):
    return tn.tensor(np.asarray(a, dtype=np.float64), dtype=dtype, requires_grad=requires_grad)


# ----- order and depth ----------------------------------------------------------------------


def test_long_chain_backward_needs_no_recursion():
    # 100,000 ops: any recursive traversal (or recursive free) would blow the stack
    x = tn.tensor([1.5], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    y.sum().backward()
    assert x.grad.item() == 1.0  # an even number of negations
    del y  # freeing the chain must not recurse either


def test_nodes_run_in_decreasing_sequence_order():
    x = _t([1.0, 2.0])
    a = x * 2
    b = a.exp()
    c = a * b  # consumes a twice (directly and via b): a must wait for both
    order = []
    for t, name in ((a, "a"), (b, "b"), (c, "c")):
        t.register_hook(lambda g, name=name: order.append(name))
    c.sum().backward()
    assert order == ["c", "b", "a"]
    assert a.grad_fn.seq < b.grad_fn.seq < c.grad_fn.seq


# ----- accumulation -------------------------------------------------------------------------


def test_grad_accumulates_across_backward_calls(torch):
    x = _t([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    g = x.grad
    (x * x * x).sum().backward()
    assert x.grad is g  # accumulated in place, as torch keeps .grad's identity
    xt = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    (xt * xt).sum().backward()
    (xt * xt * xt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_fan_out_accumulates_into_one_gradient(torch):
    x = _t([0.5, 1.5])
    y = x.exp()
    z = (y * 2 + tn.sin(y) + y * y).sum()  # y feeds three consumers
    z.backward()
    xt = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    yt = xt.exp()
    (yt * 2 + yt.sin() + yt * yt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_leaf_used_twice_in_one_op():
    x = _t([3.0])
    (x * x).backward()
    assert x.grad.item() == 6.0


def test_grad_is_a_copy_not_an_alias_of_the_seed():
    x = _t([1.0, 2.0])
    seed = _t([1.0, 1.0], requires_grad=False)
    (x + 0).backward(seed)
    seed += 5  # must not change x.grad
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


# ----- retain_graph and freeing -------------------------------------------------------------


def test_second_backward_through_freed_graph_says_retain_graph():
    x = _t([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = _t([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])


def test_saved_tensors_released_after_backward():
    x = _t([1.0, 2.0])
    y = x * x
    node = y.grad_fn
    assert node.saved  # x twice
    y.sum().backward()
    assert node.saved is None


def test_graph_freed_when_last_tensor_goes_no_cycles():
    gc.collect()
    gc.disable()  # refcounting alone must free the graph: no reference cycles
    try:
        x = _t(np.ones(4))
        h = x.exp()
        y = (h * h).sum()
        mul_ref, exp_ref = weakref.ref(y.grad_fn.next[0]), weakref.ref(h.grad_fn)
        del h
        assert exp_ref() is not None  # y still refers to the graph through Mul
        del y
        assert mul_ref() is None and exp_ref() is None
        # the same after a backward, and with a retained graph and a hook
        z = x.tanh()
        z.register_hook(lambda g: g * 2)
        z.retain_grad()
        w = (z * z).sum()
        ref = weakref.ref(w.grad_fn)
        w.backward(retain_graph=True)
        del w, z
        assert ref() is None
    finally:
        gc.enable()


def test_tape_does_not_create_cycles():
    gc.collect()
    gc.disable()
    try:
        x = _t(np.ones(3))
        with tn.autograd.tape() as tape:
            y = (x * x).sum()
        ref = weakref.ref(y.grad_fn)
        y.backward()
        del y
        assert ref() is not None  # the tape keeps its nodes to print them
        del tape
        assert ref() is None
    finally:
        gc.enable()


# ----- create_graph -------------------------------------------------------------------------


def test_create_graph_second_derivatives_match_torch(torch):
    rng = np.random.default_rng(0)
    xa, wa = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x, w = _t(xa), _t(wa)
    y = ((x @ w).tanh() ** 2).sum() + (x * x * x).sum()
    (gx,) = tn.autograd.grad(y, x, create_graph=True)
    assert gx.requires_grad
    (gx * gx).sum().backward()
    xt = torch.tensor(xa, requires_grad=True)
    wt = torch.tensor(wa, requires_grad=True)
    yt = ((xt @ wt).tanh() ** 2).sum() + (xt * xt * xt).sum()
    (gxt,) = torch.autograd.grad(yt, xt, create_graph=True)
    (gxt * gxt).sum().backward()
    np.testing.assert_allclose(gx.detach().numpy(), gxt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-10)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
def test_backward_with_create_graph_builds_differentiable_grad(torch):
    x = _t([0.3, -0.7])
    y = (tn.sin(x) * x).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    (d2,) = tn.autograd.grad(g.sum(), x)
    xt = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    (xt.sin() * xt).sum().backward(create_graph=True)
    (d2t,) = torch.autograd.grad(xt.grad.sum(), xt)
    np.testing.assert_allclose(d2.numpy(), d2t.numpy(), rtol=1e-12)


def test_third_derivative():
    x = _t([2.0])
    (g1,) = tn.autograd.grad(x**4, x, create_graph=True)
    (g2,) = tn.autograd.grad(g1, x, create_graph=True)
    (g3,) = tn.autograd.grad(g2, x)
    assert (g1.item(), g2.item(), g3.item()) == (32.0, 48.0, 48.0)


# ----- grad mode ----------------------------------------------------------------------------


def test_no_grad_is_thread_local():
    x = _t([1.0])
    entered, checked = threading.Event(), threading.Event()
    seen = {}

    def other():
        entered.wait(5)
        seen["enabled"] = tn.is_grad_enabled()
        seen["requires_grad"] = (x * 2).requires_grad
        checked.set()

    thread = threading.Thread(target=other)
    thread.start()
    with tn.no_grad():
        entered.set()
        checked.wait(5)
        assert not (x * 2).requires_grad
    thread.join(5)
    assert seen == {"enabled": True, "requires_grad": True}


def test_new_thread_starts_with_grad_on_even_inside_no_grad():
    result = []
    with tn.no_grad():
        t = threading.Thread(target=lambda: result.append(tn.is_grad_enabled()))
        t.start()
        t.join(5)
    assert result == [True]


def test_no_grad_and_enable_grad_as_decorators():
    x = _t([1.0])

    @tn.no_grad()
    def f(v):
        return v * 2

    @tn.enable_grad()
    def g(v):
        return v * 2

    assert not f(x).requires_grad
    assert f.__name__ == "f"
    with tn.no_grad():
        assert g(x).requires_grad
        assert not tn.is_grad_enabled()
    assert tn.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError), tn.no_grad():
        raise ValueError
    assert tn.is_grad_enabled()


def test_set_grad_enabled():
    x = _t([1.0])
    with tn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with tn.set_grad_enabled(True):
            assert (x * 2).requires_grad


# ----- autograd.grad ------------------------------------------------------------------------


def test_grad_does_not_touch_dot_grad():
    x = _t([1.0, 2.0])
    (g,) = tn.autograd.grad((x * x).sum(), x)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    assert x.grad is None


def test_grad_with_respect_to_non_leaf(torch):
    x = _t([1.0, 2.0])
    h = x.exp()
    y = (h * h).sum()
    gh, gx = tn.autograd.grad(y, [h, x])
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ht = xt.exp()
    ght, gxt = torch.autograd.grad((ht * ht).sum(), [ht, xt])
    np.testing.assert_allclose(gh.numpy(), ght.numpy())
    np.testing.assert_allclose(gx.numpy(), gxt.numpy())


def test_grad_allow_unused():
    x, u = _t([1.0]), _t([2.0])
    y = (x * 3).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        tn.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = tn.autograd.grad(y, [x, u], allow_unused=True)
    assert gx.item() == 3.0 and gu is None


def test_grad_with_grad_outputs_and_several_outputs(torch):
    x = _t([1.0, 2.0, 3.0])
    a, b = x * 2, x.exp()
    v = _t([1.0, 0.5, -1.0], requires_grad=False)
    (g,) = tn.autograd.grad([a, b], x, grad_outputs=[v, v])
    xt = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    vt = torch.tensor([1.0, 0.5, -1.0], dtype=torch.float64)
    (gt,) = torch.autograd.grad([xt * 2, xt.exp()], xt, grad_outputs=[vt, vt])
    np.testing.assert_allclose(g.numpy(), gt.numpy())


def test_grad_input_that_does_not_require_grad():
    x = _t([1.0], requires_grad=False)
    w = _t([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        tn.autograd.grad((x * w).sum(), x)


# ----- user-defined Functions ---------------------------------------------------------------


class Cube(tn.autograd.Function):
    """y = x ** 3
    dx = 3 * x**2 * grad
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x * x * grad


class ScaledSum(tn.autograd.Function):
    """z = x * scale + y   (scale a float option, not an input)
    dx = grad * scale;  dy = grad
    """

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.scale = scale
        return x * scale + y

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, grad, None


def test_user_function_forward_backward_and_double_backward(torch):
    xa = np.array([0.5, -1.0, 2.0])
    x = _t(xa)
    y = Cube.apply(x)
    assert isinstance(y, tn.Tensor) and y.grad_fn.name == "Cube"
    np.testing.assert_allclose(y.detach().numpy(), xa**3)
    (g,) = tn.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * xa**2)
    (g2,) = tn.autograd.grad(g.sum(), x)
    xt = torch.tensor(xa, requires_grad=True)
    (gt,) = torch.autograd.grad((xt**3).sum(), xt, create_graph=True)
    (g2t,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(g2.numpy(), g2t.numpy())


def test_user_function_with_options_and_gradcheck():
    x, y = _t([1.0, 2.0]), _t([3.0, 4.0])
    z = ScaledSum.apply(x, y, 2.5)
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.5, 2.5])
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 1.0])
    assert tn.autograd.gradcheck(lambda a: Cube.apply(a), (_t([0.3, -1.2]),))


def test_user_function_wrong_gradient_shape_or_count():
    class Bad(tn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.sum()

    class TooMany(Bad):
        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(RuntimeError, match=r"Bad.backward returned a gradient of shape \(\)"):
        Bad.apply(_t([1.0, 2.0])).sum().backward()
    with pytest.raises(RuntimeError, match="returned 2 gradients for 1 inputs"):
        TooMany.apply(_t([1.0, 2.0])).sum().backward()


def test_user_function_records_nothing_without_grad():
    x = _t([1.0], requires_grad=False)
    y = Cube.apply(x)
    assert y.grad_fn is None and not y.requires_grad
    with tn.no_grad():
        assert Cube.apply(_t([1.0])).grad_fn is None


# ----- version counter ----------------------------------------------------------------------


def test_in_place_change_of_saved_constant_is_detected():
    x = _t([1.0, 2.0])
    c = _t([3.0, 4.0], requires_grad=False)
    y = (x * c).sum()
    c += 1  # c is saved by Mul for x's gradient
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_in_place_change_of_saved_leaf_under_no_grad_is_detected():
    x = _t([1.0, 2.0])
    y = (x * x).sum()
    with tn.no_grad():
        x.mul_(2)  # what a buggy optimizer step before backward would do
    with pytest.raises(RuntimeError, match=r"modified by an inplace .*: a tensor of shape \(2,\)"):
        y.backward()


def test_in_place_on_leaf_refused_while_recording_non_leaf_rebased():
    x = _t([1.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        x += 1
    y = x * 2
    y *= 2  # a non-leaf may be edited in place: it is rebased onto a Mul node
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0])


def test_unsaved_tensor_may_change_in_place():
    x = _t([1.0, 2.0])
    c = _t([3.0, 4.0], requires_grad=False)
    y = (x + c).sum()  # Add saves nothing
    c += 1
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


# ----- errors at the boundary ---------------------------------------------------------------


def test_backward_on_non_scalar_needs_gradient():
    x = _t(np.ones((2, 3)))
    y = x * 2
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\), so pass gradient="):
        y.backward()
    y.backward(tn.ones(2, 3, dtype=tn.float64))
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))


def test_backward_gradient_shape_mismatch():
    y = _t(np.ones(3)) * 2
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\).*output has shape \(3,\)"):
        y.backward(tn.ones(2, dtype=tn.float64))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tn.ones(3).sum().backward()


def test_device_mix_raises_naming_both_devices():
    a = tn.ones(3, device="cpu:1", requires_grad=True)  # a second CPU "device": no GPU needed
    b = tn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"cpu:1 and cpu"):
        a + b
    y = b * 2
    with pytest.raises(RuntimeError, match=r"gradient is on cpu:1 but the output is on cpu"):
        y.backward(tn.ones(3, device="cpu:1"))


def test_root_gradient_dtype_is_cast_as_torch_does():
    x = tn.ones(3, requires_grad=True)
    (x * 2).backward(tn.ones(3, dtype=tn.float64))
    assert x.grad.dtype == tn.float32


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        tn.ones(3, dtype=tn.int64, requires_grad=True)


def test_node_is_public_enough_to_walk():
    x = _t([1.0])
    y = (x * 2).exp()
    node = y.grad_fn
    assert isinstance(node, Node) and node.name == "Exp"
    (prev,) = node.next
    assert prev.name == "Mul" and prev.next[0] is x and prev.next[1] is None
    assert "Exp" in repr(y)


# ----- gradients keep their shape (.grad assignment, hooks) ------------------------------------


def test_grad_assignment_is_checked(device):
    w = tn.zeros(2, 3, device=device, requires_grad=True)
    w.grad = tn.ones(2, 3, device=device)  # fits: accepted
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*tensor has shape \(2, 3\)"):
        w.grad = tn.ones(3, device=device)
    with pytest.raises(RuntimeError, match="dtype .*float64.*dtype .*float32"):
        w.grad = tn.ones(2, 3, dtype=tn.float64, device=device)
    other = "cpu" if device.type != "cpu" else "fakecuda"
    with pytest.raises(RuntimeError, match="device"):
        w.grad = tn.ones(2, 3, device=other)
    with pytest.raises(TypeError, match="Tensor or None"):
        w.grad = [[0.0] * 3] * 2
    assert w.grad.shape == (2, 3)
    w.grad = None
    assert w.grad is None


@pytest.mark.parametrize("where", ["leaf", "non-leaf"])
def test_hook_returning_another_shape_raises_naming_the_shape(where):
    x = _t([1.0, 2.0, 3.0])
    t = x if where == "leaf" else x * 2
    t.register_hook(lambda g: g.sum())
    with pytest.raises(
        RuntimeError, match=r"hook .* shape \(3,\) returned a gradient of shape \(\)"
    ):
        (t * t).sum().backward()


def test_mixed_dtype_graph_keeps_the_leaf_dtype_in_grad():
    x = tn.ones(3, requires_grad=True)  # float32
    (x * tn.ones(3, dtype=tn.float64)).sum().backward()
    assert x.grad.dtype is tn.float32


# ----- grad mode: a call, a context manager, a decorator (generators too) -----------------------


def test_set_grad_enabled_as_a_plain_call():
    try:
        tn.set_grad_enabled(False)
        assert not tn.is_grad_enabled()
        assert not (_t([1.0]) * 2).requires_grad
    finally:
        tn.set_grad_enabled(True)
    assert tn.is_grad_enabled()
    with tn.set_grad_enabled(False):
        assert not tn.is_grad_enabled()
    assert tn.is_grad_enabled()

    @tn.set_grad_enabled(False)
    def f():
        return tn.is_grad_enabled()

    assert tn.is_grad_enabled() and f() is False and tn.is_grad_enabled()


@pytest.mark.parametrize(
    "mode,inside",
    [(tn.no_grad, False), (tn.enable_grad, True), (tn.inference_mode, False),
     (lambda: tn.set_grad_enabled(False), False)],
    ids=["no_grad", "enable_grad", "inference_mode", "set_grad_enabled"],
)  # fmt: skip
def test_grad_mode_decorators_on_generators(mode, inside):
    @mode()
    def gen(n):
        for _ in range(n):
            got = yield tn.is_grad_enabled()
            assert tn.is_grad_enabled() is inside  # restored after each yield
            if got is not None:
                yield got
        return "done"

    outside = not inside
    with tn.set_grad_enabled(outside):
        it = gen(2)
        assert next(it) is inside and tn.is_grad_enabled() is outside
        assert it.send("x") == "x" and tn.is_grad_enabled() is outside
        assert next(it) is inside
        with pytest.raises(StopIteration) as stop:
            next(it)
        assert stop.value.value == "done" and tn.is_grad_enabled() is outside
    assert tn.is_grad_enabled()


def test_inference_mode_is_exported_and_records_nothing():
    assert tn.inference_mode is tn.autograd.inference_mode
    x = _t([1.0])
    with tn.inference_mode():
        assert not (x * 2).requires_grad
    with tn.inference_mode(False):
        assert (x * 2).requires_grad


def test_docs_quote_the_backward_loop_verbatim():
    import inspect
    import pathlib

    from tinynet.autograd import engine

    doc = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "autograd.md").read_text()
    src = inspect.getsource(engine._backward)
    assert src.strip() in doc, "docs/autograd.md must quote engine._backward as it is"
    assert len(src.splitlines()) <= 25, "the loop should fit on one screen"


def test_user_function_reading_a_saved_intermediate_under_create_graph_warns_once():
    class Cube(tn.autograd.Function):
        """y = x**3
        dx = grad * 3 * x**2   (x**2 saved: an intermediate)
        """

        @staticmethod
        def forward(ctx, x):
            sq = x * x
            ctx.save_for_backward(sq)
            return sq * x

        @staticmethod
        def backward(ctx, grad):
            (sq,) = ctx.saved_tensors
            return grad * 3 * sq

    x = _t([2.0])
    tn.autograd.grad(Cube.apply(x), x)  # first order: no warning
    with pytest.warns(UserWarning, match=r"Cube\.backward reads a saved array.*create_graph"):
        (g,) = tn.autograd.grad(Cube.apply(x), x, create_graph=True)
    assert not g.requires_grad  # the constant the warning is about: d2y/dx2 is lost
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per Function
        tn.autograd.grad(Cube.apply(x), x, create_graph=True)


def test_docs_line_references_into_engine_py_are_current():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "autograd.md").read_text()
    lines = (root / "tinynet" / "autograd" / "engine.py").read_text().splitlines()
    refs = re.findall(r"engine\.py:(\d+) `([^`]+)`", doc)
    assert len(refs) >= 6, "docs/autograd.md section 13 quotes engine.py lines"
    for n, code in refs:
        assert code in lines[int(n) - 1], f"engine.py:{n} no longer reads {code!r}"


class _MyReLU(tn.autograd.Function):
    """PyTorch's tutorial MyReLU: forward on Tensors with Tensor methods, needs_input_grad.
    y = x.clamp(min=0);  dx = grad * (x >= 0)
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        grad_input = None
        if ctx.needs_input_grad[0]:
            grad_input = grad.clone()
            grad_input[x < 0] = 0
        return grad_input


def test_user_function_forward_gets_tensors_as_in_torch(torch):
    seen = []

    class Spy(tn.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            seen.append((type(x), x.requires_grad, tn.is_grad_enabled(), ctx.needs_input_grad))
            y = x * k
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, grad):
            x, y = ctx.saved_tensors
            return grad * y / x, None

    x = _t([1.0, 2.0])
    Spy.apply(x, 3.0).sum().backward()
    assert seen[0] == (tn.Tensor, False, False, (True, False))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    with tn.no_grad():
        Spy.apply(x, 3.0)
    assert seen[1][3] == (False, False)  # torch: one False per input when nothing records

    xa = np.array([-1.5, 0.5, 2.0, -0.25])
    x = _t(xa)
    y = _MyReLU.apply(x)
    (y * tn.tensor([1.0, 2.0, 3.0, 4.0], dtype=tn.float64)).sum().backward()
    xt = torch.tensor(xa, requires_grad=True)
    (xt.clamp(min=0) * torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), xt.clamp(min=0).detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())
    assert tn.autograd.gradcheck(_MyReLU.apply, (_t([0.3, -0.7, 1.1]),))


def test_user_function_may_opt_into_arrays():
    class OnArrays(tn.autograd.Function):
        forward_on_arrays = True

        @staticmethod
        def forward(ctx, x):
            assert isinstance(x, np.ndarray)
            return np.maximum(x, 0)

        @staticmethod
        def backward(ctx, grad):
            return grad

    assert isinstance(OnArrays.apply(_t([1.0, -1.0])), tn.Tensor)


def test_inference_mode_records_nothing_like_torch(torch):
    x = _t([1.0, 2.0])
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    with tn.inference_mode(), torch.inference_mode():
        assert tn.is_inference_mode_enabled() == torch.is_inference_mode_enabled() is True
        assert tn.is_grad_enabled() == torch.is_grad_enabled() is False
        y, yt = x * 2, xt * 2
    assert y.requires_grad == yt.requires_grad is False
    assert tn.is_inference_mode_enabled() == torch.is_inference_mode_enabled() is False
    assert tn.is_grad_enabled() == torch.is_grad_enabled() is True
    with tn.inference_mode(False):
        assert (x * 2).requires_grad

    @tn.inference_mode()
    def called():
        return (x * 2).requires_grad, tn.is_inference_mode_enabled()

    @tn.inference_mode
    def bare():
        return (x * 2).requires_grad

    assert called() == (False, True) and bare() is False and tn.is_grad_enabled()
    assert tn.autograd.inference_mode is tn.inference_mode


# ----- the per-op cost: few objects per node, untracked arithmetic ------------------------------


def test_a_recorded_op_keeps_few_gc_tracked_objects():
    """A long graph is walked by Python's cyclic GC: each node keeps about three tracked
    objects alive (the Node, its output Tensor, its `next` tuple), not a list and a pair per
    saved input as before (4.35 per op then)."""
    x, c = tn.randn(4, requires_grad=True), tn.full((4,), 0.5)

    def chain(n):
        y = x
        for _ in range(n):
            y = tn.tanh(y * c + x)
        return y

    chain(3)
    gc.collect()
    before = len(gc.get_objects())
    y = chain(300)
    gc.collect()
    per_op = (len(gc.get_objects()) - before) / 900
    assert per_op <= 3.5, per_op
    y.sum().backward()  # the slimmer node still replays: d/dx of the chain is finite
    assert np.isfinite(x.grad.numpy()).all()


def test_node_saved_inputs_and_versions_line_up():
    x = _t([1.0, 2.0])
    y = x * x.exp()
    node = y.grad_fn
    assert node.saved[0] is x and node.versions[0] == 0
    assert node.input_shapes == ((2,), (2,))
    y.sum().backward()
    assert node.saved is None  # released


_BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder", "fmod", "atan2"]


@pytest.mark.parametrize("op", _BINARY)
@pytest.mark.parametrize("dtype", [tn.float32, tn.float64, tn.int64])
def test_untracked_binary_ops_equal_the_recorded_path(device, op, dtype, monkeypatch):
    """With nothing to record (no_grad, a backward without create_graph, constants), a binary
    op runs its Function's forward straight on the arrays: same values, dtype and device as
    Function.apply gives, for equal shapes, broadcasting, 0-d tensors and Python numbers."""
    from tinynet.ops import elementwise

    fn = getattr(tn, op)
    g = np.random.default_rng(0)
    cases = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), ()), ((3,), ())]
    pairs = [
        (tn.tensor(g.uniform(1, 3, sa), dtype=dtype, device=device),
         tn.tensor(g.uniform(1, 3, sb), dtype=dtype, device=device))
        for sa, sb in cases
    ]  # fmt: skip
    pairs += [(pairs[0][0], 2), (pairs[0][0], 0.5), (3, pairs[0][0])]
    if op in ("remainder", "fmod"):
        pairs = pairs[:-1]  # these take a tensor first
    if op == "atan2":
        pairs = pairs[:-3]  # and this one two tensors, as torch
    got = [(fn(a, b), _no_grad(fn, a, b)) for a, b in pairs]
    monkeypatch.setattr(elementwise, "apply_untracked", lambda *args: None)
    for (a, b), outs in zip(pairs, got):
        want = fn(a, b)  # every call through Function.apply
        for out in outs:
            assert out.grad_fn is None and not out.requires_grad
            assert out.shape == want.shape and out.dtype == want.dtype
            assert out.device == want.device and type(out.data) is type(want.data)
            np.testing.assert_array_equal(out.numpy(), want.numpy())


def _no_grad(fn, *args):
    with tn.no_grad():
        return fn(*args)


def test_untracked_binary_ops_still_name_bad_shapes_and_devices():
    a, b = tn.ones(3), tn.ones(4)
    for ctx in (tn.no_grad(), tn.enable_grad()):
        with ctx:
            with pytest.raises(RuntimeError, match=r"\(3,\) and \(4,\) cannot be broadcast"):
                a * b
            with pytest.raises(RuntimeError, match=r"cpu:1 and cpu"):
                tn.ones(3, device="cpu:1") + a


def test_backward_without_create_graph_gives_the_same_gradients_as_with_it():
    """The backward's own ops take the untracked path only when create_graph is off; the
    gradients must not depend on it."""
    x = _t([0.3, -1.2, 2.0])
    y = (tn.tanh(x * x + 1) / (x + 3)).sum()
    (g1,) = tn.autograd.grad(y, x, retain_graph=True)
    (g2,) = tn.autograd.grad(y, x, create_graph=True)
    assert g2.requires_grad and not g1.requires_grad
    np.testing.assert_allclose(g1.numpy(), g2.detach().numpy(), rtol=1e-15)
