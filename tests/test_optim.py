"""tinynet.optim against torch.optim: the same weights and gradients give the same steps.

Every optimizer option combination runs several float64 steps side by side with
torch's and must agree to ~1e-12; schedulers must produce torch's lr (and
momentum) sequences; state_dict round trips must continue the same trajectory.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
from tinynet.optim import SGD, Adam, AdamW, lr_scheduler

SHAPES = [(3, 4), (4,), (2, 3, 2)]
STEPS = 5


def _np(t):
    return t.detach().numpy() if isinstance(t, tn.Tensor) else t.detach().cpu().numpy()


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]
    return init, grads


def _params(torch, init):
    ours = [nn.Parameter(tn.tensor(a)) for a in init]
    theirs = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    return ours, theirs


def _set_grads(torch, ours, theirs, grads, step):
    for i, (p, tp, g) in enumerate(zip(ours, theirs, grads[step])):
        if step == 2 and i == 1:  # a parameter without a gradient this step is skipped
            p.grad = tp.grad = None
        else:
            p.grad, tp.grad = tn.tensor(g), torch.tensor(g)


def _assert_same(ours, theirs, what=""):
    for k, (p, tp) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(_np(p), _np(tp), rtol=1e-12, atol=1e-14,
                                   err_msg=f"{what} param {k}")  # fmt: skip


def _run_side_by_side(torch, make, make_torch, steps=STEPS):
    init, grads = _problem()
    ours, theirs = _params(torch, init)
    opt, topt = make(ours), make_torch(theirs)
    for step in range(steps):
        _set_grads(torch, ours, theirs, grads, step)
        opt.step()
        topt.step()
        _assert_same(ours, theirs, f"step {step}")
    return opt, topt, ours, theirs


def _assert_state_same(opt, topt):
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for idx, st in tsd["state"].items():
        assert list(sd["state"][idx]) == list(st), "state keys and their order match torch's"
        for key, v in st.items():
            np.testing.assert_allclose(_np(sd["state"][idx][key]), _np(v), rtol=1e-12,
                                       atol=1e-15, err_msg=f"state {idx}.{key}")  # fmt: skip
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert g["params"] == tg["params"]
        for key, v in g.items():
            assert tg[key] == v, key


SGD_CASES = [
    dict(momentum=m, dampening=d, weight_decay=wd, nesterov=n, maximize=mx)
    for m, d, wd, n, mx in itertools.product(
        [0, 0.9], [0, 0.3], [0, 0.01], [False, True], [False, True]
    )  # fmt: skip
    if not (n and (m == 0 or d != 0))
]


@pytest.mark.parametrize(
    "kw", SGD_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items())
)
def test_sgd_matches_torch(torch, kw):
    opt, topt, *_ = _run_side_by_side(
        torch, lambda ps: SGD(ps, lr=0.1, **kw), lambda ps: torch.optim.SGD(ps, lr=0.1, **kw)
    )
    _assert_state_same(opt, topt)


ADAM_CASES = [
    dict(amsgrad=a, weight_decay=wd, maximize=mx, betas=b)
    for a, wd, mx, b in itertools.product(
        [False, True], [0, 0.1], [False, True], [(0.9, 0.999), (0.5, 0.9)]
    )  # fmt: skip
]


@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
@pytest.mark.parametrize(
    "kw", ADAM_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items())
)
def test_adam_matches_torch(torch, cls, kw):
    ours_cls = {"Adam": Adam, "AdamW": AdamW}[cls]
    opt, topt, *_ = _run_side_by_side(
        torch, lambda ps: ours_cls(ps, lr=0.05, eps=1e-6, **kw),
        lambda ps: getattr(torch.optim, cls)(ps, lr=0.05, eps=1e-6, **kw),
    )  # fmt: skip
    _assert_state_same(opt, topt)


def test_adamw_default_weight_decay(torch):
    _run_side_by_side(torch, lambda ps: AdamW(ps), lambda ps: torch.optim.AdamW(ps))
    assert AdamW([nn.Parameter(tn.zeros(1))]).defaults["weight_decay"] == 1e-2


def test_param_groups_match_torch(torch):
    def groups(ps, lib):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01, "momentum": 0.5}]

    opt, topt, *_ = _run_side_by_side(
        torch, lambda ps: SGD(groups(ps, tn), lr=0.1, momentum=0.9),
        lambda ps: torch.optim.SGD(groups(ps, torch), lr=0.1, momentum=0.9),
    )  # fmt: skip
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.5]
    _assert_state_same(opt, topt)

    opt, topt, *_ = _run_side_by_side(
        torch, lambda ps: Adam(groups_adam(ps), lr=0.1), lambda ps: torch.optim.Adam(
            groups_adam(ps), lr=0.1),
    )  # fmt: skip


def groups_adam(ps):
    return [{"params": ps[:1], "betas": (0.8, 0.99)}, {"params": ps[1:], "weight_decay": 0.1}]


def test_add_param_group_and_errors():
    a, b = nn.Parameter(tn.zeros(2)), nn.Parameter(tn.zeros(3))
    opt = SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([a * 2], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        SGD([1.0], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        SGD([a], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        Adam([a], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="not a set"):
        SGD({a}, lr=0.1)
    named = SGD([("w", a), ("b", b)], lr=0.1)  # (name, tensor) pairs, as torch accepts
    assert named.param_groups[0]["params"][1] is b


def test_zero_grad_gives_fresh_tensors():
    p = nn.Parameter(tn.ones(3))
    shared = tn.ones(3)
    p.grad = shared  # a gradient may alias another tensor
    opt = SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert p.grad is not shared and not p.grad.numpy().any() and shared.numpy().all()
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_and_training():
    w = nn.Parameter(tn.tensor([3.0, -2.0]))
    opt = SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tn.no_grad():  # the closure re-enables grad
        first = opt.step(closure)
    assert first.item() == pytest.approx(13.0)
    np.testing.assert_allclose(_np(w), [2.4, -1.6], rtol=1e-6)
    v = w._version
    opt.step(closure)
    assert w._version > v, "updates go through the in-place methods (version counter)"


def test_state_dict_round_trip_continues_identically(torch):
    init, grads = _problem(1)
    for make in (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                 lambda ps: Adam(ps, lr=0.05, amsgrad=True),
                 lambda ps: AdamW(ps, lr=0.05)):  # fmt: skip
        a = [nn.Parameter(tn.tensor(x)) for x in init]
        b = [nn.Parameter(tn.tensor(x)) for x in init]
        opt_a, opt_b = make(a), make(b)
        for step in range(STEPS):
            for pa, pb, g in zip(a, b, grads[step]):
                pa.grad, pb.grad = tn.tensor(g), tn.tensor(g)
            opt_a.step()
            opt_b.step()
            if step == 1:  # swap opt_b for a fresh optimizer restored from its state
                sd = opt_b.state_dict()
                opt_b = make(b)
                opt_b.load_state_dict(sd)
                for s_old, s_new in zip(sd["state"].values(), opt_b.state_dict()["state"].values()):
                    for k in s_old:  # a copy, not the same tensors
                        assert s_new[k] is not s_old[k]
        for pa, pb in zip(a, b):
            np.testing.assert_array_equal(_np(pa), _np(pb))


def test_load_torch_optimizer_state(torch):
    """A torch optimizer's state_dict (torch tensors inside) loads and continues the same."""
    init, grads = _problem(2)
    ours, theirs = _params(torch, init)
    topt = torch.optim.Adam(theirs, lr=0.05)
    for step in range(2):
        for tp, g in zip(theirs, grads[step]):
            tp.grad = torch.tensor(g)
        topt.step()
    for p, tp in zip(ours, theirs):
        p.data[...] = tp.detach().numpy()
    opt = Adam(ours, lr=0.05)
    opt.load_state_dict(topt.state_dict())
    assert opt.state[ours[0]]["step"].item() == 2.0
    for step in range(2, STEPS):
        _set_grads(torch, ours, theirs, grads, step)
        opt.step()
        topt.step()
    _assert_same(ours, theirs)


