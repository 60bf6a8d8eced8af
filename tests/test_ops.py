"""The generic op test (the registry, tinynet/ops/registry.py): every registered op x each sample.

For each (op, sample) pair collected from `tinynet.ops.registry.REGISTRY` at import:
float64 gradcheck; PyTorch parity of the forward and of the backward (a random
upstream gradient) in float64 and float32 on every device of the `device`
fixture; the same with non-contiguous inputs. Plus: every registered Function
has samples, every differentiable Function in tinynet is registered, and the
binary ops' samples broadcast in both directions.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import zlib

import numpy as np
import pytest

import tinynet as tn
import tinynet.ops  # noqa: F401  (fills the registry)
from tinynet.autograd.function import Function
from tinynet.ops.registry import REGISTRY, Arg, Bool, Int

# Families outside tinynet.ops register their Functions when imported.
for _mod in ("tinynet.nn", "tinynet.nn.functional"):
    try:
        _found = importlib.util.find_spec(_mod) is not None
    except ModuleNotFoundError:
        _found = False
    if _found:
        importlib.import_module(_mod)

# Functions that deliberately have no registry entry, with the reason.
UNREGISTERED_OK = {
    "ToDevice": "a host round trip between devices, not an op; the backend tests check it",
    # module full-backward-hook plumbing (identity forwards; the backward runs user hooks)
    "_HookGate": "nn.Module backward hooks, not an op; tests/test_autograd_tools.py checks it",
    "_HookSide": "nn.Module backward hooks, not an op; tests/test_autograd_tools.py checks it",
}

# Binary ops whose samples must broadcast each operand (Where: the three operands;
# Matmul: the batch dims).
BROADCASTING = [
    "Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum",
    "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "Where", "Matmul",
]  # fmt: skip

RTOL = {"float64": 1e-10, "float32": 1e-5}


# ----- collecting the cases --------------------------------------------------------------


def _is_shape(a) -> bool:
    return isinstance(a, tuple) and all(isinstance(n, int) for n in a)


def _describe(a) -> str:
    if _is_shape(a):
        return str(a)
    if isinstance(a, Int):
        return f"int{a.shape}"
    if isinstance(a, Bool):
        return f"bool{a.shape}"
    return repr(a.value if isinstance(a, Arg) else a)


def _alnum(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _case_id(name: str, sample) -> str:
    sid = f"{name}-" + "x".join(_describe(a) for a in sample.args)
    if sample.kwargs:
        sid += "-" + ",".join(f"{k}={v}" for k, v in sample.kwargs.items())
    plain = _alnum("".join(_describe(a) for a in sample.args) + str(sample.kwargs))
    if sample.name and _alnum(sample.name) not in plain:  # skip names that only repeat the args
        sid += f"[{sample.name}]"
    return sid


def _collect():
    cases, broken = [], []
    for name, op in sorted(REGISTRY.items()):
        if op.samples is None:
            continue  # test_every_registered_op_has_samples fails for it
        try:
            samples = list(op.samples())
        except Exception as e:  # a broken samples() fails its own test, not the collection
            broken.append(pytest.param(name, e, id=name))
            continue
        for s in samples:
            cases.append(pytest.param(op, s, id=_case_id(name, s)))
    return cases, broken


CASES, BROKEN = _collect()
# Ops without a gradient (comparisons, argmax, ...) are not gradchecked; parity still covers them.
GRAD_CASES = [c for c in CASES if c.values[1].grad]


# ----- building inputs ----------------------------------------------------------------------


def _rng(op, sample) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(_case_id(op.__name__, sample).encode()))


def _host_inputs(op, sample):
    """One host value per positional arg: float64/int64/bool arrays, or the value passed as is."""
    rng = _rng(op, sample)
    out = []
    for a in sample.args:
        if _is_shape(a):
            if sample.positive:
                out.append(rng.uniform(0.5, 2.0, a))
            else:
                out.append(rng.uniform(-2.0, 2.0, a))
        elif isinstance(a, Int):
            out.append(rng.integers(a.low, a.high, a.shape).astype(np.int64))
        elif isinstance(a, Bool):
            out.append(rng.random(a.shape) < 0.5)
        else:
            out.append(a)
    return out


def _strided(arr: np.ndarray) -> np.ndarray:
    """A host array laid out so that the view taken by `_noncontig_view` holds `arr`."""
    if arr.ndim == 0:
        return arr
    shape = arr.shape[:-1] + (2 * arr.shape[-1],)
    if arr.ndim >= 2:  # transposed storage, then every other element of the last dim
        big = np.zeros(shape[::-1], dtype=arr.dtype)
        big.T[..., ::2] = arr
    else:
        big = np.zeros(shape, dtype=arr.dtype)
        big[::2] = arr
    return big


def _noncontig_view(data):
    if data.ndim == 0:
        return data
    return (data.T if data.ndim >= 2 else data)[..., ::2]


def _is_array(v) -> bool:
    return isinstance(v, np.ndarray)


def _tn_inputs(host, dtype, device, noncontiguous=False):
    """tinynet tensors for the array inputs (float ones require grad); others pass as is."""
    out = []
    for v in host:
        if not _is_array(v):
            out.append(v.value if isinstance(v, Arg) else v)
            continue
        is_float = v.dtype.kind == "f"
        arr = v.astype(dtype) if is_float else v
        if noncontiguous and arr.ndim:
            t = tn.tensor(_strided(arr), device=device)
            t.data = _noncontig_view(t.data)
        else:
            t = tn.tensor(arr, device=device)
        if is_float:
            t.requires_grad_(True)
        out.append(t)
    return out


def _torch_inputs(torch, host, dtype):
    out = []
    for v in host:
        if not _is_array(v):
            out.append(v.value if isinstance(v, Arg) else v)
        elif v.dtype.kind == "f":
            out.append(torch.tensor(v.astype(dtype)).requires_grad_(True))
        else:
            out.append(torch.tensor(v))
    return out


def _call(op, sample, args):
    fn = sample.fn if sample.fn is not None else op.apply
    return fn(*args, **sample.kwargs)


def _outputs(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _host(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


# ----- comparing ------------------------------------------------------------------------------


def _assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float, atol, what: str):
    """|a - e| <= rtol * |e| + atol elementwise; atol defaults to rtol * max(1, max|e|)."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != torch {expected.shape}"
    if expected.dtype == np.bool_ or expected.dtype.kind in "iu":
        mismatch = actual != expected
        assert not mismatch.any(), f"{what}: {int(mismatch.sum())} elements differ from torch"
        return
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    assert np.array_equal(np.isnan(a), np.isnan(e)), f"{what}: NaN pattern differs from torch"
    if atol is None:
        atol = rtol * max(1.0, float(np.abs(e[np.isfinite(e)]).max(initial=0.0)))
    finite = np.isfinite(e)
    assert np.array_equal(a[~finite & ~np.isnan(e)], e[~finite & ~np.isnan(e)]), (
        f"{what}: infinities differ from torch"
    )
    err = np.asarray(np.abs(a - e) - (atol + rtol * np.abs(e)))
    err[~finite] = -1
    if err.size and err.max() > 0:
        i = np.unravel_index(int(err.argmax()), err.shape)
        raise AssertionError(
            f"{what}: mismatch at {tuple(int(k) for k in i)}: tinynet {float(a[i]):.12g}, "
            f"torch {float(e[i]):.12g} "
            f"(|diff| {abs(a[i] - e[i]):.3g}, allowed {atol + rtol * abs(e[i]):.3g})"
        )


