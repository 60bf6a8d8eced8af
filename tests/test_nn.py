"""tinynet.nn: Module machinery, layers against torch.nn, init, F's losses and their errors.

The fused Functions of nn.functional (Linear, BatchNorm, CrossEntropy, NllLoss,
BinaryCrossEntropyWithLogits) are in the op registry, so tests/test_ops.py runs
gradcheck and torch parity over their samples; this file covers the rest.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
import tinynet.nn.functional as F


def _np(t):
    return t.detach().numpy() if isinstance(t, tn.Tensor) else t.detach().cpu().numpy()


def _from_torch(torch_module, tn_module):
    """Copy a torch module's state into the same tinynet architecture."""
    tn_module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})


def _both_nets(torch):
    """The same CNN (every layer kind) in torch and in tinynet, float64, equal weights."""

    def build(m):
        return m.Sequential(
            m.Conv2d(3, 6, 3, padding=1),
            m.BatchNorm2d(6),
            m.ReLU(),
            m.MaxPool2d(2),
            m.Conv2d(6, 8, 3, stride=2, padding=1, bias=False),
            m.LeakyReLU(0.1),
            m.ConvTranspose2d(8, 4, 2, stride=2),
            m.GELU(),
            m.AvgPool2d(2),
            m.AdaptiveAvgPool2d(2),
            m.Flatten(),
            m.Dropout(0.3),
            m.Linear(16, 12),
            m.BatchNorm1d(12),
            m.Tanh(),
            m.Linear(12, 5),
            m.Sigmoid(),
        )

    tnet = build(torch.nn).double()
    net = build(nn).double()
    _from_torch(tnet, net)
    return tnet, net


# ----- Module machinery ----------------------------------------------------------------------


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
        self.scale = nn.Parameter(tn.ones(1))
        self.register_buffer("calls", tn.zeros(1))
        self.register_buffer("scratch", tn.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.bn(self.conv(x)).relu()) * self.scale


def test_registration_and_traversal():
    net = _Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias",
                     "head.1.weight", "head.1.bias"]  # fmt: skip
    assert [n for n, _ in net.named_buffers()] == [
        "calls",
        "scratch",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    ]
    assert [n for n, _ in net.named_children()] == ["conv", "bn", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "conv", "bn", "head", "head.0", "head.1"]
    assert len(list(net.parameters())) == 7 and len(list(net.modules())) == 6
    # state_dict: per module parameters, then persistent buffers, then children (torch's order)
    assert list(net.state_dict()) == [
        "scale", "calls", "conv.weight", "conv.bias", "bn.weight", "bn.bias",
        "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
        "head.1.weight", "head.1.bias",
    ]  # fmt: skip
    assert net.get_submodule("head.1") is net.head[1]
    assert isinstance(net.conv.weight, nn.Parameter) and net.conv.weight.requires_grad


def test_shared_parameters_are_listed_once():
    fc = nn.Linear(3, 3)
    net = nn.Sequential(fc, nn.ReLU(), fc)
    assert len(list(net.parameters())) == 2
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_train_eval_apply_zero_grad():
    net = _Net()
    assert net.training and net.head[1].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="bool"):
        net.train("yes")
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "_Net" and seen[0] == "Conv2d"
    net(tn.randn(2, 1, 8, 8)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    grads = [p.grad for p in net.parameters()]
    net.zero_grad(set_to_none=False)
    for p, old in zip(net.parameters(), grads):
        assert p.grad is not old and not p.grad.numpy().any()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_setattr_rules_and_errors():
    net = _Net()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        net.scale = tn.ones(1)
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="buffer 'calls'"):
        net.calls = 3
    net.calls = tn.ones(1)
    assert net.state_dict()["calls"].item() == 1.0
    with pytest.raises(AttributeError, match="'_Net' object has no attribute 'nope'"):
        net.nope  # noqa: B018
    with pytest.raises(KeyError, match="contain"):
        net.register_buffer("a.b", tn.zeros(1))
    with pytest.raises(TypeError, match="Parameter or None"):
        net.register_parameter("w", tn.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    del net.head
    assert "head" not in dict(net.named_children())


def test_forward_hook_dicts_are_used_by_call():
    # the hook registration API comes with the hooks work; __call__ already runs these dicts
    fc = nn.Linear(2, 2)
    calls = []
    fc._forward_pre_hooks[0] = lambda m, args: calls.append("pre")
    fc._forward_hooks[0] = lambda m, args, out: out * 0
    y = fc(tn.ones(1, 2))
    assert calls == ["pre"] and not y.detach().numpy().any()


def test_parameter():
    t = tn.randn(3)
    p = nn.Parameter(t)
    assert p.data is t.data and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    (p * 2).sum().backward()
    assert type(p.grad) is tn.Tensor  # a gradient is no Parameter
    assert not nn.Parameter(tn.zeros(2), requires_grad=False).requires_grad


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head.state_dict()) == ["2.weight", "2.bias"]
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    assert named(tn.ones(1, 2)).shape == (1, 2)
    seq.append(nn.Sigmoid())
    assert len(seq) == 4

    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    del ml[0]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2"]
    ml.insert(0, nn.ReLU())
    assert isinstance(ml[0], nn.ReLU) and isinstance(ml[1:], nn.ModuleList)
    with pytest.raises(NotImplementedError, match="forward"):
        ml(tn.ones(1))


