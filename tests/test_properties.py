"""Property tests (hypothesis): random shapes, dims and layouts, forward and backward vs PyTorch.

Binary ops on random mutually broadcastable shapes; reductions over random dims
(single, tuples, negative, keepdim); random permutations and reshapes; and
softmax / log_softmax / logsumexp / cross-entropy at logits of 1e4 (finite).
Values come from a NumPy generator seeded by hypothesis, so every case replays.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import tinynet as tn

torch = pytest.importorskip("torch")

SETTINGS = settings(deadline=None, max_examples=30)
SEEDS = st.integers(0, 2**32 - 1)
RTOL = 1e-10


def _close(actual: np.ndarray, expected: np.ndarray, what: str, rtol: float = RTOL) -> None:
    """Elementwise |a - e| <= rtol * (|e| + max(1, max|e|)), NaN where torch has NaN."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.dtype == np.bool_:
        assert np.array_equal(actual, expected), f"{what}: differs from torch"
        return
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    assert np.array_equal(np.isnan(a), np.isnan(e)), f"{what}: NaN pattern differs from torch"
    ok = ~np.isnan(e)
    scale = max(1.0, float(np.abs(e[ok]).max(initial=0.0)))
    err = np.abs(a[ok] - e[ok]) - rtol * (np.abs(e[ok]) + scale)
    assert not err.size or err.max() <= 0, (
        f"{what}: max |diff| {np.abs(a[ok] - e[ok]).max():.3g} vs torch (scale {scale:.3g})"
    )


def _check(tn_fn, torch_fn, arrays, seed: int, rtol: float = RTOL, grad: bool = True) -> None:
    """Run both libraries on the same arrays (float ones require grad); compare fwd and bwd."""
    xs = [tn.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out, tout = tn_fn(*xs), torch_fn(*ts)
    _close(out.detach().numpy(), tout.detach().numpy(), "forward", rtol)
    assert out.dtype.name == str(tout.dtype).replace("torch.", ""), "forward dtype"
    if not grad:
        return
    g = np.random.default_rng(seed + 1).standard_normal(tuple(tout.shape))
    g = g.astype(tout.detach().numpy().dtype)
    leaves = [x for x in xs if x.requires_grad]
    got = tn.autograd.grad(out, leaves, tn.tensor(g), allow_unused=True)
    want = torch.autograd.grad(
        tout, [t for t in ts if t.requires_grad], torch.tensor(g), allow_unused=True
    )
    for k, (leaf, d, w) in enumerate(zip(leaves, got, want)):
        w = np.zeros(leaf.shape) if w is None else w.numpy()
        d = np.zeros(leaf.shape) if d is None else d.numpy()
        _close(d, w, f"gradient of input {k}", rtol)


# ----- binary ops on random broadcastable shapes ---------------------------------------------

BINARY = {
    "add": (tn.add, torch.add),
    "sub": (tn.sub, torch.sub),
    "mul": (tn.mul, torch.mul),
    "div": (tn.div, torch.div),
    "pow": (tn.pow, torch.pow),
    "maximum": (tn.maximum, torch.maximum),
    "minimum": (tn.minimum, torch.minimum),
}
COMPARISONS = {
    "eq": (tn.eq, torch.eq),
    "ne": (tn.ne, torch.ne),
    "lt": (tn.lt, torch.lt),
    "le": (tn.le, torch.le),
    "gt": (tn.gt, torch.gt),
    "ge": (tn.ge, torch.ge),
}
BROADCAST = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)


def _operands(name: str, shapes, seed: int, ties: bool):
    rng = np.random.default_rng(seed)
    if ties:  # a coarse grid: equal elements exercise tie handling
        return [rng.integers(-3, 4, s).astype(np.float64) / 2 for s in shapes]
    x, y = (rng.uniform(-2, 2, s) for s in shapes)
    if name == "pow":
        x = rng.uniform(0.5, 2, shapes[0])
    if name == "div":
        y = np.where(y < 0, y - 0.5, y + 0.5)  # away from 0
    return [x, y]


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(shapes=BROADCAST, seed=SEEDS, ties=st.booleans())
def test_binary_broadcasting(name, shapes, seed, ties):
    ties = ties and name in ("maximum", "minimum")
    fn, tfn = BINARY[name]
    _check(fn, tfn, _operands(name, shapes.input_shapes, seed, ties), seed)


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@SETTINGS
@given(shapes=BROADCAST, seed=SEEDS)
def test_comparison_broadcasting(name, shapes, seed):
    fn, tfn = COMPARISONS[name]
    arrays = _operands(name, shapes.input_shapes, seed, ties=True)
    _check(fn, tfn, arrays, seed, grad=False)


