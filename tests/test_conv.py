"""conv2d, conv_transpose2d and conv2d_weight: PyTorch parity over a grid of every option,
the plain-loop reference (tinynet/ops/conv_reference.py) as an independent oracle,
gradchecks, second derivatives, the 5x100x100 case by per-channel correlations, bad input.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from conftest import FakeBlas

import tinynet as tn
from tinynet.ops import conv as conv_ops
from tinynet.ops import conv_reference as ref
from tinynet.ops.conv import conv2d, conv2d_input, conv2d_weight, conv_transpose2d

RTOL = {"float64": 1e-10, "float32": 1e-4}


def _close(actual, expected, dtype: str, what: str = ""):
    """Relative to the largest magnitude (sums of products cancel: elementwise rtol is moot)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    err = float(np.abs(actual - expected).max(initial=0.0)) / scale
    assert err <= RTOL[dtype], f"{what}: relative error {err:.3g} > {RTOL[dtype]}"


def _host(t):
    return t.detach().cpu().numpy()


def _torch_conv(torch, *args, **kw):
    with warnings.catch_warnings():  # "same" with an even kernel: torch warns it pads a copy
        warnings.simplefilter("ignore")
        return torch.nn.functional.conv2d(*args, **kw)


def _run_both(torch, x, w, b, dtype, kw, device="cpu"):
    """(tinynet, torch) pairs of y, dx, dw, db for one conv2d with a random upstream gradient."""
    rng = np.random.default_rng(1)
    tx, tw = (tn.tensor(a, dtype=getattr(tn, dtype), device=device, requires_grad=True)
              for a in (x, w))  # fmt: skip
    tb = None if b is None else tn.tensor(b, dtype=getattr(tn, dtype), device=device,
                                          requires_grad=True)  # fmt: skip
    y = conv2d(tx, tw, tb, **kw)
    g = rng.standard_normal(y.shape)
    grads = tn.autograd.grad(y, [t for t in (tx, tw, tb) if t is not None],
                             tn.tensor(g, dtype=getattr(tn, dtype), device=device))  # fmt: skip
    px, pw = (torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in (x, w))
    pb = None if b is None else torch.tensor(b, dtype=getattr(torch, dtype), requires_grad=True)
    py = _torch_conv(torch, px, pw, pb, **kw)
    pgrads = torch.autograd.grad(py, [t for t in (px, pw, pb) if t is not None],
                                 torch.tensor(g, dtype=getattr(torch, dtype)))  # fmt: skip
    names = ["y", "dx", "dw", "db"]
    return [(n, _host(a), b_.detach().numpy()) for n, a, b_ in
            zip(names, [y, *grads], [py, *pgrads])]  # fmt: skip


# ----- the parity grid -----------------------------------------------------------------------

KERNELS = [(1, 1), (3, 3), (2, 2), (3, 2)]  # 1x1, odd, even, non-square
STRIDES = [1, 2, (3, 1)]  # 3 > a kernel of 1 or 2: stride larger than the kernel
PADDINGS = [0, 1, (2, 0), "same", "valid"]
DILATIONS = [1, (2, 3)]


def _geometry_cases():
    """Every combination, in float64; every third also in float32 (torch is the slow half)."""
    cases = []
    for k, s, p, d in itertools.product(KERNELS, STRIDES, PADDINGS, DILATIONS):
        if p == "same" and s != 1:
            continue  # not defined for strided convs (tested as an error below)
        dd = (d, d) if isinstance(d, int) else d
        if any(di * (ki - 1) + 1 > 7 for di, ki in zip(dd, k)):
            continue
        name = f"k{k}-s{s}-p{p}-d{d}".replace(" ", "")
        cases.append(pytest.param(k, s, p, d, "float64", id=name + "-float64"))
        if len(cases) % 3 == 0:
            cases.append(pytest.param(k, s, p, d, "float32", id=name + "-float32"))
    return cases


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation", "dtype"), _geometry_cases())
def test_geometry_grid_matches_torch(torch, kernel, stride, padding, dilation, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 8))
    w = rng.standard_normal((6, 2) + kernel)
    b = rng.standard_normal(6)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=2)
    for name, a, e in _run_both(torch, x, w, b, dtype, kw):
        _close(a, e, dtype, name)