def test_module_to_dtype_keeps_parameters():
    net = _Net()
    w = net.conv.weight
    net.double()
    assert net.conv.weight is w and w.dtype == tn.float64
    assert net.bn.running_mean.dtype == tn.float64
    assert net.bn.num_batches_tracked.dtype == tn.int64  # integers are never cast
    assert net(tn.randn(1, 1, 8, 8, dtype=tn.float64)).dtype == tn.float64
    with pytest.raises(TypeError, match="floating"):
        net.to(tn.int64)


def test_module_to_device(device):
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).to(device)
    assert all(t.device == device for t in [*net.parameters(), *net.buffers()])
    out = net(tn.randn(5, 3, device=device))
    out.sum().backward()
    assert out.device == device and net[0].weight.grad.device == device


# ----- state_dict ----------------------------------------------------------------------------


def test_load_state_dict_errors_and_strict():
    net, other = _Net(), _Net()
    sd = other.state_dict()
    before = _np(net.conv.weight).copy()
    bad = dict(sd)
    del bad["conv.bias"]
    bad["extra.weight"] = tn.zeros(1)
    bad["head.1.weight"] = tn.zeros(3, 7)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(bad)
    msg = str(e.value)
    assert 'Missing key(s) in state_dict: "conv.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for head.1.weight" in msg and "(3, 7)" in msg and "(3, 144)" in msg
    assert np.array_equal(_np(net.conv.weight), before), "nothing is copied on error"

    bad["head.1.weight"] = sd["head.1.weight"]
    res = net.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["conv.bias"] and res.unexpected_keys == ["extra.weight"]
    assert np.array_equal(_np(net.conv.weight), _np(other.conv.weight))
    with pytest.raises(RuntimeError, match="size mismatch"):
        net.load_state_dict({"head.1.weight": tn.zeros(1)}, strict=False)
    with pytest.raises(TypeError, match="dict"):
        net.load_state_dict([1, 2])


def test_state_dict_shares_memory_and_load_copies():
    net = nn.Linear(2, 2)
    sd = net.state_dict()
    assert sd["weight"].data is net.weight.data and not sd["weight"].requires_grad
    w = net.weight
    v0 = w._version
    net.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2)})
    assert net.weight is w and w._version > v0
    assert w.dtype == tn.float32 and np.all(_np(w) == 1)