# ----- reductions over random dims ------------------------------------------------------------


@st.composite
def reduction_cases(draw, allow_none=True, single=False):
    """(shape, dim, keepdim): dim None, an int or a tuple, possibly negative."""
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    nd = len(shape)
    if single:
        d = draw(st.integers(0, nd - 1))
        return shape, d - nd if draw(st.booleans()) else d, False
    kind = draw(st.sampled_from(["none", "int", "tuple"] if allow_none else ["int", "tuple"]))
    if kind == "none":
        dim = None
    else:
        axes = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
        axes = [a - nd if draw(st.booleans()) else a for a in axes]
        dim = axes[0] if kind == "int" else tuple(axes)
    return shape, dim, draw(st.booleans())


def _values(shape, seed: int, ties: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if ties:
        return rng.integers(-2, 3, shape).astype(np.float64)
    return rng.uniform(-2, 2, shape)


@SETTINGS
@given(case=reduction_cases(), seed=SEEDS)
def test_sum(case, seed):
    shape, dim, keepdim = case
    _check(
        lambda x: x.sum(dim, keepdim=keepdim),
        lambda x: torch.sum(x, dim=dim, keepdim=keepdim),
        [_values(shape, seed)],
        seed,
    )


@SETTINGS
@given(case=reduction_cases(), seed=SEEDS)
def test_mean(case, seed):
    shape, dim, keepdim = case
    _check(
        lambda x: x.mean(dim, keepdim=keepdim),
        lambda x: torch.mean(x, dim=dim, keepdim=keepdim),
        [_values(shape, seed)],
        seed,
    )


@pytest.mark.filterwarnings("ignore:.*(degrees of freedom|Degrees of freedom|invalid value)")
@SETTINGS
@given(case=reduction_cases(), seed=SEEDS, unbiased=st.booleans())
def test_var(case, seed, unbiased):
    shape, dim, keepdim = case
    # one element reduced with unbiased=True is 0/0: NaN forward and backward, as torch
    _check(
        lambda x: x.var(dim, unbiased=unbiased, keepdim=keepdim),
        lambda x: torch.var(x, dim=dim, unbiased=unbiased, keepdim=keepdim),
        [_values(shape, seed)],
        seed,
        rtol=1e-9,
    )


@pytest.mark.parametrize("name", ["amax", "amin"])
@SETTINGS
@given(case=reduction_cases(), seed=SEEDS, ties=st.booleans())
def test_amax_amin(name, case, seed, ties):
    shape, dim, keepdim = case
    fn, tfn = getattr(tn, name), getattr(torch, name)
    _check(
        lambda x: fn(x, dim, keepdim=keepdim),
        lambda x: tfn(x, dim=() if dim is None else dim, keepdim=keepdim),
        [_values(shape, seed, ties)],
        seed,
    )


@pytest.mark.parametrize("name", ["max", "min"])
@SETTINGS
@given(case=reduction_cases(single=True), seed=SEEDS, keepdim=st.booleans())
def test_max_min_along_dim(name, case, seed, keepdim):
    shape, dim, _ = case
    x = _values(shape, seed)  # continuous: no ties, so the index is unambiguous
    _check(
        lambda t: getattr(t, name)(dim, keepdim=keepdim).values,
        lambda t: getattr(t, name)(dim, keepdim=keepdim).values,
        [x],
        seed,
    )
    got = getattr(tn.tensor(x), name)(dim, keepdim=keepdim).indices.numpy()
    want = getattr(torch.tensor(x), name)(dim, keepdim=keepdim).indices.numpy()
    assert np.array_equal(got, want)


@SETTINGS
@given(case=reduction_cases(allow_none=False), seed=SEEDS)
def test_logsumexp(case, seed):
    shape, dim, keepdim = case
    _check(
        lambda x: tn.logsumexp(x, dim, keepdim=keepdim),
        lambda x: torch.logsumexp(x, dim, keepdim=keepdim),
        [_values(shape, seed) * 5],
        seed,
    )


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@SETTINGS
@given(case=reduction_cases(single=True), seed=SEEDS)
def test_softmax(name, case, seed):
    shape, dim, _ = case
    _check(
        lambda x: getattr(x, name)(dim),
        lambda x: getattr(x, name)(dim),
        [_values(shape, seed) * 5],
        seed,
    )


# ----- permutations and reshapes ---------------------------------------------------------------


@st.composite
def factorization(draw, size: int):
    """A random shape with `size` elements (possibly with 1s, possibly one -1)."""
    dims, rest = [], size
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divisors))
        dims.append(d)
        rest //= d
    dims.append(rest)
    dims = draw(st.permutations(dims))
    if draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