# (N, C, F, groups): batch of one and more; one and many channels and filters; grouped,
# depthwise (groups = C) and depthwise with a channel multiplier.
CHANNELS = [(1, 1, 1, 1), (3, 1, 4, 1), (1, 3, 5, 1), (2, 4, 6, 2), (2, 6, 6, 6), (1, 4, 8, 4),
            (2, 6, 9, 3)]  # fmt: skip
GEOMS = [dict(), dict(padding=1), dict(stride=2, padding=(1, 0), dilation=(2, 1)),
         dict(padding="same", dilation=2)]  # fmt: skip


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("geom", GEOMS, ids=lambda g: ",".join(f"{k}={v}" for k, v in g.items()))
@pytest.mark.parametrize(("N", "C", "F", "groups"), CHANNELS)
def test_channel_grid_matches_torch(torch, N, C, F, groups, geom, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, 6, 7))
    w = rng.standard_normal((F, C // groups, 3, 2))
    bias = rng.standard_normal(F) if (N + len(geom)) % 2 else None  # half the cases with bias
    for name, a, e in _run_both(torch, x, w, bias, dtype, dict(geom, groups=groups)):
        _close(a, e, dtype, name)


def test_blocks_of_images_match_torch(torch, monkeypatch):
    """Batches larger than one block (and a ragged last block) give the same numbers."""
    monkeypatch.setattr(conv_ops, "BLOCK_BYTES", 3000)
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((7, 4, 9, 9)), rng.standard_normal((6, 2, 3, 3)), None
    for kw in (dict(groups=2), dict(stride=2, padding=1, groups=2), dict(padding="same")):
        if kw.get("groups") is None:
            w = rng.standard_normal((6, 4, 3, 3))
        for name, a, e in _run_both(torch, x, w, b, "float64", kw):
            _close(a, e, "float64", name)


@pytest.mark.parametrize("N", [2, 7])
def test_threaded_split_matches_torch(torch, monkeypatch, N):
    """The CPU backend's split (each thread its own images, BLAS single-threaded) gives the
    same numbers for every pass and code path: wide and strided columns, col2im and the
    flipped-kernel input gradient, several blocks per thread and a ragged last one."""
    from tinynet.backend import cpu

    blas = FakeBlas()
    monkeypatch.setattr(cpu, "_blas_controllers", lambda: [blas])
    monkeypatch.setattr(cpu, "split_min_flops", 0)
    monkeypatch.setattr(cpu, "serial_min_flops", 0)
    monkeypatch.setattr(cpu, "conv_block_bytes", 3000)
    calls = []
    real = cpu.split
    spy = lambda work, n, *a, **k: calls.append(n) or real(work, n, *a, **k)  # noqa: E731
    monkeypatch.setattr(cpu, "split", spy)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 4, 9, 9))
    cases = [(dict(groups=2), (6, 2, 3, 3)), (dict(stride=2, padding=1), (6, 4, 3, 3)),
             (dict(padding="same"), (3, 4, 3, 3)),
             (dict(dilation=2, padding=1), (8, 4, 2, 2))]  # fmt: skip
    for kw, w_shape in cases:
        w, b = rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
        for dtype in ("float64", "float32"):
            for name, a, e in _run_both(torch, x, w, b, dtype, kw):
                _close(a, e, dtype, f"{kw} {dtype} {name}")
    assert calls and blas.set[:2] == [1, 2], "the split ran with BLAS at one thread, then 2"
    assert blas.num_threads == 2


def test_noncontiguous_and_unbatched_inputs(torch):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((3, 5, 6, 2))
    x = tn.tensor(base).permute(3, 1, 2, 0)  # (2, 5, 6, 3), not contiguous
    w = tn.tensor(rng.standard_normal((4, 5, 1, 1)))
    want = torch.nn.functional.conv2d(
        torch.tensor(base).permute(3, 1, 2, 0), torch.tensor(w.numpy())
    )
    _close(_host(conv2d(x, w)), want.numpy(), "float64", "1x1 on a permuted input")
    x3 = rng.standard_normal((5, 6, 6))
    w3 = rng.standard_normal((2, 5, 3, 3))
    got = conv2d(tn.tensor(x3), tn.tensor(w3), padding=1)
    assert got.shape == (2, 6, 6)
    _close(_host(got), _torch_conv(torch, torch.tensor(x3), torch.tensor(w3), padding=1).numpy(),
           "float64", "unbatched")  # fmt: skip