def test_state_dict_keys_and_repr_match_torch(torch):
    tnet, net = _both_nets(torch)
    assert list(net.state_dict()) == list(tnet.state_dict())
    for k, v in tnet.state_dict().items():
        assert tuple(net.state_dict()[k].shape) == tuple(v.shape), k
    assert repr(net) == repr(tnet)
    extra = [nn.Conv2d(2, 4, (3, 5), stride=(2, 1), padding=1, dilation=2,
                       groups=2, bias=False),
             nn.Conv2d(2, 4, 3, padding="same"),
             nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
             nn.MaxPool2d(3, 2, 1), nn.BatchNorm1d(3, momentum=None, affine=False),
             nn.BatchNorm2d(2, bias=False),
             nn.ReLU(inplace=True), nn.GELU("tanh"), nn.Softmax(1), nn.Identity(),
             nn.CrossEntropyLoss(), nn.MSELoss(), nn.Linear(3, 2, bias=False)]  # fmt: skip
    textra = [torch.nn.Conv2d(2, 4, (3, 5), stride=(2, 1), padding=1, dilation=2, groups=2,
                              bias=False),
              torch.nn.Conv2d(2, 4, 3, padding="same"),
              torch.nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
              torch.nn.MaxPool2d(3, 2, 1), torch.nn.BatchNorm1d(3, momentum=None, affine=False),
              torch.nn.BatchNorm2d(2, bias=False),
              torch.nn.ReLU(inplace=True), torch.nn.GELU("tanh"), torch.nn.Softmax(1),
              torch.nn.Identity(), torch.nn.CrossEntropyLoss(), torch.nn.MSELoss(),
              torch.nn.Linear(3, 2, bias=False)]  # fmt: skip
    for a, b in zip(extra, textra):
        assert repr(a) == repr(b)


# ----- layers against torch ------------------------------------------------------------------


def test_cnn_forward_backward_matches_torch(torch):
    tnet, net = _both_nets(torch)
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8))
    for mode in ("train", "eval"):
        getattr(tnet, mode)()
        getattr(net, mode)()
        net[11].p = tnet[11].p = 0.0 if mode == "train" else 0.3  # dropout: no randomness
        tx = torch.tensor(x, requires_grad=True)
        ty = tnet(tx)
        xt = tn.tensor(x, requires_grad=True)
        y = net(xt)
        np.testing.assert_allclose(_np(y), _np(ty), rtol=1e-9, atol=1e-12)
        g = np.random.default_rng(1).standard_normal(ty.shape)
        ty.backward(torch.tensor(g))
        y.backward(tn.tensor(g))
        np.testing.assert_allclose(_np(xt.grad), _np(tx.grad), rtol=1e-8, atol=1e-12)
        tparams = dict(tnet.named_parameters())
        for name, p in net.named_parameters():
            np.testing.assert_allclose(_np(p.grad), _np(tparams[name].grad), rtol=1e-8,
                                       atol=1e-12, err_msg=name)  # fmt: skip
        for name, b in tnet.named_buffers():
            np.testing.assert_allclose(_np(net.state_dict()[name]), _np(b), rtol=1e-12,
                                       err_msg=name)  # fmt: skip
        tnet.zero_grad()
        net.zero_grad()


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("dims", [2, 3, 4])
def test_batchnorm_running_stats_match_torch(torch, momentum, dims):
    shape = {2: (6, 3), 3: (5, 3, 4), 4: (4, 3, 2, 5)}[dims]
    cls = "BatchNorm2d" if dims == 4 else "BatchNorm1d"
    bn = getattr(nn, cls)(3, momentum=momentum).double()
    tbn = getattr(torch.nn, cls)(3, momentum=momentum).double()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        tbn.weight.copy_(torch.tensor(rng.uniform(0.5, 2, 3)))
        tbn.bias.copy_(torch.tensor(rng.uniform(-1, 1, 3)))
    _from_torch(tbn, bn)
    for step in range(3):
        x = rng.standard_normal(shape) * (step + 1) + step
        np.testing.assert_allclose(_np(bn(tn.tensor(x))), _np(tbn(torch.tensor(x))), rtol=1e-10,
                                   atol=1e-12)  # fmt: skip
    for name, b in tbn.named_buffers():
        np.testing.assert_allclose(_np(getattr(bn, name)), _np(b), rtol=1e-12, err_msg=name)
    assert bn.num_batches_tracked.item() == 3
    bn.eval()
    tbn.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(_np(bn(tn.tensor(x))), _np(tbn(torch.tensor(x))), rtol=1e-10)