@SETTINGS
@given(data=st.data(), seed=SEEDS)
def test_permute_then_reshape(data, seed):
    shape = data.draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), "shape")
    perm = tuple(data.draw(st.permutations(range(len(shape))), "perm"))
    target = data.draw(factorization(int(np.prod(shape))), "target")
    _check(
        lambda x: (x.permute(*perm).reshape(*target) * 2).exp(),
        lambda x: (x.permute(*perm).reshape(*target) * 2).exp(),
        [_values(shape, seed)],
        seed,
    )


@SETTINGS
@given(data=st.data(), seed=SEEDS)
def test_transpose_flatten_squeeze(data, seed):
    shape = data.draw(array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=3), "shape")
    nd = len(shape)
    d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    start = data.draw(st.integers(0, nd - 1))
    end = data.draw(st.integers(start, nd - 1))
    k = nd - (end - start)  # dims after flatten
    u = data.draw(st.integers(-k - 1, k))

    def chain(x):
        return x.transpose(d0, d1).flatten(start, end).unsqueeze(u).squeeze() * x.sum()

    _check(chain, chain, [_values(shape, seed)], seed)


# ----- stability at huge logits -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(case=reduction_cases(single=True), seed=SEEDS)
def test_softmax_family_stable_at_1e4(dtype, case, seed):
    shape, dim, _ = case
    x = (np.random.default_rng(seed).standard_normal(shape) * 1e4).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    fns = {
        "softmax": lambda t: t.softmax(dim),
        "log_softmax": lambda t: t.log_softmax(dim),
        "logsumexp": lambda t: t.logsumexp(dim),
    }
    for name, fn in fns.items():
        t = tn.tensor(x, requires_grad=True)
        y = fn(t)
        (y * y.detach()).sum().backward()  # an upstream gradient of size 1e4 too
        assert np.isfinite(y.detach().numpy()).all(), f"{name}: inf/nan at logits of 1e4"
        assert np.isfinite(t.grad.numpy()).all(), f"{name}: inf/nan gradient at logits of 1e4"
        _check(fn, fn, [x], seed, rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(n=st.integers(1, 5), c=st.integers(2, 6), seed=SEEDS, smoothing=st.sampled_from([0, 0.1]))
def test_cross_entropy_stable_at_1e4(dtype, n, c, seed, smoothing):
    F = pytest.importorskip("tinynet.nn.functional")
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, c)) * 1e4).astype(dtype)
    target = rng.integers(0, c, n)
    t = tn.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(t, tn.tensor(target), label_smoothing=smoothing)
    loss.backward()
    assert np.isfinite(loss.item()), "cross_entropy: inf/nan at logits of 1e4"
    assert np.isfinite(t.grad.numpy()).all(), "cross_entropy: inf/nan gradient at logits of 1e4"
    tl = torch.tensor(logits, requires_grad=True)
    want = torch.nn.functional.cross_entropy(tl, torch.tensor(target), label_smoothing=smoothing)
    want.backward()
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    _close(np.asarray(loss.item()), want.detach().numpy(), "loss", rtol)
    _close(t.grad.numpy(), tl.grad.numpy(), "gradient", rtol)
