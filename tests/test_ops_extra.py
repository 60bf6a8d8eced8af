"""What the op registry's generic test can't express for the indexing, sorting, scan and
linalg ops: named-tuple fields, integer outputs, repeated scatter positions, gradients at
zeros and of second order, the Tensor-method spellings, and the errors on bad input.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _close(t, ref, atol=1e-12):
    ref = ref.detach().numpy() if hasattr(ref, "detach") else np.asarray(ref)
    assert tuple(t.shape) == tuple(ref.shape), (t.shape, ref.shape)
    np.testing.assert_allclose(_np(t), ref, atol=atol, rtol=0)


# ----- named tuples and integer outputs --------------------------------------------------------


def test_sort_and_topk_return_named_tuples_with_int64_indices(device, torch):
    a = np.array([[3.0, 1.0, 2.0, 1.0], [0.5, -1.0, 4.0, 4.0]])
    x = tn.tensor(a, device=device)
    for got, want in [
        (x.sort(), torch.tensor(a).sort(stable=True)),
        (tn.sort(x, 0, descending=True), torch.sort(torch.tensor(a), dim=0, descending=True)),
        (x.sort(descending=True), torch.tensor(a).sort(descending=True, stable=True)),
        (x.topk(2), torch.tensor(a).topk(2)),
        (tn.topk(x, 1, dim=0, largest=False), torch.topk(torch.tensor(a), 1, 0, largest=False)),
    ]:
        assert type(got).__name__ == type(want).__name__
        assert got._fields == ("values", "indices")
        values, indices = got  # unpacks like torch's
        assert indices.dtype == tn.int64 and not indices.requires_grad
        _close(values, want.values)
        np.testing.assert_array_equal(_np(got.indices), want.indices.numpy())


def test_sort_is_stable_and_puts_nan_where_torch_does(torch):
    a = np.array([2.0, np.nan, 1.0, 2.0, -np.inf, 1.0, np.nan])
    for desc in (False, True):
        got = tn.sort(tn.tensor(a), descending=desc)
        want = torch.sort(torch.tensor(a), descending=desc, stable=True)
        np.testing.assert_array_equal(_np(got.indices), want.indices.numpy())
        np.testing.assert_array_equal(_np(got.values), want.values.numpy())
        np.testing.assert_array_equal(
            _np(tn.argsort(tn.tensor(a), descending=desc)),
            torch.argsort(torch.tensor(a), descending=desc, stable=True).numpy(),
        )


def test_integer_sorts_and_scans_keep_torch_dtypes(torch):
    a = np.array([[3, 1, 2], [0, 5, 4]], dtype=np.int32)
    x, xt = tn.tensor(a), torch.tensor(a)
    assert x.sort().values.dtype == tn.int32
    assert x.cumsum(1).dtype == tn.int64 == tn.cumprod(x, 0).dtype
    np.testing.assert_array_equal(_np(x.cumsum(1)), xt.cumsum(1).numpy())
    np.testing.assert_array_equal(_np(tn.tensor([True, False, True]).cumsum(0)), [1, 1, 2])
    assert x.cumsum(1, dtype=tn.float64).dtype == tn.float64


def test_sort_and_topk_gradients_follow_the_indices(torch):
    a = np.array([[0.3, -1.0, 2.0, 0.1], [1.5, 0.2, -0.7, 0.9]])
    g = np.arange(8.0).reshape(2, 4)
    x, xt = tn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (x.sort(1, descending=True).values * tn.tensor(g)).sum().backward()
    (xt.sort(1, descending=True).values * torch.tensor(g)).sum().backward()
    _close(x.grad, xt.grad)
    x.grad = None
    xt.grad = None
    x.topk(2, 1).values.sum().backward()
    xt.topk(2, 1).values.sum().backward()
    _close(x.grad, xt.grad)


# ----- scatter ---------------------------------------------------------------------------------


def test_scatter_add_adds_repeated_positions_and_sends_every_src_its_gradient(device, torch):
    a = np.zeros((2, 3))
    src = np.arange(1.0, 9.0).reshape(2, 4)
    idx = [[0, 0, 2, 0], [1, 1, 1, 1]]
    x = tn.tensor(a, requires_grad=True, device=device)
    s = tn.tensor(src, requires_grad=True, device=device)
    y = x.scatter_add(1, tn.tensor(idx, device=device), s)
    np.testing.assert_array_equal(_np(y), [[7.0, 0.0, 3.0], [0.0, 26.0, 0.0]])
    xt, st = torch.tensor(a, requires_grad=True), torch.tensor(src, requires_grad=True)
    yt = xt.scatter_add(1, torch.tensor(idx), st)
    g = np.arange(6.0).reshape(2, 3)
    y.backward(tn.tensor(g, device=device))
    yt.backward(torch.tensor(g))
    _close(x.grad, xt.grad)
    _close(s.grad, st.grad)


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_value_and_reduce_add(device, torch):
    a = np.arange(6.0).reshape(2, 3)
    idx = [[2], [0]]
    x, xt = tn.tensor(a, device=device), torch.tensor(a)
    i, it = tn.tensor(idx, device=device), torch.tensor(idx)
    _close(x.scatter(1, i, -1.0), xt.scatter(1, it, -1.0))
    _close(tn.scatter(x, 1, i, value=2.5), torch.scatter(xt, 1, it, value=2.5))
    src = np.array([[10.0], [20.0]])
    _close(
        x.scatter(1, i, tn.tensor(src, device=device), reduce="add"),
        xt.scatter(1, it, torch.tensor(src), reduce="add"),
    )


def test_scatter_from_a_larger_src_sends_zero_gradient_to_what_it_does_not_read():
    x = tn.zeros(2, 3, dtype=tn.float64, requires_grad=True)
    src = tn.tensor(np.arange(8.0).reshape(2, 4), requires_grad=True)
    y = x.scatter(1, tn.tensor([[2, 0], [1, 2]]), src)
    np.testing.assert_array_equal(_np(y), [[1.0, 0.0, 0.0], [0.0, 4.0, 5.0]])
    y.backward(tn.tensor(np.arange(6.0).reshape(2, 3)))
    np.testing.assert_array_equal(_np(src.grad), [[2.0, 0.0, 0.0, 0.0], [4.0, 5.0, 0.0, 0.0]])
    np.testing.assert_array_equal(_np(x.grad), [[0.0, 1.0, 0.0], [3.0, 0.0, 0.0]])


# ----- gradients at zeros and of second order ------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod_gradients_at_zeros_match_torch_to_second_order(dim, device, torch):
    rng = np.random.default_rng(3)
    a = rng.uniform(-2, 2, (4, 5))
    a[0, 1] = a[1, 1] = a[1, 3] = a[2, 0] = a[3, 4] = 0.0  # one, two, first, last
    g, h = rng.standard_normal((2, 4, 5))
    x = tn.tensor(a, requires_grad=True, device=device)
    xt = torch.tensor(a, requires_grad=True)
    (d1,) = tn.autograd.grad(tn.cumprod(x, dim), x, tn.tensor(g, device=device))
    (dx,) = tn.autograd.grad(x.cumprod(dim), x, tn.tensor(g, device=device), create_graph=True)
    (dxt,) = torch.autograd.grad(xt.cumprod(dim), xt, torch.tensor(g), create_graph=True)
    _close(d1, dxt)
    _close(dx, dxt)
    (ddx,) = tn.autograd.grad(dx, x, tn.tensor(h, device=device))
    (ddxt,) = torch.autograd.grad(dxt, xt, torch.tensor(h))
    _close(ddx, ddxt, atol=1e-10)


@pytest.mark.parametrize("p", ["fro", 1, 2, 3, float("inf")])
def test_norm_gradient_is_zero_for_an_all_zero_slice_as_torch(p, torch):
    a = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    x, xt = tn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    tn.norm(x, p, dim=1).sum().backward()
    torch.norm(xt, p, dim=1).sum().backward()
    _close(x.grad, xt.grad)
    _close(x.norm(p), torch.norm(torch.tensor(a), p))


@pytest.mark.parametrize(
    ("eq", "shapes"),
    [("ij,jk->ik", ((3, 4), (4, 2))), ("ii,ij->j", ((3, 3), (3, 2))),
     ("bi,bj->bij", ((2, 3), (2, 4))), ("...i,i->...", ((2, 3, 4), (4,)))],
)  # fmt: skip
def test_einsum_double_backward_matches_torch(eq, shapes, torch):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    xs = [tn.tensor(a, requires_grad=True) for a in arrays]
    xts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, yt = tn.einsum(eq, *xs), torch.einsum(eq, *xts)
    gs = tn.autograd.grad((y * y).sum(), xs, create_graph=True)
    gts = torch.autograd.grad((yt * yt).sum(), xts, create_graph=True)
    ggs = tn.autograd.grad(sum((g * g).sum() for g in gs), xs)
    ggts = torch.autograd.grad(sum((g * g).sum() for g in gts), xts)
    for got, want in zip(ggs, ggts):
        _close(got, want, atol=1e-9)


# ----- spellings ------------------------------------------------------------------------------


def test_torch_spellings_of_the_new_methods(torch):
    a = np.arange(24.0).reshape(2, 3, 4)
    x, xt = tn.tensor(a), torch.tensor(a)
    pairs = [
        (x.flip(0, 2), xt.flip(0, 2)),
        (tn.flip(x, dims=(1,)), torch.flip(xt, dims=(1,))),
        (x.roll(2), xt.roll(2)),
        (tn.roll(x, shifts=(1, -1), dims=(0, 2)), torch.roll(xt, shifts=(1, -1), dims=(0, 2))),
        (x.repeat(2, 1, 1, 2), xt.repeat(2, 1, 1, 2)),
        (x.repeat((1, 2, 1)), xt.repeat((1, 2, 1))),
        (x.index_select(2, tn.tensor([3, 0, 3])), xt.index_select(2, torch.tensor([3, 0, 3]))),
        (x.unfold(2, 2, 1), xt.unfold(2, 2, 1)),
        (x.narrow(1, 1, 2), xt.narrow(1, 1, 2)),
        (x.cumsum(dim=-1), xt.cumsum(dim=-1)),
        (x.norm(dim=(0, 2), keepdim=True), xt.norm(dim=(0, 2), keepdim=True)),
        (x.bmm(x.transpose(1, 2)), xt.bmm(xt.transpose(1, 2))),
        (tn.einsum("bij,bkj->bik", [x, x]), torch.einsum("bij,bkj->bik", [xt, xt])),
        (tn.einsum("i j k -> k", x), torch.einsum("i j k -> k", xt)),
    ]
    pairs += list(zip(x.unbind(1), xt.unbind(1)))
    pairs += list(zip(x.chunk(2, 2), xt.chunk(2, 2)))
    pairs += list(zip(x.split([1, 3], dim=2), xt.split([1, 3], dim=2)))
    for got, want in pairs:
        _close(got, want)


# ----- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x: x.topk(5), RuntimeError, r"topk: k \(5\).*\(3, 4\)"),
        (lambda x: x.sort(dim=2), IndexError, "sort: dim 2"),
        (lambda x: x.index_select(0, tn.tensor([0.0])), RuntimeError, "index_select.*int"),
        (lambda x: x.index_select(0, tn.tensor([[0]])), IndexError, "index_select.*vector"),
        (lambda x: x.index_select(1, tn.tensor([4])), IndexError, "index 4 .*size 4"),
        (lambda x: x.scatter(1, tn.tensor([[0]]), tn.ones(1, 1, dtype=tn.float64)),
         RuntimeError, "scatter: .*float32.*float64"),
        (lambda x: x.scatter(1, tn.tensor([[7]]), 1.0), RuntimeError, "index 7 .*dim 1"),
        (lambda x: x.scatter(1, tn.tensor([0]), 1.0), RuntimeError, "as many dims"),
        (lambda x: x.scatter(1, tn.tensor([[0, 1]]), tn.ones(1, 1)), RuntimeError,
         r"src .*\(1, 1\)"),
        (lambda x: x.scatter_add(0, tn.tensor([[0]]), 1.0), TypeError, "src must be a tensor"),
        (lambda x: x.scatter(0, tn.tensor([[0]]), 1.0, reduce="multiply"), RuntimeError,
         "reduce"),
        (lambda x: tn.bmm(x, x), RuntimeError, r"bmm: input must be a 3-d.*\(3, 4\)"),
        (lambda x: tn.bmm(tn.ones(2, 3, 4), tn.ones(2, 3, 5)), RuntimeError,
         r"mat2 must have shape \(2, 4, m\)"),
        (lambda x: tn.einsum("ij,jk->ik", x, x), RuntimeError, "subscript j has size 3"),
        (lambda x: tn.einsum("ij->k", x), RuntimeError, "output subscript k"),
        (lambda x: tn.einsum("ii->ii", x), RuntimeError, "more than once"),
        (lambda x: tn.einsum("ijk->i", x), RuntimeError, "operand 0 has 2 dims"),
        (lambda x: tn.einsum("ij,jk", x), ValueError, "2 operand"),
        (lambda x: tn.einsum("i1->i", x), ValueError, "invalid subscripts"),
        (lambda x: tn.einsum("ij->i", x, x.double()), RuntimeError, "one dtype"),
        (lambda x: x.norm(p="nuc"), RuntimeError, "nuc"),
        (lambda x: tn.tensor([1, 2]).norm(), RuntimeError, "floating point.*int64"),
        (lambda x: x.unfold(1, 5, 1), RuntimeError, r"size 5 .*\(3, 4\)"),
        (lambda x: x.unfold(1, 2, 0), RuntimeError, "step must be positive"),
        (lambda x: x.repeat(2), RuntimeError, "fewer than the 2 dims"),
        (lambda x: x.roll((1, 2), (0,)), RuntimeError, "same length"),
        (lambda x: x.flip(0, 0), RuntimeError, "more than once"),
        (lambda x: x.narrow(1, 3, 2), RuntimeError, r"start \(3\) \+ length \(2\)"),
        (lambda x: tn.tensor(2.0).unbind(), IndexError, "unbind: dim 0"),
    ],
)  # fmt: skip
def test_bad_input_is_named(call, error, match):
    x = tn.ones(3, 4)
    with pytest.raises(error, match=match):
        call(x)


@pytest.mark.parametrize("shape", [(), (3, 4)])
def test_norm_over_all_entries_is_twice_differentiable(shape, torch):
    """A full reduction's output is a NumPy scalar: Norm must still save it as its output."""
    a = np.random.default_rng(1).uniform(-2, 2, shape)
    x, xt = tn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (g,) = tn.autograd.grad(tn.norm(x), x, create_graph=True)
    (gt,) = torch.autograd.grad(torch.norm(xt), xt, create_graph=True)
    h = np.random.default_rng(2).standard_normal(shape)
    (gg,) = tn.autograd.grad((g * tn.tensor(h)).sum(), x)
    (ggt,) = torch.autograd.grad((gt * torch.tensor(h)).sum(), xt)
    _close(gg, ggt, atol=1e-12)