def test_batchnorm_without_running_stats_or_affine(torch):
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2))
    for kw in ({"track_running_stats": False}, {"affine": False}):
        bn, tbn = nn.BatchNorm2d(3, **kw).double(), torch.nn.BatchNorm2d(3, **kw).double()
        bn.eval()
        tbn.eval()
        np.testing.assert_allclose(_np(bn(tn.tensor(x))), _np(tbn(torch.tensor(x))), rtol=1e-10)
    assert list(nn.BatchNorm2d(3, track_running_stats=False).state_dict()) == ["weight", "bias"]


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="expected 4D input, got 2D"):
        nn.BatchNorm2d(3)(tn.randn(2, 3))
    with pytest.raises(ValueError, match="5 channels"):
        nn.BatchNorm1d(3)(tn.randn(2, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tn.randn(1, 3))
    with pytest.raises(RuntimeError, match=r"running_mean must have shape \(3,\)"):
        F.batch_norm(tn.randn(2, 3), tn.zeros(4), tn.ones(3), training=True)
    with pytest.raises(RuntimeError, match="eval mode"):
        F.batch_norm(tn.randn(2, 3), None, None, training=False)


def test_double_backward_through_fused_ops_matches_torch(torch):
    """A gradient penalty differentiates the backward of linear, batch_norm and cross_entropy."""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    gw, gb = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    target = np.array([0, 2, 1, 1, 0, 2])

    def run(lib, F_, tensor, grad):
        xs, ws, bs = (tensor(a, requires_grad=True) for a in (x, w, b))
        gws, gbs = (tensor(a, requires_grad=True) for a in (gw, gb))
        h = F_.batch_norm(F_.linear(xs, ws, bs), None, None, gws, gbs, training=True)
        loss = F_.cross_entropy(h * 3, lib.tensor(target), label_smoothing=0.1)
        (gx,) = grad(loss, [xs], create_graph=True)
        penalty = (gx * gx).sum()
        return [_np(g) for g in grad(penalty, [xs, ws, bs, gws, gbs])]

    ours = run(tn, F, lambda a, **k: tn.tensor(a, **k), tn.autograd.grad)
    theirs = run(torch, torch.nn.functional, lambda a, **k: torch.tensor(a, **k),
                 torch.autograd.grad)  # fmt: skip
    for a, e in zip(ours, theirs):
        np.testing.assert_allclose(a, e, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize(
    "shape,kw",
    [((5, 4), {"reduction": "sum", "ignore_index": 1}),
     ((5, 4), {"weight": (0.5, 2.0, 1.0, 0.25), "label_smoothing": 0.3}),
     ((2, 4, 3), {"reduction": "none", "label_smoothing": 0.1, "ignore_index": 0})],
    ids=["sum-ignore", "weight-smooth", "kdim-none"],
)  # fmt: skip
def test_cross_entropy_double_backward_matches_torch(torch, shape, kw):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(shape)
    target = rng.integers(0, shape[1], (shape[0],) + shape[2:])

    def run(lib, F_, grad):
        kws = dict(kw)
        if "weight" in kws:
            kws["weight"] = lib.tensor(kws["weight"], dtype=lib.float64)
        x = lib.tensor(logits, requires_grad=True)
        loss = F_.cross_entropy(x, lib.tensor(target), **kws).sum()
        (gx,) = grad(loss, [x], create_graph=True)
        (ggx,) = grad((gx * gx * gx).sum(), [x])
        return _np(gx), _np(ggx)

    for a, e in zip(run(tn, F, tn.autograd.grad),
                    run(torch, torch.nn.functional, torch.autograd.grad)):  # fmt: skip
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-12)


def test_linear_errors():
    with pytest.raises(RuntimeError, match=r"input has 3 features.*weight expects 4"):
        F.linear(tn.randn(2, 3), tn.randn(5, 4))
    with pytest.raises(RuntimeError, match="float64 but weight is float32"):
        F.linear(tn.randn(2, 4, dtype=tn.float64), tn.randn(5, 4))
    with pytest.raises(RuntimeError, match=r"bias must have shape \(5,\)"):
        F.linear(tn.randn(2, 4), tn.randn(5, 4), tn.randn(4))


# ----- init ----------------------------------------------------------------------------------


def test_default_init_bounds_match_torch_formula():
    for layer, fan_in in [(nn.Linear(300, 200), 300), (nn.Conv2d(8, 64, 5), 200),
                          (nn.ConvTranspose2d(64, 8, 5), 200)]:  # fmt: skip
        bound = 1 / math.sqrt(fan_in)
        for p in (layer.weight, layer.bias):
            a = _np(p)
            assert np.abs(a).max() <= bound
            if a.size > 10000:  # U(-b, b): max near b, std b / sqrt(3)
                assert np.abs(a).max() > 0.99 * bound
                assert abs(a.std() - bound / math.sqrt(3)) < 0.02 * bound


def test_init_functions_match_torch(torch):
    ti = torch.nn.init
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                        ("selu", None)]:  # fmt: skip
        assert nn.init.calculate_gain(name, param) == ti.calculate_gain(name, param)
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")
    for shape in [(5, 3), (4, 3, 2, 2), (6, 2, 3)]:
        assert nn.init._calculate_fan_in_and_fan_out(tn.zeros(*shape)) == \
            ti._calculate_fan_in_and_fan_out(torch.zeros(*shape))  # fmt: skip
    with pytest.raises(ValueError, match="fewer than 2"):
        nn.init.kaiming_uniform_(tn.zeros(3))

    w = tn.zeros(400, 300)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(_np(w).std() - math.sqrt(2 / 400)) < 0.02 * math.sqrt(2 / 400)
    nn.init.xavier_uniform_(w, gain=2.0)
    a = 2.0 * math.sqrt(6 / 700)
    assert np.abs(_np(w)).max() <= a and np.abs(_np(w)).max() > 0.99 * a
    nn.init.xavier_normal_(w)
    assert abs(_np(w).std() - math.sqrt(2 / 700)) < 0.02 * math.sqrt(2 / 700)
    p = nn.Parameter(tn.zeros(3))  # in place on a parameter: no_grad inside
    v = p._version
    nn.init.constant_(p, 2.5)
    assert np.all(_np(p) == 2.5) and p._version > v
    nn.init.ones_(p)
    nn.init.zeros_(p)
    assert not _np(p).any()
    nn.init.normal_(p, 3.0, 0.0)
    nn.init.uniform_(w, -1, 1)
    assert np.all(_np(p) == 3.0) and -1 <= _np(w).min() and _np(w).max() < 1