def test_load_state_dict_errors():
    a, b = nn.Parameter(tn.zeros(2)), nn.Parameter(tn.zeros(3))
    sd = SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="group 0 has 2 parameters in the state dict and 1"):
        SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="1 parameter groups, the optimizer has 2"):
        SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        SGD([a], lr=0.1).load_state_dict({"a": 1})


def test_optimizer_moves_with_the_model(device):
    net = nn.Linear(3, 2).to(device)
    opt = Adam(net.parameters(), lr=0.1)
    net(tn.randn(4, 3, device=device)).sum().backward()
    opt.step()
    st = opt.state[net.weight]
    assert st["exp_avg"].device == device and st["step"].device == tn.device("cpu")


# ----- schedulers ------------------------------------------------------------------------------


def _lrs(sched, opt, n, keys=("lr",)):
    out = []
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr() + [g[k] for g in opt.param_groups for k in keys[1:]])
    return out


def _sched_pair(torch, make_sched, make_opt, make_topt):
    p, tp = nn.Parameter(tn.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt, topt = make_opt([p]), make_topt([tp])
    return make_sched(lr_scheduler, opt), make_sched(torch.optim.lr_scheduler, topt), opt, topt


@pytest.mark.parametrize(
    "make",
    [
        lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
        lambda m, o: m.StepLR(o, step_size=1),
        lambda m, o: m.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
        lambda m, o: m.CosineAnnealingLR(o, T_max=4),
        lambda m, o: m.LambdaLR(o, lambda e: 0.9**e),
    ],
    ids=["step", "step1", "cosine", "cosine-0", "lambda"],
)
def test_scheduler_lr_sequences_match_torch(torch, make):
    s, ts, opt, topt = _sched_pair(torch, make, lambda ps: SGD(ps, lr=0.1),
                                   lambda ps: torch.optim.SGD(ps, lr=0.1))  # fmt: skip
    assert s.get_last_lr() == ts.get_last_lr()
    ours, theirs = _lrs(s, opt, 14), _lrs(ts, topt, 14)
    np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=0)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize(
    "kw",
    [{}, {"anneal_strategy": "linear", "pct_start": 0.4}, {"three_phase": True},
     {"cycle_momentum": False, "div_factor": 10.0, "final_div_factor": 100.0}],
    ids=["default", "linear", "three-phase", "no-momentum"],
)  # fmt: skip
def test_one_cycle_matches_torch(torch, opt_name, kw):
    key = "momentum" if opt_name == "SGD" else "betas"
    ours_cls = {"SGD": SGD, "Adam": Adam}[opt_name]
    extra = {"momentum": 0.9} if opt_name == "SGD" else {}
    s, ts, opt, topt = _sched_pair(
        torch, lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=20, **kw),
        lambda ps: ours_cls(ps, lr=0.1, **extra),
        lambda ps: getattr(torch.optim, opt_name)(ps, lr=0.1, **extra),
    )  # fmt: skip
    ours, theirs = _lrs(s, opt, 19, ("lr", key)), _lrs(ts, topt, 19, ("lr", key))
    for a, b in zip(ours, theirs):
        assert a[0] == pytest.approx(b[0], rel=1e-14, abs=1e-18)
        assert a[1] == b[1]
    with pytest.raises(ValueError, match="total_steps=20"):
        opt.step()
        s.step()
        s.step()