# ----- ported names: atan2, fmod, diag, meshgrid, median, multinomial --------------------------


def test_atan2_and_fmod_spellings_and_integer_inputs_match_torch(torch):
    a, b = np.array([1, -2, 3, 0]), np.array([2, 2, -2, -1])
    ta, tb = torch.tensor(a), torch.tensor(b)
    x, y = tn.tensor(a), tn.tensor(b)
    for got, want in [
        (tn.atan2(x, y), torch.atan2(ta, tb)),
        (x.atan2(y), ta.atan2(tb)),
        (tn.arctan2(x.float(), y), torch.arctan2(ta.float(), tb)),
        (tn.fmod(x, y), torch.fmod(ta, tb)),
        (x.fmod(2), ta.fmod(2)),
        (tn.fmod(x.double(), -1.5), torch.fmod(ta.double(), -1.5)),
    ]:
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        _close(got, want, atol=1e-6)
    z = x.double()
    z.fmod_(1.5)
    _close(z, torch.fmod(ta.double(), 1.5))


def test_atan2_gradient_at_each_quadrant_matches_torch(torch):
    a, b = np.array([1.0, -1.0, 1.0, -1.0]), np.array([1.0, 1.0, -1.0, -2.0])
    x, y = tn.tensor(a, requires_grad=True), tn.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    tn.atan2(x, y).sum().backward()
    torch.atan2(tx, ty).sum().backward()
    _close(x.grad, tx.grad)
    _close(y.grad, ty.grad)


