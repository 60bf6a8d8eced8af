"""The layers, functions and losses a PyTorch user's script reaches for (issue 9), each
compared with PyTorch on the same weights and inputs, forward and backward, on every
device of the `device` fixture (cpu and the strict CuPy stand-in)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
import tinynet.nn.functional as F

RTOL = 1e-9


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "cpu") else t.detach().numpy()


def _pair(torch, device, *arrays, grad=True):
    """The same float64 arrays as tinynet tensors on `device` and as torch tensors."""
    ours, theirs = [], []
    for a in arrays:
        a = np.asarray(a)
        is_float = a.dtype.kind == "f"
        ours.append(tn.tensor(a, device=device, requires_grad=grad and is_float))
        theirs.append(torch.tensor(a).requires_grad_(grad and is_float))
    return ours, theirs


def _close(a, b, rtol=RTOL, what=""):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=what)


def _compare(torch, device, ours_fn, torch_fn, *arrays, rtol=RTOL):
    """Forward values and the gradients of every float input, tinynet vs torch."""
    ours, theirs = _pair(torch, device, *arrays)
    out, tout = ours_fn(*ours), torch_fn(*theirs)
    outs = out if isinstance(out, tuple) else (out,)
    touts = tout if isinstance(tout, tuple) else (tout,)
    for o, to in zip(outs, touts):
        assert o.device == device
        _close(_np(o), _np(to), rtol, "forward")
    o, to = outs[0], touts[0]
    if not to.requires_grad:
        return outs
    g = np.random.default_rng(1).standard_normal(tuple(to.shape))
    o.backward(tn.tensor(g, device=device))
    to.backward(torch.tensor(g))
    for k, (a, ta) in enumerate(zip(ours, theirs)):
        if ta.grad is not None:
            assert a.grad is not None, f"input {k} got no gradient; torch's has one"
            _close(_np(a.grad), _np(ta.grad), rtol, f"gradient of input {k}")
    return outs


def _module_pair(torch, device, ours: nn.Module, theirs):
    """Copy torch's weights into ours (checking the state_dict keys agree) and move it."""
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    return ours.to(device)


def _compare_module(torch, device, ours, theirs, *arrays, rtol=RTOL):
    ours = _module_pair(torch, device, ours.double(), theirs.double())
    outs = _compare(torch, device, ours, theirs, *arrays, rtol=rtol)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.grad is not None, f"parameter {name} got no gradient"
        _close(_np(p.grad), _np(tp.grad), rtol, f"gradient of {name}")
    assert repr(ours) == repr(theirs)
    return outs


def _x(*shape, scale=2.0, seed=0):
    return np.random.default_rng(seed).uniform(-scale, scale, shape)


# ----- activations ----------------------------------------------------------------------------

ACTIVATIONS = [
    ("SiLU", (), "silu", {}),
    ("Mish", (), "mish", {}),
    ("ELU", (0.7,), "elu", {"alpha": 0.7}),
    ("CELU", (1.3,), "celu", {"alpha": 1.3}),
    ("SELU", (), "selu", {}),
    ("Softplus", (2.0, 3.0), "softplus", {"beta": 2.0, "threshold": 3.0}),
    ("Hardtanh", (-0.5, 1.5), "hardtanh", {"min_val": -0.5, "max_val": 1.5}),
    ("ReLU6", (), "relu6", {}),
    ("Hardsigmoid", (), "hardsigmoid", {}),
    ("Hardswish", (), "hardswish", {}),
    ("LogSigmoid", (), "logsigmoid", {}),
    ("Softsign", (), "softsign", {}),
    ("Tanhshrink", (), "tanhshrink", {}),
    ("GLU", (1,), "glu", {"dim": 1}),
    ("LeakyReLU", (0.2,), "leaky_relu", {"negative_slope": 0.2}),
    ("GELU", ("tanh",), "gelu", {"approximate": "tanh"}),
]


@pytest.mark.parametrize(("cls", "args", "fn", "kw"), ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_module_and_function_match_torch(cls, args, fn, kw, device, torch):
    x = _x(4, 6, 3, scale=7.0)  # past every kink (+-3, 6, the softplus threshold)
    _compare_module(torch, device, getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args), x)
    _compare(torch, device, lambda a: getattr(F, fn)(a, **kw),
             lambda a: getattr(torch.nn.functional, fn)(a, **kw), x)  # fmt: skip


