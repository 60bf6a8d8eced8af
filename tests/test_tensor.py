"""The Tensor API (API.md "Tensors"): factories, construction, conversion, dtypes and
promotion, attributes, repr, comparisons, in-place updates, methods, and indexing.

PyTorch is the reference wherever it defines the answer (the `torch` fixture); the
movement ops' gradients are also covered by the generic op test (tests/test_ops.py),
so this file checks what that one cannot: edge cases, errors and the surface around ops.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinynet as tn


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _same(t, ref, torch=None, atol=0.0):
    """t (tinynet) equals ref (a torch tensor or a NumPy array) in shape, dtype and values."""
    if torch is not None and isinstance(ref, torch.Tensor):
        assert t.dtype.name == str(ref.dtype).replace("torch.", ""), (t.dtype, ref.dtype)
        ref = ref.detach().numpy()
    else:
        assert t.dtype.np == ref.dtype, (t.dtype, ref.dtype)
    assert tuple(t.shape) == tuple(ref.shape), (t.shape, ref.shape)
    np.testing.assert_allclose(_np(t), ref, atol=atol, rtol=0)


@pytest.fixture
def default_float64():
    tn.set_default_dtype(tn.float64)
    try:
        yield
    finally:
        tn.set_default_dtype(tn.float32)


# ----- factories ------------------------------------------------------------------------------

SIZED = ["zeros", "ones", "empty", "rand", "randn"]


@pytest.mark.parametrize("name", SIZED)
def test_sized_factories_shape_dtype_device_grad(name, device):
    fn = getattr(tn, name)
    for t in (fn(2, 3, device=device), fn((2, 3), device=device), fn([2, 3], device=device)):
        assert t.shape == (2, 3) and t.dtype is tn.float32 and t.device == device
        assert not t.requires_grad and t.is_leaf and t.grad_fn is None
    t = fn(4, dtype=tn.float64, device=device, requires_grad=True)
    assert t.dtype is tn.float64 and t.requires_grad and t.is_leaf
    assert fn(dtype="float16", device=device).shape == ()  # no size: a 0-d tensor
    assert fn(0, 3, device=device).shape == (0, 3)


def test_factory_values_match_torch(torch):
    _same(tn.zeros(2, 3), torch.zeros(2, 3), torch)
    _same(tn.ones(3, dtype=tn.int64), torch.ones(3, dtype=torch.int64), torch)
    _same(tn.eye(3), torch.eye(3), torch)
    _same(tn.eye(2, 4), torch.eye(2, 4), torch)
    _same(tn.eye(3, dtype=tn.int32), torch.eye(3, dtype=torch.int32), torch)


@pytest.mark.parametrize("value", [3, 2.5, True, -1], ids=["int", "float", "bool", "negative int"])
def test_full_dtype_follows_value_as_torch(torch, value):
    _same(tn.full((2, 3), value), torch.full((2, 3), value), torch)
    _same(tn.full((2,), value, dtype=tn.float64), torch.full((2,), value, dtype=torch.float64),
          torch)  # fmt: skip
    _same(tn.full_like(tn.zeros(3, dtype=tn.int32), value),
          torch.full_like(torch.zeros(3, dtype=torch.int32), value), torch)  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [(5,), (1, 7, 2), (0, 1, 0.25), (5.0,), (-3, 3), (10, 0, -3), (0.5, 2.5)],
    ids=str,
)
def test_arange_matches_torch(torch, args):
    _same(tn.arange(*args), torch.arange(*args), torch)


def test_arange_dtype_argument(torch):
    _same(tn.arange(4, dtype=tn.float64), torch.arange(4, dtype=torch.float64), torch)
    _same(tn.arange(0, 3, dtype=tn.int32), torch.arange(0, 3, dtype=torch.int32), torch)


def test_rand_randn_ranges_and_seed(device):
    tn.manual_seed(3)
    u = tn.rand(4000, device=device)
    a = _np(u)
    assert a.min() >= 0.0 and a.max() < 1.0 and abs(a.mean() - 0.5) < 0.03
    n = _np(tn.randn(4000, device=device))
    assert abs(n.mean()) < 0.08 and abs(n.std() - 1.0) < 0.08
    tn.manual_seed(3)
    assert np.array_equal(_np(tn.rand(4000, device=device)), a)  # the seed replays the stream
    assert tn.rand(3, dtype=tn.float64).dtype is tn.float64


def test_randint_signatures(device):
    t = tn.randint(3, 7, (1000,), device=device)
    a = _np(t)
    assert t.dtype is tn.int64 and t.device == device and t.shape == (1000,)
    assert a.min() == 3 and a.max() == 6
    short = tn.randint(5, (2, 3))  # torch's randint(high, size)
    assert short.shape == (2, 3) and 0 <= _np(short).min() and _np(short).max() < 5
    assert tn.randint(0, 2, (3,), dtype=tn.int32).dtype is tn.int32
    assert tn.randint(0, 4, size=(2, 2)).shape == (2, 2)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "randn_like", "rand_like"])
def test_like_factories_keep_shape_dtype_device(name, device):
    src = tn.ones(2, 5, dtype=tn.float64, device=device)
    t = getattr(tn, name)(src)
    assert t.shape == (2, 5) and t.dtype is tn.float64 and t.device == device
    assert not t.requires_grad
    t = getattr(tn, name)(src, dtype=tn.float32, requires_grad=True)
    assert t.dtype is tn.float32 and t.requires_grad
    assert tn.zeros_like(tn.ones(3, dtype=tn.int32)).dtype is tn.int32


def test_factories_refuse_grad_for_integer_dtypes():
    with pytest.raises(RuntimeError, match="floating point"):
        tn.zeros(2, dtype=tn.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        tn.tensor([1, 2], requires_grad=True)


# ----- construction and conversion ---------------------------------------------------------

INFERENCE = [
    (1.0, "Python float"),
    (1, "Python int"),
    (True, "Python bool"),
    ([1, 2.5], "mixed list"),
    ([[1, 2], [3, 4]], "nested ints"),
    ([[True, False]], "bools"),
    (np.zeros(3, np.float64), "float64 array"),
    (np.zeros(3, np.float32), "float32 array"),
    (np.zeros(3, np.int32), "int32 array"),
    (np.zeros(3, np.float16), "float16 array"),
    (np.ones(2, bool), "bool array"),
    (np.float64(2.0), "NumPy float64 scalar"),
    (np.int32(7), "NumPy int32 scalar"),
]


@pytest.mark.parametrize("data", [d for d, _ in INFERENCE], ids=[i for _, i in INFERENCE])
def test_tensor_dtype_inference_matches_torch(torch, data):
    _same(tn.tensor(data), torch.tensor(data), torch)


def test_tensor_explicit_dtype_device_and_grad(torch, device):
    t = tn.tensor([1, 2], dtype=tn.float64, device=device, requires_grad=True)
    assert t.dtype is tn.float64 and t.device == device and t.requires_grad and t.is_leaf
    assert (
        tn.tensor([1.7, -1.7], dtype=tn.int64).tolist()
        == torch.tensor([1.7, -1.7], dtype=torch.int64).tolist()
    )
    assert tn.tensor(3.0, dtype="float16").dtype is tn.float16


def test_tensor_copies_its_data():
    a = np.zeros(3, np.float32)
    t = tn.tensor(a)
    a[0] = 5
    assert t.tolist() == [0.0, 0.0, 0.0]
    u = tn.tensor(t)
    t.data[1] = 7
    assert u.tolist() == [0.0, 0.0, 0.0]
    v = tn.tensor([tn.tensor(1.0), tn.tensor(2.0)])  # a list of 0-d tensors
    assert v.tolist() == [1.0, 2.0] and v.dtype is tn.float32


def test_from_numpy_shares_memory_both_ways():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = tn.from_numpy(a)
    assert t.dtype is tn.float32 and t.shape == (2, 3) and t.device == "cpu"
    a[0, 0] = 100
    assert t[0, 0].item() == 100
    with tn.no_grad():
        t += 1
    assert a[1, 2] == 6
    assert np.shares_memory(t.numpy(), a)
    assert tn.from_numpy(np.zeros(2, np.int32)).dtype is tn.int32
    with pytest.raises(TypeError, match="numpy.ndarray"):
        tn.from_numpy([1, 2])
    with pytest.raises(TypeError):
        tn.from_numpy(np.zeros(2, np.complex64))


def test_numpy_item_tolist(torch, device):
    ref = torch.tensor([[1.5, 2.0], [3.0, 4.0]])
    t = tn.tensor([[1.5, 2.0], [3.0, 4.0]], device=device)
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, ref.numpy())
    assert t.tolist() == ref.tolist()
    assert tn.tensor(3, device=device).tolist() == 3
    for value, expected_type in [(2.5, float), (7, int), (True, bool)]:
        item = tn.tensor([value], device=device).item()
        assert item == value and type(item) is expected_type
    assert t[1, 0].item() == 3.0
    with pytest.raises(ValueError, match=r"one element.*\(2, 2\)"):
        t.item()
    with pytest.raises(RuntimeError, match="detach"):
        tn.ones(2, requires_grad=True).numpy()
    assert tn.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]


def test_numpy_shares_memory_on_cpu():
    t = tn.zeros(3)
    t.numpy()[1] = 4
    assert t.tolist() == [0.0, 4.0, 0.0]


def test_scalar_conversions():
    assert float(tn.tensor([2.5])) == 2.5 and int(tn.tensor(3)) == 3
    assert bool(tn.tensor(1.0)) is True and bool(tn.tensor([0])) is False
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tn.ones(2))
    assert [10, 20, 30][tn.tensor(1)] == 20  # __index__
    with pytest.raises(TypeError):
        [10, 20][tn.tensor(1.0)]


def test_set_default_dtype(torch, default_float64):
    assert tn.get_default_dtype() is tn.float64
    assert tn.tensor(1.0).dtype is tn.float64
    assert tn.tensor([1, 2]).dtype is tn.int64
    for t in (tn.zeros(2), tn.rand(2), tn.randn(2), tn.arange(0.0, 2.0), tn.full((2,), 1.5)):
        assert t.dtype is tn.float64
    assert (tn.tensor([1, 2]) * 2.5).dtype is tn.float64  # int * float -> the default dtype
    assert (tn.ones(2, dtype=tn.float32) * 2.0).dtype is tn.float32  # a scalar never upcasts


def test_set_default_dtype_rejects_non_floats():
    with pytest.raises(TypeError, match="floating"):
        tn.set_default_dtype(tn.int64)
    assert tn.get_default_dtype() is tn.float32


# ----- type promotion -----------------------------------------------------------------------

# (left, right): a dtype name with "0" for a 0-d tensor, or a Python scalar.
PROMOTION = [
    (("float32", 1), 2.0),  # a float tensor * a Python float stays float32
    (("int64", 1), 2.5),  # an int tensor * a Python float gives float32
    (("int32", 1), 2),  # a Python int keeps the tensor's int dtype
    (("float16", 1), ("float64", 0)),  # a 0-d tensor does not widen a dimensioned one
    (("int32", 1), ("int64", 1)),  # int32 + int64 -> int64
    (("int64", 1), ("float32", 1)),  # int + float tensor -> float
    (("int64", 1), ("float16", 0)),  # ... even when the float is 0-d and narrower
    (("float32", 1), ("float64", 1)),
    (("float16", 1), ("float32", 1)),
    (("bool", 1), 1),
    (("bool", 1), ("int32", 1)),
    (("bool", 1), 1.5),
    (("int32", 0), ("int64", 0)),
    (("float32", 0), ("float64", 0)),
    (("int32", 0), 2.5),
    (2.5, ("int32", 1)),
]


def _make_operand(spec, lib):
    if not isinstance(spec, tuple):
        return spec
    name, ndim = spec
    shape = (3,) if ndim else ()
    if lib is tn:
        return tn.ones(shape, dtype=getattr(tn, "bool" if name == "bool" else name))
    return lib.ones(shape, dtype=getattr(lib, name))


@pytest.mark.parametrize(("a", "b"), PROMOTION, ids=[f"{a}-{b}" for a, b in PROMOTION])
@pytest.mark.parametrize("op", ["add", "mul", "sub", "div"])
def test_type_promotion_matches_torch(torch, a, b, op):
    import operator

    fn = {"add": operator.add, "mul": operator.mul, "sub": operator.sub,
          "div": operator.truediv}[op]  # fmt: skip
    if op == "sub" and "bool" in (str(a) + str(b)):  # torch refuses bool - bool; so do we
        with pytest.raises(RuntimeError):
            fn(_make_operand(a, torch), _make_operand(b, torch))
        with pytest.raises(TypeError, match="subtract"):
            fn(_make_operand(a, tn), _make_operand(b, tn))
        return
    want = fn(_make_operand(a, torch), _make_operand(b, torch))
    got = fn(_make_operand(a, tn), _make_operand(b, tn))
    _same(got, want, torch)


def test_promotion_keeps_gradient_dtypes(torch):
    x = tn.ones(3, dtype=tn.float16, requires_grad=True)
    y = tn.ones(3, dtype=tn.float64, requires_grad=True)
    z = x * y
    assert z.dtype is tn.float64
    z.sum().backward()
    assert x.grad.dtype is tn.float16 and y.grad.dtype is tn.float64


# ----- attributes and repr ----------------------------------------------------------------


def test_attributes_match_torch(torch):
    ref = torch.zeros(2, 3, 4)
    t = tn.zeros(2, 3, 4)
    assert t.shape == tuple(ref.shape) and t.ndim == ref.ndim == t.dim()
    assert len(t) == len(ref) == 2 and t.numel() == ref.numel()
    assert t.size() == tuple(ref.size()) and t.size(1) == ref.size(1) == 3
    assert t.T.shape == tuple(ref.permute(2, 1, 0).shape)
    assert tn.ones(2, 3).T.shape == (3, 2) and tn.ones(5).T.shape == (5,)
    assert t.dtype is tn.float32 and t.device == tn.device("cpu") and str(t.device) == "cpu"
    assert t.is_leaf and t.grad_fn is None and t.grad is None and not t.requires_grad
    with pytest.raises(TypeError, match="0-d"):
        len(tn.tensor(1.0))


def test_graph_attributes():
    x = tn.ones(2, requires_grad=True)
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    assert y.grad_fn.name == "Mul"
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    with tn.no_grad():
        z = x * 2
    assert not z.requires_grad and z.grad_fn is None and z.is_leaf


def test_repr():
    assert repr(tn.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(tn.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tn.tensor(3.5)) == "tensor(3.5)"
    assert "requires_grad=True" in repr(tn.ones(2, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(tn.ones(2, requires_grad=True) * 2)
    assert "dtype=tinynet.float64" in repr(tn.ones(2, dtype=tn.float64))
    assert "dtype=tinynet.int32" in repr(tn.ones(2, dtype=tn.int32))
    assert "dtype" not in repr(tn.ones(2, dtype=tn.bool))
    big = repr(tn.zeros(1000))
    assert "..." in big and len(big) < 400  # summarised, as torch
    assert "fakecuda" in repr(tn.ones(2, device="fakecuda"))


# ----- comparisons ------------------------------------------------------------------------

CMP = ["eq", "ne", "lt", "le", "gt", "ge"]


@pytest.mark.parametrize("op", CMP)
def test_comparisons_give_bool_tensors_without_grad(torch, op):
    import operator

    fn = getattr(operator, op)
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], np.float32)
    b = np.array([2.0, 2.0, 2.0], np.float32)
    x = tn.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    for got, want in [
        (fn(x, tn.tensor(b)), fn(xt, torch.tensor(b))),  # broadcasting
        (fn(x, 2.0), fn(xt, 2.0)),
        (fn(2, x), fn(2, xt)),  # reflected
        (fn(tn.tensor([1, 2, 3]), 2.5), fn(torch.tensor([1, 2, 3]), 2.5)),  # int vs float
    ]:
        _same(got, want, torch)
        assert not got.requires_grad and got.grad_fn is None


def test_logical_ops(torch):
    a, b = tn.tensor([True, True, False]), tn.tensor([True, False, False])
    at, bt = torch.tensor([True, True, False]), torch.tensor([True, False, False])
    _same(a & b, at & bt, torch)
    _same(a | b, at | bt, torch)
    _same(~a, ~at, torch)


# ----- in-place updates -------------------------------------------------------------------


def test_inplace_arithmetic_matches_torch(torch, device):
    t = tn.tensor([1.0, 2.0, 3.0], device=device)
    ref = torch.tensor([1.0, 2.0, 3.0])
    for op, v in [("__iadd__", 1.5), ("__isub__", 0.5), ("__imul__", 3.0), ("__itruediv__", 2.0)]:
        before = t._version
        out = getattr(t, op)(v)
        getattr(ref, op)(v)
        assert out is t and t._version == before + 1
    t += tn.tensor([1.0, 1.0, 1.0], device=device)
    ref += 1
    _same(t, ref, torch)
    ints = tn.tensor([1, 2, 3], device=device)
    ints *= 2
    ints += tn.tensor([1, 1, 1], dtype=tn.int32, device=device)
    assert ints.tolist() == [3, 5, 7] and ints.dtype is tn.int64


def test_inplace_on_tensor_requiring_grad_raises_clearly():
    x = tn.ones(3, requires_grad=True)
    for op in ("__iadd__", "__isub__", "__imul__", "__itruediv__"):
        with pytest.raises(RuntimeError, match=r"requires grad.*no_grad"):
            getattr(x, op)(1.0)
    assert x.tolist() == [1.0, 1.0, 1.0] and x._version == 0
    with pytest.raises(RuntimeError, match="view of a leaf Variable that requires grad"):
        x[0] = 5.0
    y = x * 2
    y += 1  # a non-leaf: allowed, rebased onto the Add node (tests/test_inplace.py)
    assert y.grad_fn.name == "Add"


def test_inplace_under_no_grad_as_an_optimizer_does():
    w = tn.ones(3, requires_grad=True)
    (w * w).sum().backward()
    with tn.no_grad():
        w -= 0.1 * w.grad
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    np.testing.assert_allclose(_np(w), [0.8, 0.8, 0.8], rtol=1e-6)


def test_inplace_refuses_unsafe_casts_and_shapes(torch):
    t = tn.ones(3, dtype=tn.int64)
    with pytest.raises(RuntimeError, match="int64"):
        t /= 2  # torch raises too: the float result cannot go back into an int tensor
    with pytest.raises(RuntimeError):
        torch.ones(3, dtype=torch.int64).__itruediv__(2)
    with pytest.raises(RuntimeError, match="can't be cast"):
        t *= 2.5
    assert t.tolist() == [1, 1, 1]
    f = tn.ones(3)
    f += tn.ones(3, dtype=tn.float64)  # same kind: allowed, stays float32
    assert f.dtype is tn.float32 and f.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match=r"\(3,\).*broadcast shape \(2, 3\)"):
        f += tn.ones(2, 3)


def test_inplace_after_save_is_caught_at_backward():
    a = tn.ones(3, requires_grad=True)
    b = tn.ones(3)
    y = (a * b).sum()
    b += 1  # b was saved by the multiplication
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_setitem_without_grad(torch):
    t = tn.zeros(2, 3, 4)
    ref = torch.zeros(2, 3, 4)
    t[0, :, [0, 1]] = tn.ones(3, 2)  # torch semantics: the int selects first
    ref[0, :, [0, 1]] = torch.ones(3, 2)
    t[1, tn.tensor([True, False, True])] = 5.0
    ref[1, torch.tensor([True, False, True])] = 5.0
    t[..., -1] = tn.arange(3.0)
    ref[..., -1] = torch.arange(3.0)
    _same(t, ref, torch)
    assert t._version == 3
    with pytest.raises(IndexError):
        t[5] = 1.0


# ----- methods ------------------------------------------------------------------------------

CONVERSIONS = ["float", "double", "half", "long", "int", "bool"]


@pytest.mark.parametrize("method", CONVERSIONS)
def test_conversion_methods_match_torch(torch, method):
    data = [[0.0, 1.5], [-2.7, 3.0]]
    _same(getattr(tn.tensor(data), method)(), getattr(torch.tensor(data), method)(), torch)
    _same(getattr(tn.tensor([1, 0, 3]), method)(), getattr(torch.tensor([1, 0, 3]), method)(),
          torch)  # fmt: skip


def test_to(torch, device):
    t = tn.tensor([1.0, 2.0])
    assert t.to(tn.float64).dtype is tn.float64
    assert t.to("cpu") is t and t.cpu() is t and t.float() is t  # no-op conversions
    u = t.to(device)
    assert u.device == device and u.tolist() == [1.0, 2.0]
    v = t.to(device, tn.float64)
    assert v.device == device and v.dtype is tn.float64
    w = t.to(tn.ones(1, dtype=tn.int64, device=device))
    assert w.device == device and w.dtype is tn.int64
    assert t.to(tn.float32, copy=True) is not t


def test_conversions_are_differentiable_between_floats(torch):
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.requires_grad and y.dtype is tn.float64
    (y * y).sum().backward()
    assert x.grad.dtype is tn.float32 and x.grad.tolist() == [2.0, 4.0]
    n = x.long()
    assert n.dtype is tn.int64 and not n.requires_grad


def test_methods_are_the_functions():
    x = tn.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert tn.cat([x, x], 1).shape == (2, 4) and tn.stack([x, x]).shape == (2, 2, 2)
    assert x.gather(1, tn.tensor([[1], [0]])).tolist() == [[-2.0], [3.0]]
    assert [p.shape for p in tn.split(x, 1, 1)] == [(2, 1), (2, 1)]
    assert [p.shape for p in tn.chunk(x, 2)] == [(1, 2), (1, 2)]
    assert tn.pad(x, (1, 1)).shape == (2, 4)
    assert tn.getitem(x, (0, 1)).item() == -2.0


# ----- indexing -----------------------------------------------------------------------------

_SHAPE = (3, 4, 5)

# (tinynet index, the same index for torch; None: identical). Each case is checked forward
# and backward against torch.
INDEXES = [
    (0, None),
    (-1, None),
    ((1, 2, 3), None),
    ((slice(None), 1), None),
    ((slice(1, None), slice(None, None, 2)), None),
    ((Ellipsis, 0), None),
    ((None, 0, Ellipsis, None), None),
    ((slice(10, 20),), None),  # out-of-range slices are empty, not errors
    ([0, 0, 2], None),  # repeated: the gradient adds up
    ([], None),
    (([0, 2], slice(None), [1, 1]), None),  # separated: the index dims go first
    ((slice(None), [0, 0, 3], [4, 4, 4]), None),
    ((1, slice(None), [0, 2, 2]), None),  # torch: the int selects before the list
    ((0, [1, 2], [3, 0]), None),
    ((slice(None), np.array([[0, 1], [1, 3]])), None),
    ((Ellipsis, np.array([True, False, True, False, True])), None),
    ((np.array([True, False, True]), 1), None),
    ((np.ones((3, 4), bool),), None),
    ((np.zeros(3, bool),), None),  # an all-False mask: an empty result
]


def _torch_index(torch, idx):
    return (
        tuple(torch.tensor(p) if isinstance(p, np.ndarray) else p for p in idx)
        if (isinstance(idx, tuple))
        else (torch.tensor(idx) if isinstance(idx, np.ndarray) else idx)
    )


@pytest.mark.parametrize(("idx", "tidx"), INDEXES, ids=[repr(i)[:40] for i, _ in INDEXES])
def test_getitem_matches_torch_forward_and_backward(torch, idx, tidx):
    a = np.random.default_rng(0).standard_normal(_SHAPE)
    x = tn.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    y = x[idx]
    yt = xt[_torch_index(torch, idx if tidx is None else tidx)]
    _same(y, yt, torch)
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    y.backward(tn.tensor(g))
    yt.backward(torch.tensor(g))
    _same(x.grad, xt.grad, torch, atol=1e-12)


def test_getitem_with_tensor_indices(torch, device):
    a = np.arange(20.0).reshape(4, 5)
    x = tn.tensor(a, device=device, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    i = [3, 0, 3, -1]
    m = [True, False, True, True, False]
    cases = [
        (tn.tensor(i, device=device), torch.tensor(i)),
        (tn.tensor(i, dtype=tn.int32, device=device), torch.tensor(i, dtype=torch.int32)),
        ((tn.tensor(2, device=device), slice(None), ), (torch.tensor(2), slice(None))),
        ((slice(None), tn.tensor(m, device=device)), (slice(None), torch.tensor(m))),
        ((tn.tensor([[0], [2]], device=device), tn.tensor([1, 4], device=device)),
         (torch.tensor([[0], [2]]), torch.tensor([1, 4]))),
    ]  # fmt: skip
    for idx, tidx in cases:
        y, yt = x[idx], xt[tidx]
        assert y.device == device
        _same(y, yt, torch)
        y.sum().backward()
        yt.sum().backward()
        _same(x.grad, xt.grad, torch)


def test_negative_steps_follow_numpy():
    # torch has no negative slice steps; NumPy is the reference
    a = np.arange(24.0).reshape(4, 6)
    x = tn.tensor(a, requires_grad=True)
    for idx in [(slice(None, None, -1),), (slice(3, 0, -2), slice(None, None, -3)),
                (1, slice(-1, -7, -1)), (slice(None, None, -1), [0, 0, 5])]:  # fmt: skip
        x.grad = None
        y = x[idx]
        np.testing.assert_array_equal(_np(y), a[idx])
        y.backward(tn.ones(y.shape, dtype=tn.float64))
        want = np.zeros_like(a)
        np.add.at(want, idx, 1.0)
        np.testing.assert_array_equal(_np(x.grad), want)


def test_repeated_indices_accumulate_gradient(torch):
    x = tn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 1]].sum().backward()
    assert x.grad.tolist() == [2.0, 1.0, 0.0]
    x.grad = None
    (x[tn.tensor([[2, 2], [2, 0]])] * tn.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad.tolist() == [4.0, 0.0, 6.0]


def test_getitem_double_backward_matches_torch(torch):
    a = np.array([0.5, -1.0, 2.0, 1.5])
    idx = [0, 0, 2, 3, 3, 3]
    x = tn.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    (g,) = tn.autograd.grad((x[idx] ** 3).sum(), [x], create_graph=True)
    (gt,) = torch.autograd.grad((xt[idx] ** 3).sum(), [xt], create_graph=True)
    _same(g, gt, torch, atol=1e-12)
    assert g.requires_grad
    (g * tn.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    (gt * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    _same(x.grad, xt.grad, torch, atol=1e-12)
    m = [True, False, True, True]
    (h,) = tn.autograd.grad((x[tn.tensor(m)] ** 3).sum(), [x], create_graph=True)
    (ht,) = torch.autograd.grad((xt[torch.tensor(m)] ** 3).sum(), [xt], create_graph=True)
    _same(h, ht, torch, atol=1e-12)
    (hh,) = tn.autograd.grad(h.sum(), [x])
    (hht,) = torch.autograd.grad(ht.sum(), [xt])
    _same(hh, hht, torch, atol=1e-12)


def test_getitem_results_and_views():
    x = tn.arange(12.0).reshape(3, 4)
    assert x[1, 2].shape == () and x[1, 2].item() == 6.0
    assert x[None].shape == (1, 3, 4) and x[..., None].shape == (3, 4, 1)
    assert x[()].shape == (3, 4)
    assert tn.tensor(5.0)[()].item() == 5.0 and tn.tensor(5.0)[None].shape == (1,)
    assert x[True].shape == (1, 3, 4) and x[False].shape == (0, 3, 4)
    y = x[0]  # basic indexing gives a view, as in torch
    y += 100
    assert x[0, 0].item() == 100.0
    z = x[[0]]  # advanced indexing copies
    z += 1
    assert x[0, 0].item() == 100.0


# torch accepts these three, NumPy refuses them: two ellipses, floats truncated to ints
# (a silent wrong answer), and a list of slices (deprecated in torch).
TORCH_LAX = 3
GETITEM_ERRORS = [
    (5, IndexError, r"index 5 is out of bounds for dim 0 with size 3.*\(3, 4\)"),
    ((0, -5), IndexError, r"index -5 is out of bounds for dim 1 with size 4"),
    ((slice(None), [0, 4]), IndexError, r"index 4 is out of bounds for dim 1 with size 4"),
    (([[0, 3]],), IndexError, r"index 3 is out of bounds for dim 0"),
    ((0, 0, 0), IndexError, r"too many indices.*3 dims.*\(3, 4\)"),
    (np.array([True, False]), IndexError, r"mask of shape \(2,\).*\(3,\)"),
    ((slice(None), np.ones((4, 1), bool)), IndexError, r"mask of shape \(4, 1\)"),
    (1.5, IndexError, "got float"),
    ("a", IndexError, "got str"),
    ((Ellipsis, 0, Ellipsis), IndexError, "one ellipsis"),
    (([0.5, 1.5],), IndexError, "integers or bools"),
    ([0, slice(None)], IndexError, "index array"),
]


@pytest.mark.parametrize("k", range(len(GETITEM_ERRORS)),
                         ids=[repr(e[0])[:30] for e in GETITEM_ERRORS])  # fmt: skip
def test_getitem_errors_name_index_and_shape(torch, k):
    idx, exc, match = GETITEM_ERRORS[k]
    with pytest.raises(exc, match=match):
        tn.zeros(3, 4)[idx]
    if k < len(GETITEM_ERRORS) - TORCH_LAX:
        with pytest.raises((IndexError, ValueError, TypeError)), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about the str as a sequence index
            torch.zeros(3, 4)[_torch_index(torch, idx)]  # torch refuses them too


def test_getitem_tensor_index_errors(device):
    x = tn.zeros(3, 4, device=device)
    with pytest.raises(IndexError, match="float32"):
        x[tn.tensor([0.0, 1.0], device=device)]
    other = "cpu" if device.type != "cpu" else "fakecuda"
    with pytest.raises(RuntimeError, match=rf"{other}.*{device.type}"):
        x[tn.tensor([0, 1], device=other)]


def test_getitem_of_list_and_numpy_on_device(device):
    x = tn.arange(6.0, device=device).reshape(2, 3)
    assert x[[1, 0]].device == device and x[[1, 0]].tolist() == [[3, 4, 5], [0, 1, 2]]
    assert x[:, np.array([2, 2])].tolist() == [[2, 2], [5, 5]]
    assert x[np.array([False, True])].tolist() == [[3, 4, 5]]


# ----- joining, padding, gathering ------------------------------------------------------------


def test_cat_stack_promote_dtypes_as_torch(torch):
    pairs = [(tn.int64, torch.int64, tn.float32, torch.float32),
             (tn.int32, torch.int32, tn.int64, torch.int64),
             (tn.float16, torch.float16, tn.float64, torch.float64),
             (tn.bool, torch.bool, tn.int32, torch.int32)]  # fmt: skip
    for da, ta, db, tb in pairs:
        a, b = tn.ones(2, dtype=da), tn.zeros(2, dtype=db)
        at, bt = torch.ones(2, dtype=ta), torch.zeros(2, dtype=tb)
        _same(tn.cat([a, b]), torch.cat([at, bt]), torch)
        _same(tn.stack([a, b], 1), torch.stack([at, bt], 1), torch)


def test_cat_gradient_reaches_each_input(torch):
    a = tn.ones(2, 3, requires_grad=True)
    b = tn.ones(2, 1)  # needs no grad
    c = tn.ones(2, 2, requires_grad=True)
    y = tn.cat((a, b, c), dim=-1)
    assert y.shape == (2, 6)
    (y * tn.arange(6.0)).sum().backward()
    assert a.grad.tolist() == [[0.0, 1.0, 2.0]] * 2 and c.grad.tolist() == [[4.0, 5.0]] * 2
    assert b.grad is None
    assert tn.cat([tn.ones(2), tn.tensor([])]).shape == (2,)  # torch's legacy empty 1-d
    assert tn.cat([tn.ones(2, 2), tn.zeros(0)]).shape == (2, 2)
    assert tn.stack([tn.tensor(1.0), tn.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_cat_stack_errors_name_shapes():
    with pytest.raises(RuntimeError, match=r"cat: .*dim 0.*\(2, 3\).*\(2, 4\) \(position 1\)"):
        tn.cat([tn.zeros(2, 3), tn.zeros(2, 4)])
    with pytest.raises(RuntimeError, match=r"cat: .*same number of dims.*\(2, 3\).*\(3,\)"):
        tn.cat([tn.zeros(2, 3), tn.zeros(3)])
    with pytest.raises(RuntimeError, match="0-d"):
        tn.cat([tn.tensor(1.0), tn.tensor(2.0)])
    with pytest.raises(RuntimeError, match="non-empty"):
        tn.cat([])
    with pytest.raises(TypeError, match="single Tensor"):
        tn.cat(tn.zeros(3))
    with pytest.raises(TypeError, match="position 1"):
        tn.cat([tn.zeros(3), [1.0]])
    with pytest.raises(IndexError, match="dim 2"):
        tn.cat([tn.zeros(3, 2)], dim=2)
    with pytest.raises(RuntimeError, match=r"stack: .*\(2, 3\) at position 0.*\(3, 2\)"):
        tn.stack([tn.zeros(2, 3), tn.zeros(3, 2)])
    with pytest.raises(RuntimeError, match="non-empty"):
        tn.stack([])
    with pytest.raises(RuntimeError, match=r"cat: .*cpu.*fakecuda"):
        tn.cat([tn.zeros(2), tn.zeros(2, device="fakecuda")])


def test_pad_cases_and_errors(torch):
    F = torch.nn.functional
    x = tn.arange(10.0).reshape(2, 5)
    xt = torch.arange(10.0).reshape(2, 5)
    _same(tn.pad(x, (1, 2)), F.pad(xt, (1, 2)), torch)
    _same(tn.pad(x, (0, 0, 1, 0), value=-1.0), F.pad(xt, (0, 0, 1, 0), value=-1.0), torch)
    _same(tn.pad(x, (-2, 1)), F.pad(xt, (-2, 1)), torch)
    assert tn.pad(x, (0, 0)) is x
    xi = tn.tensor([[1, 2]])
    _same(tn.pad(xi, (1, 1), value=7), F.pad(torch.tensor([[1, 2]]), (1, 1), value=7), torch)
    for mode in ("reflect", "replicate", "circular"):
        _same(tn.pad(x[None], (2, 2), mode=mode), F.pad(xt[None], (2, 2), mode=mode), torch)
    with pytest.raises(RuntimeError, match="pairs"):
        tn.pad(x, (1,))
    with pytest.raises(RuntimeError, match=r"pads 3 dims.*\(2, 5\)"):
        tn.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(RuntimeError, match="negative size"):
        tn.pad(x, (-3, -3))
    with pytest.raises(RuntimeError, match="smaller than dim 1 of size 5"):
        tn.pad(x, (5, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="takes no value"):
        tn.pad(x, (1, 1), mode="reflect", value=2.0)
    with pytest.raises(ValueError, match="mode"):
        tn.pad(x, (1, 1), mode="bogus")


def test_gather_split_chunk(torch):
    a = np.arange(12.0).reshape(3, 4)
    x = tn.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    i = [[0, 0], [3, 1], [2, 2]]
    y, yt = x.gather(1, tn.tensor(i)), xt.gather(1, torch.tensor(i))
    _same(y, yt, torch)
    y.sum().backward()
    yt.sum().backward()
    _same(x.grad, xt.grad, torch)
    with pytest.raises(RuntimeError, match=r"index 4 is out of bounds.*\(3, 4\)"):
        x.gather(1, tn.tensor([[4]]))
    with pytest.raises(RuntimeError, match="as many dims"):
        x.gather(0, tn.tensor([0]))
    with pytest.raises(RuntimeError, match="int64"):
        x.gather(0, tn.tensor([[0.0]]))
    for got, want in [(tn.split(x, 3, 1), torch.split(xt, 3, 1)),
                      (tn.split(x, [1, 2]), torch.split(xt, [1, 2])),
                      (tn.chunk(x, 2), torch.chunk(xt, 2)),
                      (tn.chunk(x, 3, 1), torch.chunk(xt, 3, 1)),
                      (tn.chunk(tn.zeros(0), 3), torch.chunk(torch.zeros(0), 3))]:  # fmt: skip
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w, torch)
    with pytest.raises(RuntimeError, match=r"add up to 3.*\(3, 4\)"):
        tn.split(x, [1, 1])
    with pytest.raises(RuntimeError, match="positive"):
        tn.chunk(x, 0)


# ----- bad input ------------------------------------------------------------------------------


def test_shape_mismatch_errors_name_op_and_both_shapes():
    with pytest.raises(RuntimeError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        tn.ones(2, 3) + tn.ones(4)
    with pytest.raises(RuntimeError, match=r"mul: shapes \(2, 3\) and \(3, 2\)"):
        tn.ones(2, 3) * tn.ones(3, 2)
    with pytest.raises(RuntimeError, match=r"matmul: .*\(2, 3\).*\(4, 2\)"):
        tn.ones(2, 3) @ tn.ones(4, 2)
    with pytest.raises(RuntimeError, match=r"reshape: .*\(5,\).*\(2, 3\)"):
        tn.ones(2, 3).reshape(5)


def test_ops_across_devices_name_both():
    with pytest.raises(RuntimeError, match=r"cpu.*fakecuda"):
        tn.ones(2) + tn.ones(2, device="fakecuda")
