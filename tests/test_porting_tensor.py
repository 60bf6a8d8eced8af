"""A PyTorch user's tensor vocabulary: dtype aliases, conversions, promotion, Tensor methods,
factories with generator=, and the small utilities (issue 9), each compared with torch."""

from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn


def _t(torch, x):
    return torch.from_numpy(np.ascontiguousarray(x.detach().numpy()))


# ----- dtypes ---------------------------------------------------------------------------------

ALIASES = [("float", "float32"), ("double", "float64"), ("half", "float16"), ("long", "int64"),
           ("int", "int32"), ("short", "int16")]  # fmt: skip


@pytest.mark.parametrize("alias,name", ALIASES)
def test_dtype_aliases_are_the_same_objects(alias, name):
    assert getattr(tn, alias) is getattr(tn, name)


def test_every_torch_dtype_name_exists(torch):
    for name in ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
                 "float64", "float", "double", "half", "long", "int", "short"):  # fmt: skip
        assert str(getattr(tn, name)).split(".")[1] == str(getattr(torch, name)).split(".")[1]


@pytest.mark.parametrize("np_dtype", [np.uint8, np.int8, np.int16, np.int32, np.int64, np.bool_])
def test_integer_arrays_keep_their_dtype(np_dtype):
    a = np.arange(6).reshape(2, 3).astype(np_dtype)
    for t in (tn.from_numpy(a), tn.tensor(a)):
        assert t.dtype.name == np.dtype(np_dtype).name
        np.testing.assert_array_equal(t.numpy(), a)


def _combos():
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
    return [(a, b) for a in names for b in names]


@pytest.mark.parametrize("a,b", _combos())
def test_tensor_tensor_promotion_matches_torch(torch, a, b):
    x, y = tn.ones(2, dtype=getattr(tn, a)), tn.ones(2, dtype=getattr(tn, b))
    tx, ty = torch.ones(2, dtype=getattr(torch, a)), torch.ones(2, dtype=getattr(torch, b))
    if a == "bool" and b == "bool":
        return  # torch adds bools as logical or; not a promotion question
    assert str((x + y).dtype).split(".")[1] == str((tx + ty).dtype).split(".")[1]
    assert str((x * y).dtype).split(".")[1] == str((tx * ty).dtype).split(".")[1]