@pytest.mark.parametrize("name", ["silu", "elu", "hardtanh", "relu6", "hardswish", "hardsigmoid",
                                  "mish", "selu", "celu", "leaky_relu"])  # fmt: skip
def test_activation_inplace_argument_is_accepted(name, torch):
    x = _x(3, 5, scale=4.0)
    ours = getattr(F, name)(tn.tensor(x), inplace=True)
    theirs = getattr(torch.nn.functional, name)(torch.tensor(x), inplace=True)
    _close(_np(ours), theirs.numpy())


def test_prelu_matches_torch(device, torch):
    x = _x(2, 3, 4, 4)
    m, tm = nn.PReLU(3), torch.nn.PReLU(3)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor([0.1, -0.3, 0.7]))
    _compare_module(torch, device, m, tm, x)
    _compare_module(torch, device, nn.PReLU(), torch.nn.PReLU(), x)


def test_activation_errors():
    with pytest.raises(TypeError, match="silu.*floating point"):
        F.silu(tn.tensor([1, 2]))
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(RuntimeError, match="glu: halving dimension must be even"):
        F.glu(tn.randn(3, 5))


# ----- channel dropout --------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.3, 0.7])
def test_dropout2d_drops_whole_channels(p, device):
    x = tn.ones(64, 32, 3, 4, device=device, requires_grad=True)
    drop = nn.Dropout2d(p)
    y = drop(x)
    a = _np(y).reshape(64, 32, -1)
    per_channel = a[:, :, 0]
    assert np.all(a == per_channel[:, :, None]), "a channel was partly dropped"
    assert set(np.unique(per_channel)) <= {0.0, np.float32(1 / (1 - p))}
    kept = (per_channel != 0).mean()
    assert abs(kept - (1 - p)) < 0.05, f"kept {kept:.3f} of the channels, expected {1 - p}"
    y.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), _np(y))  # d(x * mask)/dx = mask
    drop.eval()
    assert drop(x) is x
    assert repr(drop) == "Dropout2d(p=0.3, inplace=False)".replace("0.3", str(p))


def test_dropout2d_edges(torch):
    x = tn.randn(2, 3, 4, 4)
    assert np.all(_np(F.dropout2d(x, 1.0)) == 0)
    assert F.dropout2d(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout2d(x, 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(-0.1)
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        y = F.dropout2d(tn.ones(4, 6, 5), 0.5)
    a = _np(y)
    assert np.all(a == a[:, :, :1]), "3-D input is (N, C, L): whole rows drop"
    y = F.dropout1d(tn.ones(6, 5), 0.5)
    assert np.all(_np(y) == _np(y)[:, :1])
    tn.manual_seed(3)
    first = _np(nn.Dropout2d()(tn.ones(4, 8, 2, 2)))
    tn.manual_seed(3)
    np.testing.assert_array_equal(first, _np(nn.Dropout2d()(tn.ones(4, 8, 2, 2))))


# ----- pooling and resampling -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "size"),
    [((2, 3, 7, 9), (3, 4)), ((1, 2, 8, 8), 4), ((2, 1, 5, 6), (7, 9)), ((3, 5, 6), (2, None)),
     ((1, 2, 6, 5), 1)],
)  # fmt: skip
def test_adaptive_max_pool2d_matches_torch(shape, size, device, torch):
    x = _x(*shape)
    out = _compare(torch, device, lambda a: F.adaptive_max_pool2d(a, size, return_indices=True),
                   lambda a: torch.nn.functional.adaptive_max_pool2d(a, size, True), x)  # fmt: skip
    assert out[1].dtype == tn.int64
    _compare_module(torch, device, nn.AdaptiveMaxPool2d(size), torch.nn.AdaptiveMaxPool2d(size), x)


def test_adaptive_max_pool2d_ties_pick_the_first_like_torch(torch):
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1:3, 1:3] = 1.0
    _compare(torch, "cpu", lambda a: F.adaptive_max_pool2d(a, 3, True),
             lambda a: torch.nn.functional.adaptive_max_pool2d(a, 3, True), x)  # fmt: skip


