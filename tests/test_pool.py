"""max_pool2d, avg_pool2d, adaptive_avg_pool2d: PyTorch parity (forward, backward, double
backward), tie and NaN routing, every device, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from tinynet.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d

RTOL = {"float64": 1e-10, "float32": 1e-5}


def _close(actual, expected, dtype: str, what: str = ""):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert np.array_equal(np.isnan(actual), np.isnan(expected)), f"{what}: NaNs differ"
    scale = max(1.0, float(np.nanmax(np.abs(expected), initial=0.0)))
    err = float(np.nanmax(np.abs(actual - expected), initial=0.0)) / scale
    assert err <= RTOL[dtype], f"{what}: relative error {err:.3g} > {RTOL[dtype]}"


def _host(t):
    return t.detach().cpu().numpy()


def _parity(torch, tn_fn, torch_fn, x, dtype="float64", device="cpu", second=True):
    """Forward, backward, and the gradient of |dx|^2 with respect to x (through the scatter
    op's own backward) of tinynet vs torch."""
    tx = tn.tensor(x, dtype=getattr(tn, dtype), device=device, requires_grad=True)
    px = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    y, py = tn_fn(tx), torch_fn(px)
    _close(_host(y), py.detach().numpy(), dtype, "forward")
    g = np.random.default_rng(1).standard_normal(y.shape)
    gt = tn.tensor(g, dtype=getattr(tn, dtype), device=device, requires_grad=True)
    pg = torch.tensor(g, dtype=getattr(torch, dtype), requires_grad=True)
    (dx,) = tn.autograd.grad(y, [tx], gt, create_graph=second)
    (pdx,) = torch.autograd.grad(py, [px], pg, create_graph=second)
    _close(_host(dx), pdx.detach().numpy(), dtype, "backward")
    if second:  # |dx|^2 depends on the upstream gradient through the backward op
        (ddg,) = tn.autograd.grad((dx * dx).sum(), [gt])
        (pddg,) = torch.autograd.grad((pdx * pdx).sum(), [pg])
        _close(_host(ddg), pddg.numpy(), dtype, "double backward")


MAX_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, stride=3),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, dilation=2, stride=1, padding=1),
    dict(kernel_size=(2, 3), dilation=(2, 1), ceil_mode=True),
]


def _ids(kw):
    return ",".join(f"{k}={v}" for k, v in kw.items()).replace(" ", "")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw", MAX_CASES, ids=_ids)
def test_max_pool2d_matches_torch(torch, kw, dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8))
    _parity(torch, lambda t: max_pool2d(t, **kw),
            lambda t: torch.nn.functional.max_pool2d(t, **kw), x, dtype)  # fmt: skip


def test_max_pool2d_ties_go_to_the_first_maximum(torch):
    """Equal values in a window: PyTorch's CPU kernel sends the gradient to the first one."""
    x = np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0],
                    [3.0, 3.0, 3.0, 3.0]]]])  # fmt: skip
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)):
        _parity(torch, lambda t, kw=kw: max_pool2d(t, **kw),
                lambda t, kw=kw: torch.nn.functional.max_pool2d(t, **kw), x)  # fmt: skip
    x = tn.tensor(x, requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    assert x.grad.numpy()[0, 0].tolist() == [[1, 0, 0, 1], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]


@pytest.mark.parametrize("kw", MAX_CASES, ids=_ids)
def test_max_pool2d_return_indices_match_torch(torch, device, kw):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8))
    x[0, 0, :3, :3] = 0.5  # ties: the first maximum in the window
    x[1, 2, 4, 5] = np.nan  # NaN wins its windows
    y, idx = max_pool2d(tn.tensor(x, device=device), return_indices=True, **kw)
    ty, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    assert idx.dtype == tn.int64 and idx.device == device and not idx.requires_grad
    np.testing.assert_array_equal(_host(idx), tidx.numpy())
    np.testing.assert_array_equal(_host(y), ty.numpy())
    y3, idx3 = max_pool2d(tn.tensor(x[0], device=device), return_indices=True, **kw)  # (C, H, W)
    np.testing.assert_array_equal(_host(idx3), tidx[0].numpy())


def test_max_pool2d_module_returns_indices_and_keeps_the_gradient(torch):
    x = np.random.default_rng(2).standard_normal((1, 2, 6, 6))
    xt = tn.tensor(x, requires_grad=True)
    y, idx = tn.nn.MaxPool2d(2, return_indices=True)(xt)
    ty, tidx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    y.sum().backward()
    want = np.zeros(x.size)
    want[tidx.numpy().reshape(2, -1) + np.arange(2)[:, None] * 36] = 1.0
    np.testing.assert_array_equal(xt.grad.numpy().ravel(), want)


def test_max_pool2d_propagates_nan(torch):
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    x[0, 0, 1, 2] = np.nan
    y = max_pool2d(tn.tensor(x), 2)
    want = torch.nn.functional.max_pool2d(torch.tensor(x), 2)
    _close(_host(y), want.numpy(), "float64", "NaN forward")


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)],
                         ids=["disjoint", "overlapping"])  # fmt: skip