def test_init_is_seeded():
    tn.manual_seed(3)
    a = _np(nn.Linear(4, 4).weight).copy()
    tn.manual_seed(3)
    assert np.array_equal(a, _np(nn.Linear(4, 4).weight))


# ----- dropout -------------------------------------------------------------------------------


def test_dropout():
    x = tn.ones(200, 100)
    y = F.dropout(x, 0.3).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(-0.1)
    drop = nn.Dropout(0.5)
    drop.eval()
    assert drop(x) is x
    xg = tn.ones(4, 5, requires_grad=True)
    out = F.dropout(xg, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(_np(xg.grad), out.detach().numpy())  # grad = mask / (1-p)


# ----- losses ----------------------------------------------------------------------------------


def test_cross_entropy_is_stable_at_huge_logits(torch):
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 3.0], [5.0, 5.0, 1e4]])
    target = np.array([0, 2, 1])
    for kw in ({}, {"label_smoothing": 0.2}, {"reduction": "none"}):
        x = tn.tensor(logits, requires_grad=True)
        loss = F.cross_entropy(x, tn.tensor(target), **kw)
        tx = torch.tensor(logits, requires_grad=True)
        tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(target), **kw)
        assert np.all(np.isfinite(_np(loss)))
        np.testing.assert_allclose(_np(loss), _np(tloss), rtol=1e-12)
        loss.sum().backward()
        tloss.sum().backward()
        np.testing.assert_allclose(_np(x.grad), _np(tx.grad), rtol=1e-12, atol=1e-15)


def test_cross_entropy_float32_module_and_ignore(torch):
    rng = np.random.default_rng(0)
    logits, target = rng.standard_normal((8, 4)).astype(np.float32), rng.integers(0, 4, 8)
    target[:3] = -1
    w = np.array([1.0, 2.0, 0.5, 1.5], np.float32)
    crit = nn.CrossEntropyLoss(tn.tensor(w), ignore_index=-1, label_smoothing=0.05)
    tcrit = torch.nn.CrossEntropyLoss(torch.tensor(w), ignore_index=-1, label_smoothing=0.05)
    assert list(crit.state_dict()) == list(tcrit.state_dict()) == ["weight"]
    out = crit(tn.tensor(logits), tn.tensor(target))
    assert out.dtype == tn.float32
    np.testing.assert_allclose(_np(out), _np(tcrit(torch.tensor(logits), torch.tensor(target))),
                               rtol=1e-6)  # fmt: skip