def test_one_cycle_errors_and_epochs():
    p = nn.Parameter(tn.zeros(1))
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(SGD([p], lr=0.1), max_lr=1.0)
    s = lr_scheduler.OneCycleLR(SGD([p], lr=0.1), max_lr=1.0, epochs=2, steps_per_epoch=5)
    assert s.total_steps == 10
    with pytest.raises(ValueError, match="anneal_strategy"):
        lr_scheduler.OneCycleLR(SGD([p], lr=0.1), max_lr=1.0, total_steps=5,
                                anneal_strategy="exp")  # fmt: skip


def test_scheduler_state_dict_round_trip():
    p = nn.Parameter(tn.zeros(1))
    opt = SGD([p], lr=0.1, momentum=0.9)
    s = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=30)
    for _ in range(7):
        opt.step()
        s.step()
    sd, osd = copy.deepcopy(s.state_dict()), copy.deepcopy(opt.state_dict())
    assert "optimizer" not in sd
    rest = [_lrs(s, opt, 5)]
    opt2 = SGD([p], lr=0.1, momentum=0.9)
    s2 = lr_scheduler.OneCycleLR(opt2, max_lr=1.0, total_steps=30)
    opt2.load_state_dict(osd)
    s2.load_state_dict(sd)
    rest.append(_lrs(s2, opt2, 5))
    assert rest[0] == rest[1]