def test_float32_stays_float32():
    x = tn.randn(2, 3, 8, 8, requires_grad=True)
    w = tn.randn(4, 3, 3, 3, requires_grad=True)
    y = conv2d(x, w, padding=1)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == tn.float32


# ----- conv_transpose2d ----------------------------------------------------------------------

TRANSPOSE = [
    ((2, 4, 3, 3), (4, 3, 3, 3), dict()),
    ((1, 4, 4, 3), (4, 2, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ((2, 3, 3, 4), (3, 1, 2, 2), dict(stride=(1, 3), dilation=(2, 1), groups=3)),
    ((1, 2, 2, 2), (2, 3, 1, 1), dict(stride=3, output_padding=(2, 0))),
    ((1, 2, 4, 4), (2, 2, 3, 3), dict(stride=1, dilation=2, padding=2, output_padding=1)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("xs", "ws", "kw"), TRANSPOSE)
def test_conv_transpose2d_matches_torch_and_reference(torch, xs, ws, kw, dtype):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1))
    tx, tw, tb = (tn.tensor(a, dtype=getattr(tn, dtype), requires_grad=True) for a in (x, w, b))
    y = conv_transpose2d(tx, tw, tb, **kw)
    px, pw, pb = (torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True)
                  for a in (x, w, b))  # fmt: skip
    py = torch.nn.functional.conv_transpose2d(px, pw, pb, **kw)
    _close(_host(y), py.detach().numpy(), dtype, "y")
    _close(_host(y), ref.conv_transpose2d(x, w, b, **kw), dtype, "y vs reference")
    g = rng.standard_normal(y.shape)
    got = tn.autograd.grad(y, [tx, tw, tb], tn.tensor(g, dtype=getattr(tn, dtype)))
    want = torch.autograd.grad(py, [px, pw, pb], torch.tensor(g, dtype=getattr(torch, dtype)))
    for name, a, e in zip(["dx", "dw", "db"], got, want):
        _close(_host(a), e.numpy(), dtype, name)


def test_conv2d_input_and_weight_match_torch_grad_helpers(torch):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2))
    kw = dict(stride=2, padding=(1, 2), dilation=(1, 2), groups=2)
    dy = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), **kw)
    dy = rng.standard_normal(tuple(dy.shape))
    T = torch.tensor
    want_w = torch.nn.grad.conv2d_weight(T(x), w.shape, T(dy), **kw)
    want_x = torch.nn.grad.conv2d_input(x.shape, T(w), T(dy), **kw)
    _close(_host(conv2d_weight(tn.tensor(x), w.shape, tn.tensor(dy), **kw)), want_w.numpy(),
           "float64", "conv2d_weight")  # fmt: skip
    _close(_host(conv2d_input(x.shape, tn.tensor(w), tn.tensor(dy), **kw)), want_x.numpy(),
           "float64", "conv2d_input")  # fmt: skip


# ----- the plain-loop reference as an oracle ---------------------------------------------------

REF_CASES = [
    ((2, 3, 6, 5), (4, 3, 3, 2), dict(stride=(2, 1), padding=1)),
    ((1, 4, 7, 7), (6, 2, 2, 2), dict(padding="same", dilation=(2, 1), groups=2)),
    ((2, 3, 5, 6), (3, 1, 3, 3), dict(groups=3, dilation=2, padding=(2, 1))),
    ((1, 2, 8, 8), (2, 2, 2, 3), dict(stride=3, padding="valid")),
]