def test_diag_round_trips_and_is_twice_differentiable(torch):
    v = np.arange(1.0, 4.0)
    for k in (-2, 0, 1):
        _close(tn.diag(tn.tensor(v), k), torch.diag(torch.tensor(v), k))
        _close(tn.diag(tn.diag(tn.tensor(v), k), k), v)
    m = np.arange(12.0).reshape(3, 4)
    _close(tn.tensor(m).diag(2), torch.tensor(m).diag(2))
    _close(tn.diag(tn.tensor(m), 5), torch.diag(torch.tensor(m), 5))  # past the corner: empty
    x = tn.tensor(m, requires_grad=True)
    (g,) = tn.autograd.grad((tn.diag(x, -1) ** 3).sum(), x, create_graph=True)
    g.sum().backward()
    tx = torch.tensor(m, requires_grad=True)
    (tg,) = torch.autograd.grad((torch.diag(tx, -1) ** 3).sum(), tx, create_graph=True)
    tg.sum().backward()
    _close(g, tg)
    _close(x.grad, tx.grad)


@pytest.mark.parametrize("indexing", ["ij", "xy", None])
@pytest.mark.parametrize("sizes", [(3,), (3, 4), (2, 3, 4), (0, 2)])
def test_meshgrid_matches_torch_and_sends_gradients_back(sizes, indexing, torch, recwarn):
    arrays = [np.random.default_rng(i).standard_normal(n) for i, n in enumerate(sizes)]
    xs = [tn.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    kw = {} if indexing is None else {"indexing": indexing}
    got = tn.meshgrid(*xs, **kw)
    want = torch.meshgrid(*ts, indexing=indexing or "ij")
    assert isinstance(got, tuple) and len(got) == len(want)
    for g, w, k in zip(got, want, range(len(got))):
        _close(g, w.detach())
        (g * (k + 1)).sum().backward()
        (w * (k + 1)).sum().backward()
    for x, t in zip(xs, ts):
        _close(x.grad, t.grad)
    assert not [w for w in recwarn.list if "meshgrid" in str(w.message)]  # torch's default
    assert [g.shape for g in tn.meshgrid(xs, **kw)] == [g.shape for g in got]  # a list works


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: tn.diag(tn.ones(2, 2, 2)), RuntimeError, "diag: input must be 1-D or 2-D"),
        (lambda: tn.diag(tn.ones(2), 1.0), TypeError, "diag: diagonal must be an int"),
        (lambda: tn.meshgrid(), RuntimeError, "meshgrid: expects a non-empty"),
        (lambda: tn.meshgrid(tn.ones(2, 2)), RuntimeError, "meshgrid: expects 0-D or 1-D"),
        (lambda: tn.meshgrid(tn.ones(2), indexing="ji"), ValueError, "indexing"),
        (lambda: tn.meshgrid(tn.ones(2), tn.ones(2, dtype=tn.float64)), RuntimeError, "dtype"),
        (lambda: tn.median(tn.ones(0)), RuntimeError, "median"),
        (lambda: tn.median(tn.ones(2, 3), 2), IndexError, "median: dim 2"),
        (lambda: tn.multinomial(tn.ones(3), 4), RuntimeError, "without replacement"),
        (lambda: tn.multinomial(tn.tensor([1.0, 0.0, 0.0]), 2), RuntimeError, "non-zero"),
        (lambda: tn.multinomial(tn.tensor([1.0, -1.0]), 1), RuntimeError, "non-negative"),
        (lambda: tn.multinomial(tn.zeros(3), 1, True), RuntimeError, "sum to 0"),
        (lambda: tn.multinomial(tn.ones(3), 0), RuntimeError, "num_samples"),
        (lambda: tn.multinomial(tn.ones(3), 1.5), TypeError, "num_samples must be an int"),
        (lambda: tn.multinomial(tn.ones(3, dtype=tn.int64), 1), RuntimeError, "floating"),
        (lambda: tn.multinomial(tn.ones(2, 2, 2), 1), RuntimeError, "1-D or 2-D"),
        (lambda: tn.multinomial([0.5, 0.5], 1), TypeError, "multinomial: input"),
    ],
)  # fmt: skip
def test_bad_input_to_the_ported_names_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("n", [4, 5])
def test_median_is_the_lower_median_with_torch_indices(n, torch):
    a = np.random.default_rng(n).permutation(np.arange(3.0 * n)).reshape(3, n)
    x, t = tn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    _close(tn.median(x), torch.median(t).detach())
    for dim, keepdim in [(1, False), (0, True), (-1, True)]:
        got, want = x.median(dim, keepdim=keepdim), t.median(dim, keepdim=keepdim)
        assert got._fields == ("values", "indices") and got.indices.dtype == tn.int64
        _close(got.values, want.values.detach())
        np.testing.assert_array_equal(_np(got.indices), want.indices.numpy())
    (x.median(1).values.sum() + x.median() * 2).backward()
    (t.median(1).values.sum() + t.median() * 2).backward()
    _close(x.grad, t.grad)