def _torch_dtype_name(t) -> str:
    return str(t.dtype).replace("torch.", "")


def _check_parity(torch, op, sample, dtype, device, noncontiguous=False):
    """Forward and backward of tinynet vs torch on the same input values."""
    np_dtype = np.dtype(dtype)
    host = _host_inputs(op, sample)
    args = _tn_inputs(host, np_dtype, device, noncontiguous)
    before = [_host(a).copy() if isinstance(a, tn.Tensor) else None for a in args]
    targs = _torch_inputs(torch, host, np_dtype)
    rtol = RTOL[dtype]
    atol = sample.atol

    outs = _outputs(_call(op, sample, args))
    touts = _outputs(sample.torch_fn(torch, *targs, **sample.kwargs))
    assert len(outs) == len(touts), f"forward: {len(outs)} outputs, torch gives {len(touts)}"
    for k, (o, to) in enumerate(zip(outs, touts)):
        assert isinstance(o, tn.Tensor), f"forward output {k} is a {type(o).__name__}, not a Tensor"
        assert o.device == device, f"forward output {k} is on {o.device}, inputs on {device}"
        assert o.dtype.name == _torch_dtype_name(to), (
            f"forward output {k}: dtype {o.dtype.name}, torch gives {_torch_dtype_name(to)}"
        )
        _assert_close(_host(o), to.detach().numpy(), rtol, atol, f"forward output {k}")

    if sample.grad:
        pairs = [(o, to) for o, to in zip(outs, touts) if to.requires_grad]
        assert pairs, "backward: torch's output needs no gradient; set grad=False in the sample"
        rng = np.random.default_rng(1)
        grads = [rng.standard_normal(tuple(to.shape)).astype(to.detach().numpy().dtype)
                 for _, to in pairs]  # fmt: skip
        for o, _ in pairs:
            assert o.requires_grad, "backward: the output does not require grad"
        leaves = [a for a in args if isinstance(a, tn.Tensor) and a.requires_grad]
        tleaves = [a for a in targs if hasattr(a, "requires_grad") and a.requires_grad]
        got = tn.autograd.grad(
            [o for o, _ in pairs], leaves,
            [tn.tensor(g, device=device) for g in grads], allow_unused=True,
        )  # fmt: skip
        want = torch.autograd.grad(
            [to for _, to in pairs], tleaves, [torch.tensor(g) for g in grads], allow_unused=True
        )
        for k, (leaf, g, w) in enumerate(zip(leaves, got, want)):
            w = np.zeros(leaf.shape, np_dtype) if w is None else w.numpy()
            if g is None:
                assert not np.any(w), f"backward: no gradient for input {k}, torch has one"
                continue
            assert g.device == device, f"gradient {k} is on {g.device}, inputs on {device}"
            assert g.dtype == leaf.dtype, f"gradient {k}: dtype {g.dtype}, input {leaf.dtype}"
            _assert_close(_host(g), w, rtol, atol, f"gradient of input {k}")

    for k, (a, b) in enumerate(zip(args, before)):
        if b is not None:
            assert np.array_equal(_host(a), b, equal_nan=True), f"input {k} was modified in place"