INTERP = [
    ((2, 3, 5, 4), {"size": (8, 7)}),
    ((2, 3, 5, 4), {"scale_factor": 2}),
    ((1, 2, 5, 7), {"scale_factor": 1.7}),
    ((1, 2, 5, 7), {"scale_factor": 1.7, "recompute_scale_factor": True}),
    ((1, 2, 9, 8), {"size": (4, 3)}),
    ((1, 2, 9, 8), {"scale_factor": (0.5, 0.4)}),
    ((2, 3, 6), {"size": 11}),
    ((1, 1, 1, 3), {"size": (3, 1)}),
]


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bilinear-ac"])
@pytest.mark.parametrize(("shape", "kw"), INTERP)
def test_interpolate_matches_torch(shape, kw, mode, device, torch):
    kw = dict(kw)
    if mode == "bilinear-ac":
        mode, kw["align_corners"] = "bilinear", True
    if mode == "bilinear" and len(shape) == 3:
        mode = "linear"
    x = _x(*shape)
    _compare(torch, device, lambda a: F.interpolate(a, mode=mode, **kw),
             lambda a: torch.nn.functional.interpolate(a, mode=mode, **kw), x)  # fmt: skip


def test_interpolate_float32_area_and_modules(device, torch):
    x = _x(2, 3, 7, 6).astype(np.float32)
    for kw in ({"mode": "bilinear", "scale_factor": 1.5}, {"mode": "nearest", "size": 11},
               {"mode": "area", "size": (3, 4)}):  # fmt: skip
        _compare(torch, device, lambda a, kw=kw: F.interpolate(a, **kw),
                 lambda a, kw=kw: torch.nn.functional.interpolate(a, **kw), x,
                 rtol=1e-5)  # fmt: skip
    x = _x(1, 2, 4, 5)
    for ours, theirs in [
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (nn.Upsample((6, 7), mode="bilinear"), torch.nn.Upsample((6, 7), mode="bilinear")),
        (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
        (nn.UpsamplingBilinear2d((8, 9)), torch.nn.UpsamplingBilinear2d((8, 9))),
    ]:
        _compare_module(torch, device, ours, theirs, x)


def test_interpolate_errors():
    x = tn.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        F.interpolate(tn.randn(1, 2, 4), size=3, mode="bilinear")
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(x, size=3, mode="bicubic")
    with pytest.raises(ValueError, match="spatial dimensions"):
        F.interpolate(x, size=(3, 3, 3))


# ----- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kw", "shape"),
    [((6,), {}, (4, 6)), (((5, 6),), {"eps": 1e-3}, (2, 3, 5, 6)),
     ((6,), {"elementwise_affine": False}, (3, 6)), ((6,), {"bias": False}, (3, 2, 6))],
)  # fmt: skip
def test_layer_norm_matches_torch(args, kw, shape, device, torch):
    ours, theirs = nn.LayerNorm(*args, **kw), torch.nn.LayerNorm(*args, **kw)
    with torch.no_grad():
        for p in theirs.parameters():  # not the ones/zeros start, so the affine part is tested
            p.uniform_(-1, 1)
    _compare_module(torch, device, ours, theirs, _x(*shape))


@pytest.mark.parametrize(
    ("groups", "channels", "kw", "shape"),
    [(2, 6, {}, (3, 6, 4, 5)), (3, 3, {"eps": 0.1}, (2, 3, 7)), (1, 4, {"affine": False},
     (2, 4, 3, 3)), (4, 8, {}, (2, 8))],
)  # fmt: skip
def test_group_norm_matches_torch(groups, channels, kw, shape, device, torch):
    ours, theirs = nn.GroupNorm(groups, channels, **kw), torch.nn.GroupNorm(groups, channels, **kw)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    _compare_module(torch, device, ours, theirs, _x(*shape))


def test_norm_errors():
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(tn.randn(2, 6, 3), 4)
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[5\]"):
        F.layer_norm(tn.randn(2, 4), (5,))
    with pytest.raises(RuntimeError, match="weight must have shape"):
        F.layer_norm(tn.randn(2, 4), (4,), tn.ones(3))


def test_layer_norm_double_backward_matches_torch(torch):
    x = _x(3, 5)
    w = _x(5, seed=1)
    (a, b), (ta, tb) = _pair(torch, "cpu", x, w)
    g = tn.autograd.grad(F.layer_norm(a, (5,), b).pow(3).sum(), [a, b], create_graph=True)
    tg = torch.autograd.grad(torch.nn.functional.layer_norm(ta, (5,), tb).pow(3).sum(), [ta, tb],
                             create_graph=True)  # fmt: skip
    gg = tn.autograd.grad((g[0] * g[0]).sum() + g[1].sum(), [a, b])
    tgg = torch.autograd.grad((tg[0] * tg[0]).sum() + tg[1].sum(), [ta, tb])
    for o, t in zip(gg, tgg):
        _close(_np(o), t.numpy())