def test_median_propagates_nan_and_keeps_integers_as_torch(torch):
    a = np.array([[3.0, np.nan, 1.0], [2.0, 5.0, 4.0]])
    got, want = tn.median(tn.tensor(a), 1), torch.median(torch.tensor(a), 1)
    np.testing.assert_array_equal(_np(got.values), want.values.numpy())
    np.testing.assert_array_equal(_np(got.indices), want.indices.numpy())
    assert np.isnan(_np(tn.median(tn.tensor(a))))
    i = np.array([7, 1, 4, 2])
    got = tn.median(tn.tensor(i))
    assert got.dtype == tn.int64 and got.item() == torch.median(torch.tensor(i)).item() == 2
    assert tn.median(tn.tensor(2.5), 0).indices.item() == 0


def test_multinomial_draws_follow_the_weights():
    w = tn.tensor([0.1, 0.0, 0.6, 0.3])
    tn.manual_seed(0)
    s = _np(tn.multinomial(w, 20000, replacement=True))
    assert s.dtype == np.int64 and s.shape == (20000,)
    freq = np.bincount(s, minlength=4) / s.size
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.02)
    assert freq[1] == 0  # a zero weight is never drawn
    rows = _np(tn.rand(50, 6).multinomial(6))  # without replacement: a permutation per row
    assert (np.sort(rows, 1) == np.arange(6)).all()
    firsts = np.bincount(
        [tn.multinomial(tn.tensor([1.0, 3.0]), 2)[0].item() for _ in range(2000)], minlength=2
    )
    assert abs(firsts[1] / 2000 - 0.75) < 0.04  # the first draw follows the weights
    two = _np(tn.multinomial(tn.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), 1))
    assert two.shape == (2, 1) and two[0, 0] == 1 and two[1, 0] in (0, 2)