# ----- the tests ----------------------------------------------------------------------------


def test_registry_is_filled():
    assert len(CASES) > 100, f"only {len(CASES)} (op, sample) cases registered"


def _without_samples(registry) -> list[str]:
    return sorted(n for n, op in registry.items() if not callable(op.samples))


def test_every_registered_op_has_samples():
    missing = _without_samples(REGISTRY)
    assert not missing, f"registered ops without samples: {missing}"
    for name, op in REGISTRY.items():
        assert issubclass(op, Function), f"{name} is registered but is no Function"
        assert op.__doc__ and op.__doc__.strip(), f"{name} has no docstring (its math)"


def test_an_op_without_samples_is_caught():
    class NoSamples(Function):
        """y = x
        dx = grad
        """

    assert _without_samples({"NoSamples": NoSamples, **REGISTRY}) == ["NoSamples"]


@pytest.mark.parametrize(("name", "error"), BROKEN or [pytest.param(None, None, id="none")])
def test_samples_build(name, error):
    assert error is None, f"{name}.samples() raised {error!r}"


def _subclasses(cls):
    out, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            out.append(sub)
            stack.append(sub)
    return out


def test_every_differentiable_function_is_registered():
    registered = set(REGISTRY.values())
    missing = sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in _subclasses(Function)
        if c.__module__.startswith("tinynet.")
        and c.differentiable
        and c not in registered
        and c.__name__ not in UNREGISTERED_OK
    )
    assert not missing, f"differentiable Functions missing from the registry: {missing}"