@pytest.mark.parametrize("name", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16"])
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_scalar_promotion_matches_torch(torch, name, scalar):
    x, tx = tn.ones(3, dtype=getattr(tn, name)), torch.ones(3, dtype=getattr(torch, name))
    for op in (lambda a: a * scalar, lambda a: a / 255, lambda a: a.sum()):
        assert str(op(x).dtype).split(".")[1] == str(op(tx).dtype).split(".")[1]


def test_uint8_image_to_float(torch):
    img = np.random.default_rng(0).integers(0, 256, (2, 1, 4, 4), dtype=np.uint8)
    x = tn.from_numpy(img).float() / 255
    assert x.dtype is tn.float32
    np.testing.assert_allclose(x.numpy(), (torch.from_numpy(img).float() / 255).numpy())


CONVERSIONS = ["float", "double", "half", "long", "int", "short", "byte", "char", "bool"]


@pytest.mark.parametrize("method", CONVERSIONS)
def test_conversion_methods_match_torch(torch, method):
    a = np.array([[0.0, 1.7, 3.2], [4.9, 0.5, 100.0]], dtype=np.float32)
    got, want = getattr(tn.tensor(a), method)(), getattr(torch.tensor(a), method)()
    assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_type_and_type_as():
    x = tn.zeros(2)
    assert x.type() == "tinynet.FloatTensor"
    assert x.type(tn.float64).dtype is tn.float64
    assert x.type("torch.LongTensor").dtype is tn.int64
    assert x.type_as(tn.zeros(1, dtype=tn.int16)).dtype is tn.int16


def test_dtype_info():
    assert tn.float.is_floating_point and not tn.long.is_floating_point
    assert tn.finfo(tn.float32).eps == np.finfo(np.float32).eps
    assert tn.finfo().bits == 32
    assert (tn.iinfo(tn.uint8).min, tn.iinfo(tn.uint8).max) == (0, 255)
    with pytest.raises(TypeError, match="iinfo"):
        tn.iinfo(tn.float32)


def test_small_utilities():
    x = tn.zeros(2, 3)
    assert tn.is_tensor(x) and not tn.is_tensor(x.numpy())
    assert tn.is_floating_point(x) and not tn.is_floating_point(x.long())
    assert tn.numel(x) == 6


# ----- Tensor methods ---------------------------------------------------------------------------

UNARY = ["sin", "cos", "tan", "atan", "square", "sigmoid", "tanh", "relu", "exp", "abs", "neg",
         "erf", "sign", "floor", "ceil", "round", "trunc", "frac", "isnan", "isinf", "isfinite",
         "nan_to_num", "expm1", "negative", "absolute", "fix", "sgn"]  # fmt: skip
POSITIVE = ["sqrt", "log", "log1p", "log2", "log10", "rsqrt", "reciprocal"]


@pytest.mark.parametrize("name", UNARY + POSITIVE)
def test_unary_methods_match_torch(torch, name):
    a = np.random.default_rng(1).standard_normal((3, 4)) * 2
    if name in POSITIVE:
        a = np.abs(a) + 0.1
    x = tn.tensor(a, dtype=tn.float64, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = getattr(x, name)(), getattr(tx, name)()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    if ty.dtype.is_floating_point:  # and the function form
        np.testing.assert_allclose(getattr(tn, name)(x).detach().numpy(), ty.detach().numpy())
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(force=True), rtol=1e-10,
                                   atol=1e-12)  # fmt: skip


BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt",
          "ge", "remainder", "floor_divide", "true_divide", "subtract", "multiply", "divide",
          "greater", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor",
          "isclose"]  # fmt: skip


TENSOR_ONLY = {"maximum", "minimum", "logical_and", "logical_or", "logical_xor", "isclose"}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("other", ["tensor", "scalar"])
def test_binary_methods_match_torch(torch, name, other):
    rng = np.random.default_rng(2)
    a = np.abs(rng.standard_normal((3, 4))) + 0.5
    b = np.abs(rng.standard_normal((1, 4))) + 0.5 if other == "tensor" else 1.5
    if name in ("eq", "ne", "isclose") and other == "tensor":
        b = np.where(rng.random((1, 4)) > 0.5, a[:1], b)
    tb = torch.tensor(b, dtype=torch.float64) if other == "tensor" or name in TENSOR_ONLY else b
    got = getattr(tn.tensor(a), name)(tn.tensor(b) if other == "tensor" else b)
    want = getattr(torch.tensor(a), name)(tb)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