@pytest.mark.parametrize(("xs", "ws", "kw"), REF_CASES)
def test_matches_plain_loop_reference(xs, ws, kw):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    tx, tw, tb = (tn.tensor(a, dtype=tn.float64, requires_grad=True) for a in (x, w, b))
    y = conv2d(tx, tw, tb, **kw)
    g = rng.standard_normal(y.shape)
    dx, dw, db = tn.autograd.grad(y, [tx, tw, tb], tn.tensor(g))
    rdx, rdw, rdb = ref.conv2d_backward(x, w, g, **kw)
    _close(_host(y), ref.conv2d(x, w, b, **kw), "float64", "y")
    _close(_host(dx), rdx, "float64", "dx")
    _close(_host(dw), rdw, "float64", "dw")
    _close(_host(db), rdb, "float64", "db")
    # the reference's own two formulations of dw and dx agree with each other
    _close(ref.conv2d_weight(x, w.shape, g, **kw), rdw, "float64", "reference dw forms")
    _close(ref.conv2d_input(x.shape, w, g, **kw), rdx, "float64", "reference dx forms")


def _per_channel_dw(x, dy, kH, kW):
    """dw[f, c] = sum_n valid correlation of x[n, c] with dy[n, f]: one correlation per
    (filter, channel) pair, by a sliding-window view (stride 1, no padding, no groups)."""
    N, C, H, W = x.shape
    F = dy.shape[1]
    oH, oW = dy.shape[2:]
    dw = np.zeros((F, C, kH, kW))
    for f in range(F):
        for c in range(C):
            for n in range(N):
                # win[i, j] is the oH x oW block of x[n, c] that tap (i, j) saw
                win = np.lib.stride_tricks.sliding_window_view(x[n, c], (oH, oW))
                dw[f, c] += np.einsum("ijyx,yx->ij", win, dy[n, f])
    return dw