def _shapes(sample):
    return [a.shape if isinstance(a, (Int, Bool)) else a for a in sample.args if
            _is_shape(a) or isinstance(a, (Int, Bool))]  # fmt: skip


@pytest.mark.parametrize("name", BROADCASTING)
def test_binary_samples_broadcast_both_ways(name):
    assert name in REGISTRY, f"{name} is not registered"
    n_operands = 3 if name == "Where" else 2
    grown = [False] * n_operands  # operand i is broadcast up in some sample
    for s in REGISTRY[name].samples():
        shapes = _shapes(s)
        if len(shapes) != n_operands:
            continue
        if name == "Matmul":
            if any(len(sh) < 2 for sh in shapes):
                continue
            shapes = [sh[:-2] for sh in shapes]
        full = np.broadcast_shapes(*shapes)
        for i, sh in enumerate(shapes):
            grown[i] = grown[i] or tuple(sh) != full
    assert all(grown), (
        f"{name}: no sample broadcasts operand(s) {[i for i, g in enumerate(grown) if not g]}"
    )


@pytest.mark.parametrize(("op", "sample"), GRAD_CASES)
def test_gradcheck(op, sample):
    host = _host_inputs(op, sample)
    args = _tn_inputs(host, np.float64, tn.device("cpu"))
    outs = _outputs(_call(op, sample, args))
    # Inputs the sample's fn detaches (constants such as loss weights) get no gradient; check
    # the others (test_torch_parity checks that torch agrees on which inputs get one).
    diff = [o for o in outs if isinstance(o, tn.Tensor) and o.requires_grad]
    assert diff, "no output requires grad; set grad=False in the sample if none exists"
    leaves = [a for a in args if isinstance(a, tn.Tensor) and a.requires_grad]
    probe = tn.autograd.grad(diff, leaves, [tn.ones_like(o) for o in diff], allow_unused=True)
    for leaf, g in zip(leaves, probe):
        if g is None:
            leaf.requires_grad_(False)
    assert any(g is not None for g in probe), "no input receives a gradient"
    kw = {}
    if any(isinstance(o, tn.Tensor) and o.dtype.is_floating_point and o.dtype != tn.float64
           for o in outs):  # fmt: skip
        # a lower-precision output (a cast) cannot resolve eps=1e-6 differences
        kw = {"eps": 1e-3, "atol": 1e-3}
    assert tn.autograd.gradcheck(lambda *a: _call(op, sample, list(a)), args, **kw)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("op", "sample"), CASES)
def test_torch_parity(op, sample, dtype, device, torch):
    _check_parity(torch, op, sample, dtype, device)


@pytest.mark.parametrize(("op", "sample"), CASES)
def test_torch_parity_noncontiguous(op, sample, device, torch):
    _check_parity(torch, op, sample, "float64", device, noncontiguous=True)


@pytest.mark.parametrize(
    "fn",
    [lambda m, x: m.relu(x), lambda m, x: m.clamp(x, -0.5, 0.5),
     lambda m, x: m.maximum(x, m.zeros_like(x) + 0.3), lambda m, x: m.minimum(x, m.zeros_like(x))],
    ids=["relu", "clamp", "maximum", "minimum"],
)  # fmt: skip
def test_masking_backwards_keep_inf_and_nan_gradients_out_like_torch(fn, device, torch):
    """relu, clamp, maximum and minimum route the gradient by a select: an inf or NaN upstream
    gradient stays out of the positions they block (x * mask would put NaN there)."""
    x = np.array([-2.0, -0.2, 0.0, 0.3, 2.0, -1.0])
    g = np.array([np.inf, -np.inf, np.nan, 1.0, np.inf, 2.0])
    tx = torch.tensor(x, requires_grad=True)
    fn(torch, tx).backward(torch.tensor(g))
    ours = tn.tensor(x, requires_grad=True, device=device)
    fn(tn, ours).backward(tn.tensor(g, device=device))
    np.testing.assert_array_equal(ours.grad.cpu().numpy(), tx.grad.numpy())