@pytest.mark.parametrize("kind", ["int", "float"])
def test_div_rounding_mode(torch, mode, kind):
    a = np.array([7, -7, 5, -5, 0, 9])
    b = np.array([2, 2, -3, -3, 4, 9])
    if kind == "float":
        a, b = a + 0.5, b * 1.0
    got = tn.tensor(a).div(tn.tensor(b), rounding_mode=mode)
    want = torch.tensor(a).div(torch.tensor(b), rounding_mode=mode)
    np.testing.assert_allclose(got.numpy(), want.numpy())
    assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
    np.testing.assert_array_equal((tn.tensor(a) // 2).numpy(), (torch.tensor(a) // 2).numpy())
    np.testing.assert_allclose((tn.tensor(a) % 3).numpy(), (torch.tensor(a) % 3).numpy())


def test_add_sub_alpha_and_where_method(torch):
    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    x, tx = tn.tensor(a), torch.tensor(a)
    np.testing.assert_allclose(
        x.add(tn.tensor(b), alpha=2).numpy(), tx.add(torch.tensor(b), alpha=2).numpy()
    )
    np.testing.assert_allclose(x.sub(3, alpha=0.5).numpy(), tx.sub(3, alpha=0.5).numpy())
    np.testing.assert_allclose(x.where(x > 2, -1.0).numpy(), tx.where(tx > 2, -1.0).numpy())
    np.testing.assert_allclose(x.lerp(tn.tensor(b), 0.3).numpy(),
                               tx.lerp(torch.tensor(b), 0.3).numpy())  # fmt: skip
    np.testing.assert_allclose(x.clamp_min(2).numpy(), tx.clamp_min(2).numpy())
    lo, hi = [1.0, 2.0, 3.0], [4.0]
    np.testing.assert_allclose(x.clamp(tn.tensor(lo), tn.tensor(hi)).numpy(),
                               tx.clamp(torch.tensor(lo), torch.tensor(hi)).numpy())  # fmt: skip


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 1), False)])
@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any_return_tensors(torch, name, dim, keepdim):
    a = np.array([[1, 0, 2], [3, 4, 5]])
    x, tx = tn.tensor(a), torch.tensor(a)
    if dim is None:
        got, want = getattr(x, name)(), getattr(tx, name)()
    else:
        got, want = getattr(x, name)(dim, keepdim), getattr(tx, name)(dim, keepdim)
    assert isinstance(got, tn.Tensor) and got.dtype is tn.bool
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(getattr(tn, name)(x).numpy(), getattr(torch, name)(tx).numpy())


def test_matrix_methods_and_amax(torch):
    a = np.random.default_rng(3).standard_normal((3, 3))
    x, tx = tn.tensor(a), torch.tensor(a)
    for name in ("mm", "matmul"):
        np.testing.assert_allclose(getattr(x, name)(x).numpy(), getattr(tx, name)(tx).numpy())
    np.testing.assert_allclose(x[0].dot(x[1]).numpy(), tx[0].dot(tx[1]).numpy())
    np.testing.assert_allclose(x.mv(x[0]).numpy(), tx.mv(tx[0]).numpy())
    np.testing.assert_allclose(x.amax(1).numpy(), tx.amax(1).numpy())
    np.testing.assert_allclose(x.amin(0, True).numpy(), tx.amin(0, True).numpy())
    with pytest.raises(RuntimeError, match="mm"):
        x.mm(x[0])


def test_new_factories(torch):
    x, tx = tn.zeros(2, dtype=tn.float64), torch.zeros(2, dtype=torch.float64)
    for name, args in [("new_zeros", (2, 3)), ("new_ones", ((3,),)), ("new_full", ((2,), 7))]:
        got, want = getattr(x, name)(*args), getattr(tx, name)(*args)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype is tn.float64
    assert x.new_empty(4).shape == (4,)
    assert x.new_tensor([1, 2]).dtype is tn.float64
    assert x.new_zeros(2, dtype=tn.int8).dtype is tn.int8


def test_closeness(torch):
    a = np.array([1.0, 2.0, np.nan])
    b = a + np.array([1e-9, 1e-3, 0.0])
    for kw in ({}, {"equal_nan": True}, {"atol": 1e-2}):
        np.testing.assert_array_equal(
            tn.isclose(tn.tensor(a), tn.tensor(b), **kw).numpy(),
            torch.isclose(torch.tensor(a), torch.tensor(b), **kw),
        )
        assert tn.allclose(tn.tensor(a), tn.tensor(b), **kw) == torch.allclose(
            torch.tensor(a), torch.tensor(b), **kw)  # fmt: skip
    assert tn.equal(tn.tensor([1, 2]), tn.tensor([1, 2]))
    assert not tn.equal(tn.tensor([1, 2]), tn.tensor([1, 3]))
    assert not tn.tensor([1, 2]).equal(tn.tensor([[1, 2]]))


# ----- factories ----------------------------------------------------------------------------