# ----- embedding and one-hot ------------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [None, 0, -2])
def test_embedding_matches_torch(padding_idx, device, torch):
    ours = nn.Embedding(10, 4, padding_idx=padding_idx)
    theirs = torch.nn.Embedding(10, 4, padding_idx=padding_idx)
    idx = np.array([[1, 0, 8, 1], [0, 3, 3, 9]])
    ours = _module_pair(torch, device, ours.double(), theirs.double())
    out = ours(tn.tensor(idx, device=device))
    tout = theirs(torch.tensor(idx))
    _close(_np(out), _np(tout))
    g = np.random.default_rng(2).standard_normal(tuple(tout.shape))
    out.backward(tn.tensor(g, device=device))
    tout.backward(torch.tensor(g))
    _close(_np(ours.weight.grad), _np(theirs.weight.grad))
    assert repr(ours) == repr(theirs)
    fresh = nn.Embedding(10, 4, padding_idx=padding_idx)
    if padding_idx is not None:
        assert np.all(_np(fresh.weight)[padding_idx] == 0)


def test_embedding_from_pretrained_max_norm_and_functional(device, torch):
    table = _x(6, 3, scale=3.0)
    ours = nn.Embedding.from_pretrained(tn.tensor(table, device=device), max_norm=1.5)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), max_norm=1.5)
    assert not ours.weight.requires_grad
    idx = np.array([0, 2, 2, 5])
    _close(_np(ours(tn.tensor(idx, device=device))), _np(theirs(torch.tensor(idx))))
    _close(_np(ours.weight), _np(theirs.weight))  # the rows used were renormalised in place
    assert nn.Embedding.from_pretrained(tn.tensor(table), freeze=False).weight.requires_grad
    _compare(torch, device, lambda w, i: F.embedding(i, w, padding_idx=1),
             lambda w, i: torch.nn.functional.embedding(i, w, padding_idx=1),
             table, np.array([[1, 2], [1, 5]]))  # fmt: skip


def test_embedding_errors():
    w = tn.randn(5, 2)
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(tn.tensor([5]), w)
    with pytest.raises(RuntimeError, match="integer tensor"):
        F.embedding(tn.tensor([1.0]), w)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="2-dimensional"):
        nn.Embedding.from_pretrained(tn.randn(5))