def test_5x100x100_filter_gradient_is_per_channel_correlation():
    """The classic question: X 5x100x100, 10 filters 5x5x5, dE/dO 10x96x96 -> dE/dF."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 5, 100, 100))
    w = tn.tensor(rng.standard_normal((10, 5, 5, 5)), requires_grad=True)
    y = conv2d(tn.tensor(x), w)
    assert y.shape == (1, 10, 96, 96)
    dy = rng.standard_normal(y.shape)
    (dw,) = tn.autograd.grad(y, [w], tn.tensor(dy))
    want = _per_channel_dw(x, dy, 5, 5)
    _close(_host(dw), want, "float64", "dE/dF")
    # the per-channel gradients of one filter differ from channel to channel
    assert not np.allclose(want[0, 0], want[0, 1])


def test_small_classic_case_against_plain_loops():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 12, 12))
    w = tn.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    y = conv2d(tn.tensor(x), w)
    dy = rng.standard_normal(y.shape)
    (dw,) = tn.autograd.grad(y, [w], tn.tensor(dy))
    _close(_host(dw), ref.conv2d_weight(x, (4, 3, 3, 3), dy), "float64", "dw vs loops")
    _close(_host(dw), _per_channel_dw(x, dy, 3, 3), "float64", "dw vs per-channel")
    single = ref.correlate2d_valid(x[0, 1], dy[0, 2])  # one (channel, filter) pair
    _close(_host(dw)[2, 1], single, "float64", "dw[2, 1] = correlate(x[1], dy[2])")


# ----- gradcheck and second derivatives -----------------------------------------------------

GRADCHECK = [
    ((1, 2, 4, 4), (2, 2, 2, 2), dict()),
    ((2, 2, 5, 4), (2, 1, 3, 2), dict(stride=2, padding=(1, 0), dilation=(1, 2), groups=2)),
    ((1, 2, 4, 5), (2, 2, 2, 3), dict(padding="same")),
]


@pytest.mark.parametrize(("xs", "ws", "kw"), GRADCHECK)
def test_gradcheck_conv2d_and_its_gradients(xs, ws, kw):
    rng = np.random.default_rng(0)
    x, w, b = (tn.tensor(rng.standard_normal(s), requires_grad=True) for s in (xs, ws, ws[:1]))
    assert tn.autograd.gradcheck(lambda x, w, b: conv2d(x, w, b, **kw), (x, w, b))
    y = conv2d(x, w, **kw)
    dy = tn.tensor(rng.standard_normal(y.shape), requires_grad=True)
    assert tn.autograd.gradcheck(lambda x, dy: conv2d_weight(x, ws, dy, **kw), (x, dy))
    assert tn.autograd.gradcheck(lambda w, dy: conv2d_input(xs, w, dy, **kw), (w, dy))

    def grad_w(x, w):  # second order: the gradient of a nonlinear loss in w, as a function
        with tn.enable_grad():  # gradcheck's numeric pass runs under no_grad
            (g,) = tn.autograd.grad(conv2d(x, w, **kw).tanh().sum(), [w], create_graph=True)
        return g

    assert tn.autograd.gradcheck(grad_w, (x, w))


@pytest.mark.parametrize(("xs", "ws", "kw"), GRADCHECK + REF_CASES[:2])
def test_second_derivatives_match_torch(torch, xs, ws, kw):
    """d/dx and d/dw of |dE/dW|^2 and |dE/dX|^2, E = sum(tanh(conv2d(x, w) + b))."""
    rng = np.random.default_rng(0)
    vals = [rng.standard_normal(s) for s in (xs, ws, ws[:1])]
    tx, tw, tb = (tn.tensor(v, requires_grad=True) for v in vals)
    px, pw, pb = (torch.tensor(v, requires_grad=True) for v in vals)
    ty = conv2d(tx, tw, tb, **kw).tanh().sum()
    py = _torch_conv(torch, px, pw, pb, **kw).tanh().sum()
    tdx, tdw = tn.autograd.grad(ty, [tx, tw], create_graph=True)
    pdx, pdw = torch.autograd.grad(py, [px, pw], create_graph=True)
    for name, tg, pg in (("|dW|^2", tdw, pdw), ("|dX|^2", tdx, pdx)):
        got = tn.autograd.grad((tg * tg).sum(), [tx, tw, tb], retain_graph=True)
        want = torch.autograd.grad((pg * pg).sum(), [px, pw, pb], retain_graph=True)
        for which, a, e in zip("xwb", got, want):
            _close(_host(a), e.numpy(), "float64", f"d{name}/d{which}")


def test_conv_transpose_second_derivatives_match_torch(torch):
    rng = np.random.default_rng(0)
    kw = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2))
    vals = [rng.standard_normal(s) for s in ((1, 4, 3, 3), (4, 1, 3, 2))]
    tx, tw = (tn.tensor(v, requires_grad=True) for v in vals)
    px, pw = (torch.tensor(v, requires_grad=True) for v in vals)
    tdx, tdw = tn.autograd.grad(conv_transpose2d(tx, tw, **kw).tanh().sum(), [tx, tw],
                                create_graph=True)  # fmt: skip
    pdx, pdw = torch.autograd.grad(torch.nn.functional.conv_transpose2d(px, pw, **kw).tanh().sum(),
                                   [px, pw], create_graph=True)  # fmt: skip
    got = tn.autograd.grad((tdw * tdw).sum() + (tdx * tdx).sum(), [tx, tw])
    want = torch.autograd.grad((pdw * pdw).sum() + (pdx * pdx).sum(), [px, pw])
    for a, e in zip(got, want):
        _close(_host(a), e.numpy(), "float64", "second derivative")


# ----- devices ----------------------------------------------------------------------------------


def test_runs_on_every_device(torch, device):
    """Forward, backward and double backward on the device (the strict stand-in catches any
    NumPy array sneaking into the device path)."""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), None
    for kw in (dict(stride=2, padding=1, groups=2), dict(padding="same", dilation=2, groups=2)):
        for name, a, e in _run_both(torch, x, w, b, "float64", kw, device=device):
            _close(a, e, "float64", name)
    tx = tn.tensor(x, device=device, requires_grad=True)
    tw = tn.tensor(w, device=device, requires_grad=True)
    (dw,) = tn.autograd.grad(conv2d(tx, tw, groups=2).tanh().sum(), [tw], create_graph=True)
    (ddx,) = tn.autograd.grad((dw * dw).sum(), [tx])
    assert ddx.device == tx.device and ddx.shape == tx.shape
    y = conv_transpose2d(tx, tn.tensor(rng.standard_normal((4, 1, 2, 2)), device=device),
                         stride=2, groups=2)  # fmt: skip
    assert y.device == tx.device and y.shape == (3, 2, 14, 12)


# ----- bad input -----------------------------------------------------------------------------


def _x(*shape):
    return tn.zeros(*shape)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: conv2d(_x(2, 3, 8, 8), _x(8, 4, 3, 3)),
         r"input has 3 channels, weight expects 4.*\(2, 3, 8, 8\).*\(8, 4, 3, 3\)"),
        (lambda: conv2d(_x(1, 6, 8, 8), _x(8, 2, 3, 3), groups=4),
         r"groups=4 does not divide the 6 input channels.*\(1, 6, 8, 8\)"),
        (lambda: conv2d(_x(1, 4, 8, 8), _x(6, 1, 3, 3), groups=4),
         r"groups=4 does not divide the 6 filters"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 1, 5, 5)),
         r"kernel 5x5 .* larger than the padded input 4x4.*\(1, 1, 4, 4\)"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 1, 3, 3), dilation=2, padding=0),
         r"spanning 5x5 with dilation \(2, 2\)"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 1, 3, 3), stride=0), r"stride must be positive"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 1, 3, 3), stride=(1, -2)),
         r"stride must be positive, got \(1, -2\)"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 1, 3, 3), padding=-1), "padding must be non-neg"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 1, 3, 3), dilation=0), "dilation must be positive"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 1, 3, 3), groups=0), "groups must be a positive"),
        (lambda: conv2d(_x(4, 4), _x(1, 1, 3, 3)), r"input must be 4-D.*\(4, 4\)"),
        (lambda: conv2d(_x(1, 1, 1, 4, 4), _x(1, 1, 3, 3)), r"input must be 4-D"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 3, 3)), r"weight must be 4-D.*\(1, 3, 3\)"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(2, 1, 3, 3), _x(3)), r"bias must have shape \(2,\)"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 1, 3, 3), stride=2, padding="same"),
         "padding='same' needs stride 1"),
        (lambda: conv2d(_x(1, 1, 4, 4), _x(1, 1, 3, 3), padding="full"), "padding must be"),
        (lambda: conv_transpose2d(_x(1, 3, 4, 4), _x(4, 2, 3, 3)),
         r"input has 3 channels, weight expects 4"),
        (lambda: conv_transpose2d(_x(1, 4, 4, 4), _x(4, 2, 3, 3), stride=2, output_padding=2),
         "output_padding=2 must be smaller than stride"),
        (lambda: conv_transpose2d(_x(1, 4, 4, 4), _x(4, 2, 3, 3), stride=0), "stride must be pos"),
        (lambda: conv_transpose2d(_x(1, 6, 4, 4), _x(6, 2, 3, 3), groups=4),
         "groups=4 does not divide the 6 input channels"),
        (lambda: conv2d_weight(_x(1, 1, 6, 6), (1, 1, 3, 3), _x(1, 1, 3, 3)),
         r"grad_output has shape \(1, 1, 3, 3\), the conv2d output is \(1, 1, 4, 4\)"),
    ],
)  # fmt: skip
def test_bad_input_raises_value_error_naming_it(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_bad_types_and_dtypes():
    with pytest.raises(RuntimeError, match="float64.*float32|float32.*float64"):
        conv2d(tn.zeros(1, 1, 4, 4, dtype=tn.float64), tn.zeros(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="float tensor"):
        conv2d(tn.zeros(1, 1, 4, 4, dtype=tn.int64), tn.zeros(1, 1, 3, 3, dtype=tn.int64))
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        conv2d(tn.zeros(1, 1, 4, 4), tn.zeros(1, 1, 3, 3), stride=(1, 1, 1))
    with pytest.raises(TypeError, match="weight must be a Tensor"):
        conv2d(tn.zeros(1, 1, 4, 4), np.zeros((1, 1, 3, 3)))


def test_threaded_split_works_in_a_forked_child(monkeypatch):
    """A forked child (a DataLoader worker) inherits the split's pool without its threads:
    the split must start new ones there instead of waiting on threads that do not exist."""
    import os
    import signal

    from tinynet.backend import cpu

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    monkeypatch.setattr(cpu, "_blas_controllers", lambda: [FakeBlas()])
    done = []
    cpu.split(lambda i, j: done.append((i, j)), 4, 1e12)  # the parent's pool now exists
    assert sorted(done) == [(0, 2), (2, 4)]
    pid = os.fork()
    if pid == 0:  # the child: give up after 20 s rather than hang the test run
        signal.alarm(20)
        got = []
        cpu.split(lambda i, j: got.append((i, j)), 4, 1e12)
        os._exit(0 if sorted(got) == [(0, 2), (2, 4)] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tap_major_input_gradient_matches_the_plain_layout(monkeypatch, dtype):
    """The CPU's tap-major columns for the stride-1 input gradient (`col2im_tap_major_from`,
    one run per image and tap in col2im) give the plain layout's numbers: padding, dilation,
    asymmetric kernels, several blocks, a ragged last one, split in threads or not."""
    from tinynet.backend import cpu

    rng = np.random.default_rng(5)
    dev = tn.device("cpu")
    cases = [((5, 3, 7, 6), (4, 3, 3, 3), dict(padding=(1, 1, 1, 1))),
             ((4, 2, 8, 9), (3, 2, 2, 3), dict(dilation=(2, 1), padding=(2, 1, 0, 1))),
             ((3, 6, 10, 10), (8, 6, 5, 5), dict())]  # fmt: skip
    monkeypatch.setattr(cpu, "conv_block_bytes", 4000)
    for x_shape, w_shape, kw in cases:
        spec = conv_ops.ConvSpec(
            (1, 1), kw.get("padding", (0, 0, 0, 0)), kw.get("dilation", (1, 1)), 1
        )
        oH, oW = spec.out_hw(*x_shape[2:], *w_shape[2:])
        dy = rng.standard_normal((x_shape[0], w_shape[0], oH, oW)).astype(dtype)
        w = rng.standard_normal(w_shape).astype(dtype)
        got = {}
        for start, split_flops in ((1, 0), (1, float("inf")), (float("inf"), float("inf"))):
            monkeypatch.setattr(cpu, "col2im_tap_major_from", start)
            monkeypatch.setattr(cpu, "split_min_flops", split_flops)
            got[start, split_flops] = np.array(conv_ops._conv_input(dev, dy, w, x_shape[2:], spec))
        plain = got[float("inf"), float("inf")]
        tol = 1e-12 if dtype == "float64" else 1e-5
        for key, a in got.items():
            np.testing.assert_allclose(a, plain, rtol=tol, atol=tol, err_msg=f"{key} {kw}")


@pytest.mark.parametrize("device", ["cpu", "fakecuda"])
@pytest.mark.parametrize(
    "kw",
    [dict(stride=2, dilation=2, padding=1), dict(stride=(2, 1), dilation=(4, 3), padding=(2, 1)),
     dict(stride=3, dilation=3), dict(stride=2, dilation=4, padding=3, groups=2)],
)  # fmt: skip
def test_strided_conv_whose_dilation_is_a_multiple_of_the_stride(torch, device, kw):
    """Such a conv reads every s-th row and column only, and runs as a stride-1 conv of the
    subsampled padded input (conv.py `_subsampled`): forward and all gradients equal torch's,
    and conv_transpose2d with the same arguments too."""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 4, 11, 10)), rng.standard_normal((6, 2, 3, 2)), None
    if kw.get("groups") is None:
        w = rng.standard_normal((6, 4, 3, 2))
    for name, a, e in _run_both(torch, x, w, b, "float64", kw, device=device):
        _close(a, e, "float64", f"{kw} {name}")
    if kw.get("groups") is None:  # the transpose: (N, 6, ...) -> (N, 4, ...)
        dy = rng.standard_normal((2, 6, 4, 5))
        got = conv_transpose2d(tn.tensor(dy, device=device), tn.tensor(w, device=device), **kw)
        want = torch.nn.functional.conv_transpose2d(torch.tensor(dy), torch.tensor(w), **kw)
        _close(_host(got), want.numpy(), "float64", f"{kw} transpose")