def test_linspace_logspace_match_torch(torch):
    for args in [(0, 1, 5), (-2.5, 3, 7), (3, -1, 1), (0, 10, 0)]:
        np.testing.assert_allclose(tn.linspace(*args).numpy(), torch.linspace(*args).numpy(),
                                   rtol=1e-6)  # fmt: skip
        np.testing.assert_allclose(tn.logspace(*args).numpy(), torch.logspace(*args).numpy(),
                                   rtol=1e-5)  # fmt: skip
    got = tn.linspace(0, 1, 5, dtype=tn.int64)
    np.testing.assert_array_equal(got.numpy(), torch.linspace(0, 1, 5, dtype=torch.int64))


@pytest.mark.parametrize("n", [0, 1, 7, 100])
def test_randperm_is_a_permutation(n):
    p = tn.randperm(n)
    assert p.dtype is tn.int64
    assert sorted(p.tolist()) == list(range(n))


def _random_calls(g):
    return [
        lambda: tn.rand(3, generator=g),
        lambda: tn.randn(2, 2, generator=g),
        lambda: tn.randint(0, 10, (5,), generator=g),
        lambda: tn.randperm(6, generator=g),
        lambda: tn.normal(0.0, 1.0, (3,), generator=g),
        lambda: tn.normal(tn.zeros(3), tn.ones(3), generator=g),
        lambda: tn.rand_like(tn.zeros(2), generator=g),
        lambda: tn.randn_like(tn.zeros(2), generator=g),
        lambda: tn.randint_like(tn.zeros(2), 5, generator=g),
        lambda: tn.empty(4).uniform_(generator=g),
        lambda: tn.empty(4).normal_(generator=g),
    ]


@pytest.mark.parametrize("i", range(11))
def test_generator_keyword_gives_a_reproducible_stream(i):
    g = tn.Generator()
    g.manual_seed(5)
    first = _random_calls(g)[i]()
    tn.rand(10)  # the global stream does not disturb the user's generator
    g.manual_seed(5)
    again = _random_calls(g)[i]()
    np.testing.assert_array_equal(first.numpy(), again.numpy())


def test_normal_statistics_and_shapes():
    x = tn.normal(tn.full((20000,), 3.0), 2.0)
    assert abs(x.mean().item() - 3.0) < 0.1 and abs(x.std().item() - 2.0) < 0.1
    assert tn.normal(0.0, tn.ones(2, 3)).shape == (2, 3)


def test_seed_and_initial_seed():
    tn.manual_seed(123)
    assert tn.initial_seed() == 123
    s = tn.seed()
    assert tn.initial_seed() == s


def test_num_threads_round_trip():
    before = tn.get_num_threads()
    try:
        tn.set_num_threads(1)
        assert tn.get_num_threads() == 1
    finally:
        tn.set_num_threads(max(before, 1))
    with pytest.raises(ValueError, match="set_num_threads"):
        tn.set_num_threads(0)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_with_zeros_matches_torch(torch, dim):
    a = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.0, -2.0, 3.0]])
    x, tx = tn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = (x.prod(), tx.prod()) if dim is None else (x.prod(dim), tx.prod(dim))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    assert tn.prod(tn.tensor([1, 2, 3])).dtype is tn.int64