def test_multinomial_with_replacement_keeps_each_row_to_its_own_weights():
    """Many rows drawn at once: each row's draws follow that row's weights only (no draw
    lands on another row's categories or on a zero weight), on both devices."""
    g = np.random.default_rng(1)
    w = g.random((300, 7)) * (g.random((300, 7)) < 0.5)
    w[np.arange(300), g.integers(0, 7, 300)] = 1.0  # every row has a non-zero weight
    for device in ("cpu", "fakecuda"):
        tn.manual_seed(0)
        s = _np(tn.multinomial(tn.tensor(w, device=device), 400, replacement=True))
        assert s.shape == (300, 400) and s.min() >= 0 and s.max() < 7
        assert (np.take_along_axis(w, s, 1) > 0).all(), "a zero weight was drawn"
        freq = np.stack([np.bincount(r, minlength=7) for r in s]) / 400
        np.testing.assert_allclose(freq, w / w.sum(1, keepdims=True), atol=0.1)


def test_multinomial_with_a_generator_repeats():
    g = tn.Generator().manual_seed(7)
    w = tn.rand(3, 5)
    a = tn.multinomial(w, 4, generator=g)
    b = w.multinomial(8, replacement=True, generator=g)
    g.manual_seed(7)
    np.testing.assert_array_equal(_np(a), _np(tn.multinomial(w, 4, generator=g)))
    np.testing.assert_array_equal(_np(b), _np(w.multinomial(8, True, generator=g)))
    assert not a.requires_grad