def test_one_hot_matches_torch(device, torch):
    idx = np.array([[0, 3], [2, 1]])
    for n in (-1, 6):
        ours = F.one_hot(tn.tensor(idx, device=device), n)
        assert ours.dtype == tn.int64 and ours.device == device
        np.testing.assert_array_equal(_np(ours), torch.nn.functional.one_hot(
            torch.tensor(idx), n).numpy())  # fmt: skip
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(tn.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(tn.tensor([-1]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(tn.tensor([1.0]))


# ----- losses -----------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("cls", "fn", "kw"),
    [("L1Loss", "l1_loss", {}), ("MSELoss", "mse_loss", {}),
     ("SmoothL1Loss", "smooth_l1_loss", {"beta": 0.5}),
     ("SmoothL1Loss", "smooth_l1_loss", {"beta": 0.0}),
     ("HuberLoss", "huber_loss", {"delta": 0.7})],
)  # fmt: skip
def test_regression_losses_match_torch(cls, fn, kw, reduction, device, torch):
    x, y = _x(4, 5), _x(4, 5, seed=1)
    _compare_module(torch, device, getattr(nn, cls)(reduction=reduction, **kw),
                    getattr(torch.nn, cls)(reduction=reduction, **kw), x, y)  # fmt: skip
    _compare(torch, device, lambda a, b: getattr(F, fn)(a, b, reduction=reduction, **kw),
             lambda a, b: getattr(torch.nn.functional, fn)(a, b, reduction=reduction, **kw),
             x, y)  # fmt: skip


@pytest.mark.parametrize("fn", ["l1_loss", "mse_loss", "huber_loss"])
def test_weighted_regression_losses_match_torch(fn, device, torch):
    x, y, w = _x(3, 4), _x(3, 4, seed=1), np.abs(_x(3, 4, seed=2))
    for reduction in REDUCTIONS:
        _compare(torch, device,
                 lambda a, b, c, r=reduction: getattr(F, fn)(a, b, reduction=r,
                                                             weight=c.detach()),
                 lambda a, b, c, r=reduction: getattr(torch.nn.functional, fn)(
                     a, b, reduction=r, weight=c.detach()),
                 x, y, w)  # fmt: skip


def test_loss_broadcast_warning_and_legacy_arguments(torch):
    with pytest.warns(UserWarning, match="different to the input size"):
        F.l1_loss(tn.randn(3, 1), tn.randn(3, 4))
    with pytest.warns(UserWarning, match="reduction='sum'"):
        loss = nn.L1Loss(size_average=False)
    assert loss.reduction == "sum"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nn.MSELoss("sum").reduction == torch.nn.MSELoss("sum").reduction  # size_average!
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(tn.randn(2), tn.randn(2), beta=-1.0)
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        F.huber_loss(tn.randn(2), tn.randn(2), delta=0.0)
    with pytest.raises(ValueError, match="reduction"):
        nn.L1Loss(reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_loss_matches_torch(reduction, device, torch):
    rng = np.random.default_rng(0)
    p, t = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 2, (3,))
    _compare(torch, device, lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
             lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction=reduction),
             p, t)  # fmt: skip
    ours, theirs = nn.BCELoss(tn.tensor(w), reduction=reduction), torch.nn.BCELoss(
        torch.tensor(w), reduction=reduction)  # fmt: skip
    _compare(torch, device, lambda a, b: ours.to(device)(a, b), theirs, p, t)


@pytest.mark.filterwarnings("ignore:divide by zero")  # the target's gradient is +-inf, as torch's
def test_bce_loss_clamps_the_log_like_torch(device, torch):
    p = np.array([0.0, 1.0, 1e-50, 0.5, 1.0, 0.0])
    t = np.array([0.0, 1.0, 1.0, 0.5, 0.0, 1.0])
    _compare(torch, device, lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
             lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction="none"),
             p, t)  # fmt: skip
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(tn.tensor([1.5]), tn.tensor([1.0]))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(tn.tensor([0.5, 0.5]), tn.tensor([1.0]))


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target, device, torch):
    rng = np.random.default_rng(0)
    logp = np.log(rng.dirichlet(np.ones(5), 4))
    q = rng.dirichlet(np.ones(5), 4)
    t = np.log(q + 1e-3) if log_target else q.copy()
    t[0, 1] = -np.inf if log_target else 0.0  # 0 * log 0 = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare(torch, device,
                 lambda a, b: F.kl_div(a, b.detach(), reduction=reduction, log_target=log_target),
                 lambda a, b: torch.nn.functional.kl_div(a, b.detach(), reduction=reduction,
                                                         log_target=log_target),
                 logp, t)  # fmt: skip
        # torch's gradient for a target of exactly 0 is NaN (0 / 0 in xlogy's); a target
        # that requires grad is compared where it is positive
        _compare(
            torch,
            device,
            nn.KLDivLoss(reduction=reduction, log_target=log_target),
            torch.nn.KLDivLoss(reduction=reduction, log_target=log_target),
            logp,
            np.log(q + 1e-3) if log_target else q,
        )
    if reduction == "mean":
        with pytest.warns(UserWarning, match="batchmean"):
            F.kl_div(tn.tensor(logp), tn.tensor(q))


# ----- convolution padding modes -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "kw",
    [{"padding": 1}, {"padding": (2, 1), "stride": 2}, {"padding": "same", "dilation": 2},
     {"padding": "valid"}],
)  # fmt: skip
def test_conv2d_padding_modes_match_torch(mode, kw, device, torch):
    ours = nn.Conv2d(3, 4, (3, 2), padding_mode=mode, **kw)
    theirs = torch.nn.Conv2d(3, 4, (3, 2), padding_mode=mode, **kw)
    _compare_module(torch, device, ours, theirs, _x(2, 3, 7, 6))


def test_conv_base_builds_parameters_once_and_checks(torch):
    conv, tconv = nn.Conv2d(4, 6, 3, groups=2), nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert isinstance(conv, nn.layers._ConvNd) and isinstance(tconv, nn.layers._ConvNd)
    assert tuple(conv.weight.shape) == tuple(torch.nn.Conv2d(4, 6, 3, groups=2).weight.shape)
    assert tuple(tconv.weight.shape) == tuple(
        torch.nn.ConvTranspose2d(4, 6, 3, groups=2).weight.shape
    )
    assert repr(nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular", bias=False)) == repr(
        torch.nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular", bias=False)
    )
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='"zeros" padding mode'):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")