def test_cross_entropy_errors():
    x = tn.randn(4, 3)
    with pytest.raises(TypeError, match=r"integer class indices.*float32.*\(4,\).*long\(\)"):
        F.cross_entropy(x, tn.zeros(4))
    with pytest.raises(IndexError, match=r"target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, tn.tensor([0, 1, 3, 0]))
    with pytest.raises(IndexError, match=r"target -2 is out of bounds"):
        F.cross_entropy(x, tn.tensor([0, -2, 1, 0]))
    with pytest.raises(ValueError, match=r"batch size 4 does not match target batch size 5"):
        F.cross_entropy(x, tn.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(RuntimeError, match=r"expected target shape \(4,\)"):
        F.cross_entropy(x, tn.tensor([[0], [1], [2], [0]]))
    with pytest.raises(TypeError, match="floating point"):
        F.cross_entropy(tn.tensor([[1, 2]]), tn.tensor([0]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, tn.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(RuntimeError, match=r"weight must have one entry per class"):
        F.cross_entropy(x, tn.tensor([0, 1, 2, 0]), tn.ones(4))
    with pytest.raises(RuntimeError, match="not differentiable with respect to weight"):
        F.cross_entropy(x, tn.tensor([0, 1, 2, 0]), tn.ones(3, requires_grad=True))
    # ignore_index may lie outside [0, C)
    assert np.isfinite(F.cross_entropy(x, tn.tensor([0, -100, 2, 0])).item())


def test_nll_loss_matches_log_softmax_then_pick(torch):
    rng = np.random.default_rng(0)
    logits, target = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    x = tn.tensor(logits, requires_grad=True)
    loss = F.nll_loss(F.log_softmax(x, 1), tn.tensor(target))
    ref = F.cross_entropy(tn.tensor(logits), tn.tensor(target))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    with pytest.raises(TypeError, match="integer class indices"):
        nn.NLLLoss()(x, tn.tensor(target).double())


def test_mse_and_bce_modules(torch):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4))
    for reduction in ("mean", "sum", "none"):
        np.testing.assert_allclose(
            _np(nn.MSELoss(reduction=reduction)(tn.tensor(a), tn.tensor(b))),
            _np(torch.nn.MSELoss(reduction=reduction)(torch.tensor(a), torch.tensor(b))),
            rtol=1e-12,
        )
    with pytest.warns(UserWarning, match="broadcast"):
        F.mse_loss(tn.tensor(a), tn.tensor(b[0]))
    big = np.array([[-1e4, 1e4, 0.0, 30.0]])
    t = np.array([[1.0, 0.0, 0.5, 1.0]])
    pw = np.array([2.0, 1.0, 0.5, 3.0])
    x = tn.tensor(big, requires_grad=True)
    loss = nn.BCEWithLogitsLoss(pos_weight=tn.tensor(pw))(x, tn.tensor(t))
    tx = torch.tensor(big, requires_grad=True)
    tloss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))(tx, torch.tensor(t))
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(_np(x.grad), _np(tx.grad), rtol=1e-12)
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(tn.zeros(3), tn.zeros(3, 1))
    with pytest.raises(TypeError, match="floating point"):
        F.binary_cross_entropy_with_logits(tn.zeros(3), tn.tensor([0, 1, 1]))


# ----- training smoke test ---------------------------------------------------------------------


def test_mlp_learns_two_moons_like_task():
    rng = np.random.default_rng(0)
    n = 256
    angle = rng.uniform(0, math.pi, n)
    label = rng.integers(0, 2, n)
    xs = np.stack([np.cos(angle) + label, np.sin(angle) * (1 - 2 * label) + 0.5 * label], 1)
    xs = (xs + 0.1 * rng.standard_normal(xs.shape)).astype(np.float32)
    net = nn.Sequential(nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.1),
                        nn.Linear(32, 2))  # fmt: skip
    opt = tn.optim.Adam(net.parameters(), lr=0.02)
    x, y = tn.tensor(xs), tn.tensor(label)
    for _ in range(150):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    net.eval()
    acc = (net(x).argmax(1).numpy() == label).mean()
    assert acc > 0.95, f"accuracy {acc}"
