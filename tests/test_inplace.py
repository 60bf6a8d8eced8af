"""In-place ops inside the graph, with PyTorch's rules (docs/autograd.md, "In-place ops").

An in-place op on a non-leaf rebases the tensor onto the op's node; one version
counter is shared by every alias of a storage (views, detach(), state_dict()),
so an edit through any alias of something a node saved makes backward raise.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
import tinynet.nn.functional as F
from tinynet.tensor import INPLACE_METHODS, Tensor

MODIFIED = "modified by an inplace operation"


def _pair(torch, device, *arrays):
    """The same float64 leaves in tinynet (on `device`) and in torch."""
    tns = [tn.tensor(a, device=device, requires_grad=True) for a in arrays]
    ths = [torch.tensor(a, requires_grad=True) for a in arrays]
    return tns, ths


def _close(a, b, rtol=1e-10, atol=1e-12):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(a.detach().cpu().numpy(), b, rtol=rtol, atol=atol)


# ----- gradients of in-place chains, against torch --------------------------------------------


def _chain(x, w):
    y = x * 1
    y.mul_(w).add_(x, alpha=0.5)  # Mul saved the value mul_ overwrites: a copy is kept
    y += w
    y *= y.detach() + 1  # a detached factor: a constant in the graph
    y.pow_(2).sub_(w).sigmoid_()
    z = y * 1
    z.clamp_(0.3, 0.7)
    z /= 2
    return z + y  # Sigmoid's saved output (y) was not edited


def _views(x, w):
    y = x * 2
    y[0].mul_(w[0])  # CopySlices: y is rebased, y[0]'s new value came from Mul
    y.t()[1] += w[:, 1]  # a view of a view
    y[1:, :2] = w[1:, :2] * 3  # __setitem__ through a view
    row = y[2]
    y.mul_(2)  # the base changes after the view was taken: using `row` sees it
    return y.exp() + row.sum()


def _setitems(x, w):
    y = x * 1
    mask = x.detach() > 0
    y[mask] = w[mask] * 2  # a boolean mask: y is rebased onto IndexPut
    y[[0, 2], 1] = w[1, 1]  # integer arrays and a broadcast scalar tensor
    z = w * 0  # a tensor that needs no old value: only what is written gets a gradient
    z[1:, [0, 2]] = x[:2, :2].exp()
    return y * z + y


def _relus(x, w):
    h = x @ w
    F.relu(h, inplace=True)
    g = h * 3
    nn.ReLU(inplace=True)(g)
    F.leaky_relu(g - 1, 0.2, inplace=True)
    return g + h


@pytest.mark.parametrize(
    "fn", [_chain, _views, _setitems, _relus], ids=["chain", "views", "setitems", "relus"]
)
def test_inplace_gradients_match_torch(torch, device, fn):
    rng = np.random.default_rng(0)
    arrays = rng.standard_normal((2, 3, 3))
    (x, w), (tx, tw) = _pair(torch, device, *arrays)
    fn_t = fn
    if fn is _relus:

        def fn_t(x, w):
            h = x @ w
            torch.nn.functional.relu(h, inplace=True)
            g = h * 3
            torch.nn.ReLU(inplace=True)(g)
            torch.nn.functional.leaky_relu(g - 1, 0.2, inplace=True)
            return g + h

    out, tout = fn(x, w), fn_t(tx, tw)
    _close(out, tout)
    seed = rng.standard_normal(out.shape)
    out.backward(tn.tensor(seed, device=device))
    tout.backward(torch.tensor(seed))
    _close(x.grad, tx.grad)
    _close(w.grad, tw.grad)


def test_inplace_rebases_onto_a_new_node_and_bumps_the_version(device):
    x = tn.tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    y = x * 2
    node, data = y.grad_fn, y.data
    y.relu_()
    assert y.data is data  # really in place: the same memory
    assert y.grad_fn is not node and y.grad_fn.name == "Relu" and y._version == 1
    assert y.grad_fn.next[0] is node  # the new node's input is the old value
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 2.0]


def test_inplace_keeps_retain_grad_and_double_backward(device):
    x = tn.tensor([0.5, 1.5], device=device, dtype=tn.float64, requires_grad=True)
    y = x * x
    y.retain_grad()
    y.exp_()
    (g,) = tn.autograd.grad(y.sum(), x, create_graph=True)  # d/dx exp(x^2) = 2x exp(x^2)
    (h,) = tn.autograd.grad(g.sum(), x)
    xs = np.array([0.5, 1.5])
    np.testing.assert_allclose(g.detach().cpu().numpy(), 2 * xs * np.exp(xs**2))
    np.testing.assert_allclose(h.cpu().numpy(), (2 + 4 * xs**2) * np.exp(xs**2))
    y2 = x * 3
    y2.retain_grad()
    y2.add_(1)
    y2.sum().backward()
    assert y2.grad.tolist() == [1.0, 1.0]  # retain_grad follows the tensor, as in torch


def test_python_operators_and_integer_tensors_stay_in_place(device):
    a = tn.tensor([1, 2, 3], device=device)
    data = a.data
    a += 1
    a *= 2
    assert a.data is data and a.tolist() == [4, 6, 8] and a._version == 2
    with pytest.raises(RuntimeError, match="can't be cast"):
        a /= 2  # torch too: the float result cannot go back into an int64 tensor


# ----- a residual block, as users write it ---------------------------------------------------


class _Block(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.shortcut = nn.Sequential(nn.Conv2d(ch, ch, 1, bias=False), nn.BatchNorm2d(ch))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return self.relu(out)


def _torch_block(torch, ch):
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(ch, ch, 3, padding=1, bias=False)
            self.bn1 = tnn.BatchNorm2d(ch)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = tnn.Conv2d(ch, ch, 3, padding=1, bias=False)
            self.bn2 = tnn.BatchNorm2d(ch)
            self.shortcut = tnn.Sequential(tnn.Conv2d(ch, ch, 1, bias=False), tnn.BatchNorm2d(ch))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.shortcut(x)
            return self.relu(out)

    return Block()


def test_residual_block_with_inplace_ops_trains_like_torch(torch, device):
    torch.manual_seed(0)
    ref = _torch_block(torch, 3).double()
    model = _Block(3)
    model.load_state_dict({k: tn.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    model.to(device).to(tn.float64)
    opt = tn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(1)
    for _ in range(3):
        xs, ts = rng.standard_normal((2, 2, 3, 5, 5))
        x = tn.tensor(xs, device=device, requires_grad=True)
        tx = torch.tensor(xs, requires_grad=True)
        loss = ((model(x) - tn.tensor(ts, device=device)) ** 2).mean()
        tloss = ((ref(tx) - torch.tensor(ts)) ** 2).mean()
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        _close(loss, tloss, rtol=1e-9)
        _close(x.grad, tx.grad, rtol=1e-8, atol=1e-10)
        for (name, p), tp in zip(model.named_parameters(), ref.parameters()):
            assert p.grad is not None, name
            _close(p.grad, tp.grad, rtol=1e-8, atol=1e-10)
        opt.step()
        topt.step()


# ----- the version counter: aliases share it ---------------------------------------------------


def test_leaf_in_place_while_recording_raises(device):
    w = tn.ones(3, device=device, requires_grad=True)
    for edit in (lambda: w.add_(1), lambda: w.relu_(), lambda: w.zero_()):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad.*in-place"):
            edit()
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        w[1:].mul_(2)
    assert w.tolist() == [1.0, 1.0, 1.0] and w._version == 0
    with tn.no_grad():
        w.add_(1)  # what optimizers do: allowed, and counted
    assert w.tolist() == [2.0, 2.0, 2.0] and w._version == 1


@pytest.mark.parametrize(
    "alias",
    [
        lambda x: x.detach(),
        lambda x: x.view(2, 2)[1],
        lambda x: x.t().T,
        lambda x: x.detach().reshape(4)[1:],
    ],
    ids=["detach", "view-getitem", "transpose", "detach-view"],
)
def test_edit_through_an_alias_of_a_saved_input_raises(device, alias):
    x = tn.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    y = (x * x).sum()  # Mul saves x
    with tn.no_grad():
        alias(x).add_(1)
    with pytest.raises(RuntimeError, match=rf"Mul backward.*{MODIFIED}.*shape \(2, 2\).*version"):
        y.backward()


def test_state_dict_tensors_share_the_parameters_counter(device):
    model = nn.Linear(3, 2).to(device)
    x = tn.ones(4, 3, device=device, requires_grad=True)
    loss = model(x).sum()  # the weight is saved for x's gradient
    for v in model.state_dict().values():
        v.mul_(0.5)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_output_saved_by_an_op_is_checked(device):
    x = tn.tensor([0.1, 0.2], device=device, requires_grad=True)
    y = x.exp()  # Exp saves its output
    y.exp_()
    with pytest.raises(RuntimeError, match=rf"Exp backward.*{MODIFIED}.*output.*version 1"):
        y.sum().backward()
    z = x.sigmoid()
    z.detach().zero_()  # through an alias of the output
    with pytest.raises(RuntimeError, match=rf"Sigmoid backward.*{MODIFIED}"):
        z.sum().backward()


def test_optimizer_step_before_backward_raises():
    w = tn.tensor([1.0, 2.0], requires_grad=True)
    opt = tn.optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    w.grad = tn.ones(2)
    opt.step()  # updates w under no_grad: bumps its version
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_data_is_the_untracked_escape_hatch():
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data[...] = 3.0  # not counted, as `.data` in torch: the gradient uses the new values
    y.backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_edit_after_backward_is_fine(device):
    x = tn.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * x).sum().backward()
    with tn.no_grad():
        x.detach().add_(1)
    assert x.grad.tolist() == [2.0, 4.0] and x.tolist() == [2.0, 3.0]


def test_expanded_tensor_cannot_be_written(device):
    x = tn.zeros(3, device=device).expand(2, 3)
    with pytest.raises(RuntimeError, match="single memory location"):
        x.add_(1)


def test_every_torch_inplace_name_with_an_out_of_place_method_is_bound():
    bound = [n for n in INPLACE_METHODS if hasattr(Tensor, n)]
    assert {"add", "mul", "exp", "relu", "sigmoid", "clamp", "masked_fill"} <= set(
        n for n in INPLACE_METHODS if hasattr(Tensor, n + "_")
    )
    missing = [n + "_" for n in bound if not hasattr(Tensor, n + "_")]
    assert not missing, missing


# ----- the direct path under no_grad (Tensor._direct_inplace) ---------------------------------


def _general(monkeypatch):
    """Switch the direct path off: every in-place op takes the compute-then-copy path."""
    monkeypatch.setattr(Tensor, "_direct_inplace", lambda self, *a: False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_no_grad_arithmetic_in_place_equals_the_general_path(device, dtype, monkeypatch):
    """Under no_grad, add_/sub_/mul_/div_/addcmul_/addcdiv_ and the operators write straight
    into the tensor's memory; the numbers, the identity of the data and the version bumps equal
    the general path's, for tensors, broadcasting, alpha and value, Python numbers, and the
    cases it declines (other dtypes, overlap with self, NaN, int tensors)."""
    rng = np.random.default_rng(0)
    a0 = rng.standard_normal((4, 5)).astype(dtype)
    b0 = rng.standard_normal((4, 5)).astype(dtype)
    row = rng.standard_normal(5).astype(dtype)

    def run():
        a = tn.tensor(a0, device=device)
        b, r = tn.tensor(b0, device=device), tn.tensor(row, device=device)
        data, seen = a.data, []
        with tn.no_grad():
            a.add_(b, alpha=-0.3)
            a.sub_(r)
            a.mul_(0.9).add_(b)
            a /= 3
            a *= r
            a -= 2
            a += b.double() if dtype == "float32" else b.float()  # other dtype: declined
            a.add_(a.t().t()[::-1])  # overlaps self: declined
            a.mul_(float("nan")).add_(1.0)
            a.div_(b)
            a.addcmul_(b, r, value=0.5).addcmul_(b, b).addcdiv_(b, r.abs() + 1, value=-0.25)
            a.addcdiv_(a, b)  # overlaps self: declined
            seen.append(a._version)
            i = tn.arange(6, device=device)
            i += 2
            i *= 3
        assert a.data is data
        return a.cpu().numpy(), i.cpu().numpy(), seen

    fast = run()
    _general(monkeypatch)
    slow = run()
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    assert fast[2] == slow[2] == [16]


def test_no_grad_direct_path_keeps_the_general_errors(device):
    with tn.no_grad():
        with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
            tn.zeros(3, device=device).add_(tn.ones(2, 3, device=device))
        with pytest.raises(RuntimeError, match="refers to a single memory location"):
            tn.zeros(3, device=device).expand(2, 3).add_(1.0)
        with pytest.raises(TypeError):
            tn.zeros(3, device=device).mul_(tn.ones(3, device=device), alpha=2)