# ----- containers and shapes ----------------------------------------------------------------------


def test_containers_register_like_torch(device, torch):
    class Ours(nn.Module):
        def __init__(self, lib):
            super().__init__()
            self.heads = lib.ModuleDict({"a": lib.Linear(3, 2), "b": lib.Linear(3, 4)})
            self.gains = lib.ParameterList([lib.Parameter(tn.ones(2)), lib.Parameter(tn.ones(4))])
            self.extra = lib.ParameterDict({"s": lib.Parameter(tn.ones(1))})

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            L = torch.nn
            self.heads = L.ModuleDict({"a": L.Linear(3, 2), "b": L.Linear(3, 4)})
            self.gains = L.ParameterList([L.Parameter(torch.ones(2)), L.Parameter(torch.ones(4))])
            self.extra = L.ParameterDict({"s": L.Parameter(torch.ones(1))})

    ours, theirs = Ours(nn), Theirs()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict(theirs.state_dict())
    ours.to(device)
    x = _x(5, 3).astype(np.float32)
    y = ours.heads["a"](tn.tensor(x, device=device)) * ours.gains[0] * ours.extra["s"]
    ty = theirs.heads["a"](torch.tensor(x)) * theirs.gains[0] * \
        theirs.extra["s"]  # fmt: skip
    _close(_np(y), _np(ty), 1e-6)
    assert list(ours.heads) == ["a", "b"] and "b" in ours.heads and len(ours.gains) == 2
    ours.gains.append(tn.zeros(3))  # a plain tensor becomes a Parameter, as torch
    assert isinstance(ours.gains[-1], nn.Parameter) and len(list(ours.parameters())) == 8
    del ours.heads["b"]
    assert list(ours.heads.keys()) == ["a"]
    assert ours.extra.pop("s") is not None and len(ours.extra) == 0


def test_unflatten_matches_torch(device, torch):
    x = _x(2, 12, 3)
    for dim, sizes in [(1, (3, 4)), (-2, (2, -1, 3)), (0, (1, 2))]:
        _compare_module(torch, device, nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes),
                        x)  # fmt: skip
    with pytest.raises(RuntimeError, match="multiply up"):
        nn.Unflatten(1, (5, 2))(tn.randn(2, 12))