def test_max_pool2d_backward_with_nan_input_and_inf_grad(torch, device, kw):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 6, 6))
    x[0, 0, 1, 2] = x[0, 0, 0, 0] = x[1, 1, 3, 3] = np.nan  # two NaNs in one window: last wins
    x[1, 0, :2, :2] = 0.5  # a tie: the first tap wins
    t_x = torch.tensor(x, requires_grad=True)
    t_y = torch.nn.functional.max_pool2d(t_x, **kw)
    g = rng.standard_normal(tuple(t_y.shape))
    g[0, 1, 0, 0], g[1, 0, 0, 0] = np.inf, -np.inf
    t_y.backward(torch.tensor(g))
    xt = tn.tensor(x, requires_grad=True, device=device)
    y = max_pool2d(xt, **kw)
    y.backward(tn.tensor(g, device=device))
    # assert_allclose: equal infs and NaNs in the same places pass, nothing else does
    np.testing.assert_allclose(_host(y), t_y.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(_host(xt.grad), t_x.grad.numpy(), rtol=1e-12)
    assert np.isinf(t_x.grad.numpy()).sum() == 2  # the test does exercise infinite gradients


AVG_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=1, padding=1, count_include_pad=False),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=3, ceil_mode=True),
    dict(kernel_size=2, divisor_override=3),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw", AVG_CASES, ids=_ids)
def test_avg_pool2d_matches_torch(torch, kw, dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8))
    _parity(torch, lambda t: avg_pool2d(t, **kw),
            lambda t: torch.nn.functional.avg_pool2d(t, **kw), x, dtype)  # fmt: skip


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("size", [1, (2, 3), 4, (3, 5), (None, 2), (7, 8), 5])
def test_adaptive_avg_pool2d_matches_torch(torch, size, dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8))
    _parity(torch, lambda t: adaptive_avg_pool2d(t, size),
            lambda t: torch.nn.functional.adaptive_avg_pool2d(t, size), x, dtype)  # fmt: skip


def test_unbatched_inputs(torch):
    x = np.random.default_rng(0).standard_normal((3, 6, 6))
    F = torch.nn.functional
    for fn, tfn in (
        (lambda t: max_pool2d(t, 2), lambda t: F.max_pool2d(t, 2)),
        (lambda t: avg_pool2d(t, 3, 1, 1), lambda t: F.avg_pool2d(t, 3, 1, 1)),
        (lambda t: adaptive_avg_pool2d(t, 4), lambda t: F.adaptive_avg_pool2d(t, 4)),
    ):
        _parity(torch, fn, tfn, x)  # fmt: skip


def test_pool_gradchecks():
    rng = np.random.default_rng(0)
    x = tn.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    assert tn.autograd.gradcheck(lambda t: max_pool2d(t, 3, 2, 1), (x,))
    assert tn.autograd.gradcheck(lambda t: avg_pool2d(t, 3, 2, 1, ceil_mode=True), (x,))
    assert tn.autograd.gradcheck(lambda t: adaptive_avg_pool2d(t, (2, 3)), (x,))


def test_pools_on_every_device(torch, device):
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 7))
    F = torch.nn.functional
    for fn, tfn in (
        (
            lambda t: max_pool2d(t, 3, 2, 1, ceil_mode=True),
            lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
        ),
        (
            lambda t: avg_pool2d(t, 2, count_include_pad=False, padding=1),
            lambda t: F.avg_pool2d(t, 2, count_include_pad=False, padding=1),
        ),
        (lambda t: adaptive_avg_pool2d(t, (4, 3)), lambda t: F.adaptive_avg_pool2d(t, (4, 3))),
    ):
        _parity(torch, fn, tfn, x, device=device)  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: max_pool2d(tn.zeros(1, 1, 4, 4), 2, padding=2), ValueError,
         r"padding \(2, 2\) must be at most half"),
        (lambda: max_pool2d(tn.zeros(1, 1, 2, 2), 3), ValueError,
         r"kernel \(3, 3\).*larger than the padded input 2"),
        (lambda: max_pool2d(tn.zeros(1, 1, 4, 4), 2, stride=0), ValueError,
         "stride must be positive"),
        (lambda: max_pool2d(tn.zeros(4, 4), 2), ValueError, r"4-D.*\(4, 4\)"),
        (lambda: avg_pool2d(tn.zeros(1, 1, 4, 4), 0), ValueError, "kernel_size must be positive"),
        (lambda: avg_pool2d(tn.zeros(1, 1, 4, 4), 2, divisor_override=0), ValueError,
         "divisor_override must be a positive int"),
        (lambda: avg_pool2d(tn.zeros(1, 1, 4, 4, dtype=tn.int64), 2), RuntimeError, "float"),
        (lambda: adaptive_avg_pool2d(tn.zeros(1, 1, 4, 4), (1, 2, 3)), ValueError,
         "output_size must be an int or a pair"),
        (lambda: adaptive_avg_pool2d(tn.zeros(1, 1, 4, 4), 0), ValueError, "must be positive"),
    ],
)  # fmt: skip
def test_bad_pool_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