def test_functions_take_dot_data_as_torch_code_passes_it(torch):
    """torch's `.data` is a Tensor, so ported code calls `torch.max(outputs.data, 1)`,
    `torch.cat([a.data, b.data])`; tinynet's `.data` is the array, taken as a Tensor."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 4)).astype(np.float32)
    out = tn.tensor(a, requires_grad=True) * 2
    ref = torch.tensor(a) * 2
    _, predicted = tn.max(out.data, 1)
    _, predicted_t = torch.max(ref.data, 1)
    assert isinstance(predicted, tn.Tensor)
    np.testing.assert_array_equal(predicted.numpy(), predicted_t.numpy())
    both = tn.cat([out.data, out.data], 0)
    np.testing.assert_array_equal(both.numpy(), torch.cat([ref.data, ref.data], 0).numpy())
    np.testing.assert_allclose(
        tn.softmax(out.data, dim=1).numpy(), torch.softmax(ref.data, dim=1).numpy(), rtol=1e-6
    )
    assert not tn.sum(out.data).requires_grad
    assert tn.max.__name__ == "max" and "maximum" in tn.max.__doc__


def test_as_tensor_shares_or_converts_as_torch(torch):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t, ref = tn.as_tensor(a), torch.as_tensor(a)
    a[0, 0] = 7.0  # both share the array's memory
    assert t[0, 0].item() == ref[0, 0].item() == 7.0
    cases = [([1, 2], {}), ([1.5, 2], {}), (np.arange(3), {}), (a, {"dtype": "float64"})]
    cases += [(3.5, {}), (np.array([True, False]), {}), ([[1, 2]], {"dtype": "int32"})]
    for data, kw in cases:
        tkw = {k: getattr(torch, v) for k, v in kw.items()}
        nkw = {k: getattr(tn, v) for k, v in kw.items()}
        got, want = tn.as_tensor(data, **nkw), torch.as_tensor(data, **tkw)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    x = tn.ones(2, requires_grad=True) * 2
    assert tn.as_tensor(x) is x
    y = tn.as_tensor(x, dtype=tn.float64)
    assert y.dtype == tn.float64 and y.grad_fn is not None


def test_old_size_names_and_get_device(torch):
    t, ref = tn.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert t.nelement() == ref.nelement() == 24
    assert t.ndimension() == ref.ndimension() == 3
    assert t.get_device() == ref.get_device() == -1


def test_format_a_0d_tensor_as_its_number(torch):
    for v, spec in [(3.14159, ".2f"), (2.5, ""), (7, ">4d"), (1e-5, ".3e")]:
        assert format(tn.tensor(v), spec) == format(torch.tensor(v), spec)
    loss = tn.tensor(0.123456)
    assert f"loss {loss:.4f}" == "loss 0.1235"
    with pytest.raises(TypeError):
        format(tn.ones(2), ".2f")
    with pytest.raises(TypeError):
        format(torch.ones(2), ".2f")


def test_to_takes_non_blocking_and_memory_format():
    import tinynet.nn as nn

    x = tn.arange(4.0)
    y = x.to("cpu", non_blocking=True)
    z = x.to(tn.float64, non_blocking=True, memory_format=None)
    assert y is x and z.dtype == tn.float64
    m = nn.Linear(2, 2)
    assert m.to(tn.device("cpu"), non_blocking=True) is m


def test_cuda_seeding_leaves_the_cpu_stream_alone(device):
    from tinynet import backend

    tn.manual_seed(3)
    a = tn.rand(4)
    tn.manual_seed(3)
    tn.cuda.manual_seed(9)
    tn.cuda.manual_seed_all(9)  # no GPU needed, as in torch
    np.testing.assert_array_equal(tn.rand(4).numpy(), a.numpy())
    if device.type == "cpu":
        return
    # the mechanism behind tn.cuda.manual_seed*: seeding one device type apart
    backend.manual_seed_type(device.type, 11)
    b = tn.rand(4, device=device).numpy()
    tn.manual_seed(0)
    backend.manual_seed_type(device.type, 11)
    np.testing.assert_array_equal(tn.rand(4, device=device).numpy(), b)
    tn.manual_seed(0)  # manual_seed reseeds every device again, forgetting the type's seed
    c = tn.rand(4, device=device).numpy()
    tn.manual_seed(0)
    np.testing.assert_array_equal(tn.rand(4, device=device).numpy(), c)
    assert not np.array_equal(b, c)


def test_backends_flags_scripts_set():
    tn.backends.cudnn.benchmark = True
    tn.backends.cudnn.deterministic = True
    assert tn.backends.cudnn.benchmark and tn.backends.cudnn.deterministic
    assert tn.backends.mps.is_available() is False
    tn.backends.cudnn.benchmark = tn.backends.cudnn.deterministic = False


def test_nonzero_and_one_argument_where(torch, device):
    rng = np.random.default_rng(0)
    for shape in [(3, 4), (5,), (2, 3, 2), (), (0, 3)]:
        a = (rng.random(shape) > 0.5) * rng.normal(size=shape)
        x, ref = tn.tensor(a, device=device), torch.tensor(a)
        got = x.nonzero()
        assert got.dtype == tn.int64 and got.device == x.device
        np.testing.assert_array_equal(got.numpy(), ref.nonzero().numpy())
        assert got.shape == tuple(ref.nonzero().shape)
        for g, w in zip(tn.nonzero(x, as_tuple=True), torch.nonzero(ref, as_tuple=True)):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
        if x.ndim:
            for g, w in zip(tn.where(x > 0), torch.where(ref > 0)):
                np.testing.assert_array_equal(g.numpy(), w.numpy())
            np.testing.assert_array_equal(
                x[x.nonzero(as_tuple=True)].numpy(), ref[ref.nonzero(as_tuple=True)].numpy()
            )
    with pytest.raises(TypeError, match="nonzero: expected a Tensor"):
        tn.nonzero([1, 0])


_COMPOSED = [
    ("broadcast_to", [(3, 1)], lambda m, x: m.broadcast_to(x, (2, 3, 4))),
    ("movedim", [(2, 3, 4)], lambda m, x: m.movedim(x, 0, -1)),
    ("movedim seq", [(2, 3, 4, 5)], lambda m, x: m.movedim(x, (0, 1), (3, 0))),
    ("moveaxis", [(2, 3, 4)], lambda m, x: m.moveaxis(x, -1, 0)),
    ("swapaxes", [(2, 3, 4)], lambda m, x: m.swapaxes(x, 0, 2)),
    ("mT", [(2, 3, 4)], lambda m, x: x.mT),
    ("unflatten", [(2, 12)], lambda m, x: x.unflatten(1, (3, -1))),
    ("hstack 1d", [(3,), (2,)], lambda m, a, b: m.hstack([a, b])),
    ("hstack 2d", [(2, 3), (2, 1)], lambda m, a, b: m.hstack([a, b])),
    ("vstack", [(3,), (2, 3)], lambda m, a, b: m.vstack([a, b])),
    ("tile", [(2, 3)], lambda m, x: m.tile(x, (2, 1, 2))),
    ("tile short", [(2, 3)], lambda m, x: x.tile((2,))),
    ("outer", [(3,), (4,)], lambda m, a, b: m.outer(a, b)),
    ("tril", [(4, 5)], lambda m, x: m.tril(x)),
    ("tril -1", [(2, 4, 3)], lambda m, x: x.tril(-1)),
    ("triu 1", [(4, 5)], lambda m, x: m.triu(x, 1)),
    ("triu", [(3, 3)], lambda m, x: x.triu()),
    ("repeat_interleave", [(2, 3)], lambda m, x: x.repeat_interleave(2)),
    ("repeat_interleave dim", [(2, 3)], lambda m, x: m.repeat_interleave(x, 3, dim=0)),
    (
        "repeat_interleave counts",
        [(2, 3)],
        lambda m, x: x.repeat_interleave(m.tensor([1, 0, 2]), 1),
    ),
    ("masked_select", [(3, 4)], lambda m, x: m.masked_select(x, x > 0)),
    (
        "masked_select bcast",
        [(3, 4)],
        lambda m, x: x.masked_select(m.arange(4, device=x.device) != 1),
    ),
]


@pytest.mark.parametrize("name,shapes,fn", _COMPOSED, ids=[c[0] for c in _COMPOSED])
def test_composed_movement_names_match_torch(torch, device, name, shapes, fn):
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=s) for s in shapes]
    xs = [tn.tensor(a, device=device, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ref = fn(tn, *xs), fn(torch, *ts)
    assert y.shape == tuple(ref.shape)
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy())
    w = rng.normal(size=tuple(ref.shape))
    (y * tn.tensor(w, device=device)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_composed_names_bad_input():
    with pytest.raises(RuntimeError, match=r"outer: expects two 1-D tensors.*\(2, 2\)"):
        tn.outer(tn.ones(2, 2), tn.ones(3))
    with pytest.raises(RuntimeError, match=r"tril: input must have at least 2 dims.*\(3,\)"):
        tn.tril(tn.ones(3))
    with pytest.raises(RuntimeError, match=r"unflatten: sizes \(4, 4\).*\(12\)"):
        tn.ones(2, 12).unflatten(1, (4, 4))
    with pytest.raises(ValueError, match="movedim: source"):
        tn.ones(2, 3).movedim((0, 1), 0)
    with pytest.raises(
        RuntimeError, match=r"repeat_interleave: repeats must be non-negative.*\[1, 2\]"
    ):
        tn.ones(3).repeat_interleave(tn.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="masked_select: mask must be a bool tensor"):
        tn.ones(3).masked_select(tn.ones(3))
    with pytest.raises(RuntimeError, match=r"masked_select: input \(3,\) and mask \(2,\)"):
        tn.ones(3).masked_select(tn.tensor([True, False]))


def _same(got, want):
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (got, want)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_bincount_count_nonzero_unique_match_torch(torch, device):
    labels = np.array([3, 0, 1, 1, 3, 3, 5])
    x, ref = tn.tensor(labels, device=device), torch.tensor(labels)
    _same(tn.bincount(x), torch.bincount(ref))
    _same(x.bincount(minlength=8), ref.bincount(minlength=8))
    for wdt in ("float32", "float64"):
        w = np.linspace(0.1, 0.7, 7).astype(wdt)
        _same(tn.bincount(x, tn.tensor(w, device=device)), torch.bincount(ref, torch.tensor(w)))
    _same(tn.bincount(tn.tensor([], dtype=tn.int64, device=device), minlength=3),
          torch.bincount(torch.tensor([], dtype=torch.int64), minlength=3))  # fmt: skip
    a = np.array([[0, 1.5, 0], [2, 0, -1]])
    xa, ra = tn.tensor(a, device=device), torch.tensor(a)
    _same(tn.count_nonzero(xa), torch.count_nonzero(ra))
    _same(xa.count_nonzero(dim=0), ra.count_nonzero(dim=0))
    _same(tn.count_nonzero(xa, dim=(0, 1)), torch.count_nonzero(ra, dim=(0, 1)))
    m = np.array([[3, 1, 2], [1, 3, 3]])
    xm, rm = tn.tensor(m, device=device), torch.tensor(m)
    _same(xm.unique(), rm.unique())
    for kw in ({"return_inverse": True}, {"return_counts": True},
               {"return_inverse": True, "return_counts": True, "sorted": False}):  # fmt: skip
        for g, w in zip(tn.unique(xm, **kw), torch.unique(rm, **kw)):
            _same(g, w)
    rows = [[1, 2], [0, 5], [1, 2]]
    got = tn.unique(tn.tensor(rows, device=device), dim=0, return_counts=True)
    for g, w in zip(got, torch.unique(torch.tensor(rows), dim=0, return_counts=True)):
        _same(g, w)


def test_bincount_bad_input():
    with pytest.raises(RuntimeError, match="bincount: only supports 1-d non-negative integral"):
        tn.bincount(tn.tensor([0.5, 1.0]))
    with pytest.raises(RuntimeError, match="negative value"):
        tn.bincount(tn.tensor([1, -1]))
    with pytest.raises(RuntimeError, match=r"weights must have the input's shape \(2,\)"):
        tn.bincount(tn.tensor([1, 0]), weights=tn.ones(3))