# ----- nn.utils, nn.grad, Module methods ---------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.5])
def test_clip_grad_norm_matches_torch(norm_type, device, torch):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours = [tn.zeros(*g.shape, dtype=tn.float64, device=device, requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for o, t, g in zip(ours, theirs, grads):
        o.grad, t.grad = tn.tensor(g, device=device), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, 0.7, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type)
    _close(float(total.item()), float(ttotal))
    for o, t in zip(ours, theirs):
        _close(_np(o.grad), t.grad.numpy())
    nn.utils.clip_grad_value_(ours, 0.1)
    torch.nn.utils.clip_grad_value_(theirs, 0.1)
    for o, t in zip(ours, theirs):
        _close(_np(o.grad), t.grad.numpy())


def test_clip_grad_norm_nonfinite():
    p = tn.zeros(3, requires_grad=True)
    p.grad = tn.tensor([1.0, float("inf"), 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    q = tn.zeros(2, requires_grad=True)  # no grad: skipped
    assert float(nn.utils.clip_grad_norm_([q], 1.0).item()) == 0.0


def test_parameters_vector_round_trip(device, torch):
    ours = nn.Linear(3, 2).to(device)
    theirs = torch.nn.Linear(3, 2)
    ours.load_state_dict(theirs.state_dict())
    v = nn.utils.parameters_to_vector(ours.parameters())
    _close(_np(v), torch.nn.utils.parameters_to_vector(theirs.parameters()).detach().numpy())
    nn.utils.vector_to_parameters(v * 2, ours.parameters())
    _close(_np(ours.bias), 2 * theirs.bias.detach().numpy(), 1e-6)
    with pytest.raises(RuntimeError, match="elements"):
        nn.utils.vector_to_parameters(v[:3], ours.parameters())


@pytest.mark.parametrize(
    "kw", [{}, {"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2, "padding": (1, 2)}]
)
def test_nn_grad_matches_torch(kw, device, torch):
    import torch.nn.grad as tgrad

    x, w = _x(2, 4, 9, 8), _x(6, 4 // kw.get("groups", 1), 3, 3, seed=1)
    y = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), **kw)
    dy = np.random.default_rng(2).standard_normal(tuple(y.shape))
    _compare(torch, device, lambda a, g: nn.grad.conv2d_weight(a, w.shape, g, **kw),
             lambda a, g: tgrad.conv2d_weight(a, w.shape, g, **kw), x, dy)  # fmt: skip
    _compare(torch, device, lambda b, g: nn.grad.conv2d_input(x.shape, b, g, **kw),
             lambda b, g: tgrad.conv2d_input(x.shape, b, g, **kw), w, dy)  # fmt: skip


def test_load_state_dict_returns_torchs_named_tuple(torch):
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    sd = {"weight": theirs.state_dict()["weight"], "extra": torch.zeros(1)}
    got = ours.load_state_dict(sd, strict=False)
    want = theirs.load_state_dict(sd, strict=False)
    assert got.missing_keys == want.missing_keys and got.unexpected_keys == want.unexpected_keys
    assert got == tuple(want)
    assert repr(ours.load_state_dict(theirs.state_dict())) == repr(
        theirs.load_state_dict(theirs.state_dict())
    )
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "bias"') as e:
        ours.load_state_dict(sd)
    assert 'Unexpected key(s) in state_dict: "extra"' in str(e.value)
    ours.load_state_dict(theirs.state_dict(), assign=True)


def test_module_methods_a_script_calls(device):
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    assert [n for n, _ in m.named_children()] == ["0", "1", "2", "3"]
    assert m.get_submodule("3") is m[3]
    m.to(device, non_blocking=True)
    assert m[3].weight.device == device
    m.apply(lambda mod: nn.init.zeros_(mod.bias) if isinstance(mod, nn.Linear) else None)
    assert not np.any(_np(m[3].bias))
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.register_buffer("steps", tn.zeros(1), persistent=False)
    assert "steps" not in m.state_dict() and "steps" in dict(m.named_buffers())


def test_containers_edit_like_torch(torch):
    for lib in (nn, torch.nn):
        s = lib.Sequential(lib.Linear(1, 2), lib.ReLU(), lib.Linear(2, 3))
        s.insert(-1, lib.Tanh())
        assert isinstance(s.pop(0), lib.Linear)
        del s[0]
        assert [type(m).__name__ for m in s] == ["Tanh", "Linear"]
        assert list(s._modules) == ["0", "1"]
        assert tuple(s.get_parameter("1.weight").shape) == (3, 2)
        ml = lib.ModuleList([lib.ReLU(), lib.Tanh()])
        assert isinstance(ml.pop(0), lib.ReLU) and len(ml) == 1
    bn = nn.Sequential(nn.BatchNorm2d(3))
    assert bn.get_buffer("0.running_var") is bn[0].running_var
    with pytest.raises(AttributeError, match="no parameter"):
        bn.get_parameter("0.nope")


def test_init_extras_match_torch(torch):
    w = tn.empty(300, 200)
    nn.init.trunc_normal_(w, std=0.5, a=-0.4, b=0.6)
    t = torch.nn.init.trunc_normal_(torch.empty(300, 200), std=0.5, a=-0.4, b=0.6)
    a = _np(w)
    assert a.min() >= -0.4 and a.max() <= 0.6
    assert abs(a.mean() - float(t.mean())) < 0.01 and abs(a.std() - float(t.std())) < 0.01
    for shape, groups in [((4, 2, 3, 3), 2), ((3, 5, 2), 1)]:
        ours = nn.init.dirac_(tn.empty(*shape), groups)
        np.testing.assert_array_equal(_np(ours), torch.nn.init.dirac_(torch.empty(shape), groups))
    np.testing.assert_array_equal(_np(nn.init.eye_(tn.empty(3, 5))),
                                  torch.nn.init.eye_(torch.empty(3, 5)).numpy())  # fmt: skip


def test_interpolate_to_the_same_size_is_a_new_tensor():
    x = tn.randn(1, 1, 3, 3)
    y = F.interpolate(x, size=(3, 3))
    assert y is not x
    np.testing.assert_array_equal(_np(y), _np(x))


def test_small_model_of_new_layers_trains_like_torch(device, torch):
    """One model using the new vocabulary: the same weights give the same loss and gradients."""

    def build(lib):
        return lib.Sequential(
            lib.Conv2d(3, 8, 3, padding=1, padding_mode="reflect"),
            lib.GroupNorm(4, 8),
            lib.SiLU(),
            lib.Dropout2d(0.3),
            lib.Upsample(scale_factor=2, mode="bilinear"),
            lib.Conv2d(8, 6, 3, stride=2, padding=1, padding_mode="circular"),
            lib.Hardswish(),
            lib.AdaptiveMaxPool2d((3, 3)),
            lib.Flatten(),
            lib.LayerNorm(54),
            lib.Linear(54, 5),
            lib.ELU(),
        )

    ours, theirs = build(nn), build(torch.nn).double()
    ours = _module_pair(torch, device, ours.double(), theirs)
    ours.eval(), theirs.eval()  # dropout off: the masks come from different generators
    x, y = _x(4, 3, 6, 5), np.array([0, 3, 1, 4])
    (a, t), (ta, tt) = _pair(torch, device, x, y)
    loss = F.cross_entropy(ours(a), t) + F.smooth_l1_loss(ours(a), ours(a).detach() * 0.5)
    tloss = torch.nn.functional.cross_entropy(theirs(ta), tt) + torch.nn.functional.smooth_l1_loss(
        theirs(ta), theirs(ta).detach() * 0.5
    )
    _close(float(loss.item()), float(tloss.detach()))
    loss.backward()
    tloss.backward()
    _close(_np(a.grad), ta.grad.numpy())
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(_np(p.grad), tp.grad.numpy(), what=name)


_T34 = tn.tensor(_x(3, 4, seed=9))  # a fixed target (constant while the input is perturbed)
GRADCHECK = {
    "interpolate-nearest": (lambda a: F.interpolate(a, scale_factor=1.5), (1, 2, 3, 4)),
    "interpolate-nearest-2x": (lambda a: F.interpolate(a, scale_factor=2), (1, 2, 3, 2)),
    "interpolate-bilinear": (lambda a: F.interpolate(a, size=(5, 3), mode="bilinear"),
                             (1, 2, 3, 4)),
    "interpolate-linear-ac": (lambda a: F.interpolate(a, size=7, mode="linear",
                                                      align_corners=True), (2, 1, 4)),
    "adaptive_max_pool2d": (lambda a: F.adaptive_max_pool2d(a, (2, 3)), (1, 2, 5, 7)),
    "embedding": (lambda w: F.embedding(tn.tensor([[0, 2], [2, 3]]), w), (4, 3)),
    "l1_loss": (lambda a: F.l1_loss(a, _T34), (3, 4)),
    "smooth_l1_loss": (lambda a: F.smooth_l1_loss(a, _T34, beta=0.6), (3, 4)),
    "huber_loss": (lambda a: F.huber_loss(a, _T34, delta=0.8), (3, 4)),
    "kl_div": (lambda a: F.kl_div(a, _T34.softmax(1), reduction="batchmean"), (3, 4)),
    "prelu": (lambda a: F.prelu(a, tn.tensor([0.2, -0.1], dtype=tn.float64)), (2, 2, 3)),
    "glu": (lambda a: F.glu(a, 0), (4, 3)),
    "normalize": (lambda a: F.normalize(a, dim=1), (3, 4)),
}  # fmt: skip


@pytest.mark.parametrize("name", GRADCHECK)
def test_composed_functions_pass_gradcheck(name):
    """The new functions built from registered ops (no Function of their own) in float64."""
    fn, shape = GRADCHECK[name]
    x = tn.tensor(_x(*shape, seed=3), requires_grad=True)
    assert tn.autograd.gradcheck(fn, [x])


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_similarities_match_torch(p, device, torch):
    a, b = _x(4, 5), _x(4, 5, seed=1)
    _compare(torch, device, nn.PairwiseDistance(p), torch.nn.PairwiseDistance(p), a, b)
    _compare(torch, device, lambda x, y: F.pairwise_distance(x, y, p, keepdim=True),
             lambda x, y: torch.nn.functional.pairwise_distance(x, y, p, keepdim=True),
             a, b)  # fmt: skip
    _compare(torch, device, nn.CosineSimilarity(), torch.nn.CosineSimilarity(), a, b)
    _compare(torch, device, lambda x, y: F.cosine_similarity(x, y, dim=-1),
             lambda x, y: torch.nn.functional.cosine_similarity(x, y, dim=-1),
             _x(3, 1, 4), _x(2, 4, seed=2))  # fmt: skip
