"""Adadelta, Adagrad, RMSprop and the hyper-parameter checker, against torch.optim.

Each optimizer runs 20 float64 steps side by side with torch's on the same weights and
gradients (one parameter skips a step) and must agree to ~1e-12, state included; the
state survives state_dict / load_state_dict and a tn.save / tn.load round trip.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_optim import _assert_state_same  # one state comparison for every optimizer test

import tinynet as tn
import tinynet.nn as nn
from tinynet.optim import SGD, Adadelta, Adagrad, Adam, AdamW, NAdam, RAdam, RMSprop, lr_scheduler

SHAPES = [(3, 4), (4,), (2, 3, 2)]
STEPS = 20


def _np(t):
    return t.detach().numpy() if isinstance(t, tn.Tensor) else t.detach().cpu().numpy()


def _problem(seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    return init, grads


def _set_grads(ours, theirs, grads, step, torch=None):
    for i, (p, g) in enumerate(zip(ours, grads[step])):
        skip = step == 2 and i == 1  # a parameter without a gradient this step is skipped
        p.grad = None if skip else tn.tensor(g)
        if torch is not None:
            theirs[i].grad = None if skip else torch.tensor(g)


CASES = (
    [("Adadelta", {})]
    + [("Adadelta", dict(lr=0.5, rho=r, eps=e, weight_decay=wd, maximize=m))
       for r, e, wd, m in itertools.product([0.9, 0.5], [1e-6, 1e-3], [0, 0.1], [False, True])]
    + [("Adagrad", {})]
    + [("Adagrad", dict(lr=0.1, lr_decay=d, weight_decay=wd, initial_accumulator_value=a,
                        eps=1e-8, maximize=m))
       for d, wd, a, m in itertools.product([0, 0.05], [0, 0.1], [0, 0.5], [False, True])]
    + [("RMSprop", {})]
    + [("RMSprop", dict(lr=0.01, alpha=al, momentum=mo, centered=c, weight_decay=wd, maximize=m))
       for al, mo, c, wd, m in itertools.product(
           [0.99, 0.3], [0, 0.9], [False, True], [0, 0.1], [False, True])]
    + [("NAdam", {})]
    + [("NAdam", dict(lr=0.05, betas=b, momentum_decay=md, weight_decay=wd,
                      decoupled_weight_decay=d, maximize=m))
       for b, md, wd, d, m in itertools.product(
           [(0.9, 0.999), (0.5, 0.9)], [4e-3, 0.5], [0, 0.1], [False, True], [False, True])]
    + [("RAdam", {})]
    + [("RAdam", dict(lr=0.05, betas=b, eps=e, weight_decay=wd, decoupled_weight_decay=d,
                      maximize=m))
       for b, e, wd, d, m in itertools.product(
           [(0.9, 0.999), (0.5, 0.6)], [1e-8, 1e-2], [0, 0.1], [False, True], [False, True])]
)  # fmt: skip
OURS = {"Adadelta": Adadelta, "Adagrad": Adagrad, "RMSprop": RMSprop, "NAdam": NAdam,
        "RAdam": RAdam}  # fmt: skip


@pytest.mark.parametrize(
    "name,kw", CASES, ids=[f"{n}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for n, kw in CASES]
)
def test_matches_torch_over_20_steps(torch, name, kw):
    init, grads = _problem()
    ours = [nn.Parameter(tn.tensor(a)) for a in init]
    theirs = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    opt, topt = OURS[name](ours, **kw), getattr(torch.optim, name)(theirs, **kw)
    for step in range(STEPS):
        _set_grads(ours, theirs, grads, step, torch)
        opt.step()
        topt.step()
        for k, (p, tp) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(_np(p), _np(tp), rtol=1e-12, atol=1e-14,
                                       err_msg=f"step {step} param {k}")  # fmt: skip
    _assert_state_same(opt, topt)


@pytest.mark.parametrize("name", sorted(OURS))
def test_defaults_are_torchs(torch, name):
    import inspect

    ours = inspect.signature(OURS[name]).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    for key, par in ours.items():
        if key != "params":
            assert theirs[key].default == par.default, key


def test_param_groups_and_float32(torch):
    init, grads = _problem(3)
    ours = [nn.Parameter(tn.tensor(a, dtype=tn.float32)) for a in init]
    theirs = [torch.nn.Parameter(torch.tensor(a, dtype=torch.float32)) for a in init]

    def groups(ps):
        return [{"params": ps[:1], "lr": 0.5}, {"params": ps[1:], "rho": 0.7}]

    opt, topt = Adadelta(groups(ours)), torch.optim.Adadelta(groups(theirs))
    for step in range(STEPS):
        for p, tp, g in zip(ours, theirs, grads[step]):
            p.grad, tp.grad = tn.tensor(g, dtype=tn.float32), torch.tensor(g, dtype=torch.float32)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(_np(p), _np(tp), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [lambda ps: Adadelta(ps, lr=0.5, weight_decay=0.01), lambda ps: Adagrad(ps, lr_decay=0.01),
     lambda ps: RMSprop(ps, momentum=0.9, centered=True)],
    ids=["Adadelta", "Adagrad", "RMSprop"],
)  # fmt: skip
@pytest.mark.parametrize("through_file", [False, True], ids=["dict", "safetensors"])
def test_state_dict_round_trip_continues_identically(tmp_path, make, through_file):
    init, grads = _problem(1)
    a = [nn.Parameter(tn.tensor(x)) for x in init]
    b = [nn.Parameter(tn.tensor(x)) for x in init]
    opt_a, opt_b = make(a), make(b)
    for step in range(STEPS):
        _set_grads(a, None, grads, step)
        _set_grads(b, None, grads, step)
        opt_a.step()
        opt_b.step()
        if step == 5:  # swap opt_b for a fresh optimizer restored from its state
            sd = opt_b.state_dict()
            if through_file:  # the optimizer's state saves as safetensors with dotted keys
                tn.save({"optimizer": sd}, tmp_path / "opt.safetensors")
                sd = tn.load(tmp_path / "opt.safetensors")["optimizer"]
            opt_b = make(b)
            opt_b.load_state_dict(sd)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(_np(pa), _np(pb))


# ----- one hyper-parameter checker ---------------------------------------------------------

NAN, INF = float("nan"), float("inf")
BAD = [
    (SGD, "lr", NAN, "learning rate"), (SGD, "lr", -0.1, "learning rate"),
    (SGD, "momentum", -1, "momentum"), (SGD, "momentum", NAN, "momentum"),
    (SGD, "weight_decay", NAN, "weight_decay"), (SGD, "dampening", -0.5, "dampening"),
    (SGD, "dampening", NAN, "dampening"),
    (Adam, "lr", NAN, "learning rate"), (Adam, "eps", -1e-8, "epsilon"),
    (Adam, "eps", NAN, "epsilon"), (Adam, "betas", (NAN, 0.9), "beta parameter at index 0"),
    (Adam, "betas", (0.9, 1.0), "beta parameter at index 1"),
    (Adam, "betas", (-0.1, 0.9), "beta parameter at index 0"),
    (Adam, "weight_decay", -1, "weight_decay"), (AdamW, "weight_decay", NAN, "weight_decay"),
    (Adadelta, "lr", NAN, "learning rate"), (Adadelta, "rho", 1.5, "rho"),
    (Adadelta, "rho", NAN, "rho"), (Adadelta, "eps", -1, "epsilon"),
    (Adagrad, "lr_decay", -1, "lr_decay"), (Adagrad, "lr_decay", NAN, "lr_decay"),
    (Adagrad, "initial_accumulator_value", -1, "initial_accumulator_value"),
    (Adagrad, "eps", NAN, "epsilon"),
    (RMSprop, "alpha", NAN, "alpha"), (RMSprop, "alpha", 1.1, "alpha"),
    (RMSprop, "momentum", -0.9, "momentum"), (RMSprop, "lr", INF * 0, "learning rate"),
]  # fmt: skip


@pytest.mark.parametrize(
    "cls,key,value,words", BAD, ids=[f"{c.__name__}-{k}-{v}" for c, k, v, _ in BAD]
)
def test_bad_hyper_parameters_raise_naming_argument_and_value(cls, key, value, words):
    p = nn.Parameter(tn.zeros(2))
    with pytest.raises(ValueError, match=words) as info:
        cls([p], **{key: value})
    msg = str(info.value)
    assert cls.__name__ in msg and str(value if key != "betas" else "") in msg


def test_checker_messages_read_like_torchs():
    p = nn.Parameter(tn.zeros(2))
    with pytest.raises(ValueError, match=r"Invalid learning rate: nan"):
        SGD([p], lr=NAN)
    with pytest.raises(ValueError, match=r"Invalid epsilon value: -1"):
        Adam([p], eps=-1)
    with pytest.raises(TypeError, match="lr must be a number"):
        SGD([p], lr="0.1")
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="param_groups"):
        SGD([{"params": [p], "lr": NAN}], lr=0.1)


@pytest.mark.parametrize("cls", [SGD, Adam, Adadelta, Adagrad, RMSprop])
def test_a_nan_lr_never_reaches_the_parameters(tmp_path, cls):
    p = nn.Parameter(tn.tensor([1.0, 2.0]))
    opt = cls([p], lr=0.1)
    p.grad = tn.tensor([0.5, -0.5])
    opt.step()
    good = _np(p).copy()
    sd = opt.state_dict()
    # an edited param group: the step refuses and leaves the weights as they were
    opt.param_groups[0]["lr"] = NAN
    with pytest.raises(ValueError, match="Invalid learning rate: nan"):
        opt.step()
    np.testing.assert_array_equal(_np(p), good)
    # a checkpoint that carries a NaN lr is refused by load_state_dict, state untouched
    bad = {"state": sd["state"], "param_groups": [dict(sd["param_groups"][0], lr=NAN)]}
    opt.param_groups[0]["lr"] = 0.1
    with pytest.raises(ValueError, match="load_state_dict.*Invalid learning rate: nan"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.1
    # a scheduler that computes a NaN lr: caught at the next optimizer step
    sched = lr_scheduler.LambdaLR(opt, lambda e: NAN if e else 1.0)
    sched.step()
    with pytest.raises(ValueError, match="Invalid learning rate: nan"):
        opt.step()
    np.testing.assert_array_equal(_np(p), good)
    assert np.isfinite(_np(p)).all()


def test_add_param_group_is_checked():
    opt = SGD([nn.Parameter(tn.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match=r"param_groups\[1\]: Invalid momentum value: -1"):
        opt.add_param_group({"params": [nn.Parameter(tn.zeros(1))], "momentum": -1})
    assert len(opt.param_groups) == 1


# ----- a gradient never broadcasts into its parameter --------------------------------------


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, Adadelta, Adagrad, RMSprop])
@pytest.mark.parametrize(
    "grad",
    [lambda: tn.ones(1), lambda: tn.ones(1, 4), lambda: tn.ones(4, dtype=tn.float64),
     lambda: tn.ones(2, 4)],
    ids=["broadcastable", "extra-dim", "float64", "wrong-rows"],
)  # fmt: skip
def test_mismatched_gradient_raises_and_changes_nothing(cls, grad):
    a, b = nn.Parameter(tn.ones(3, 4)), nn.Parameter(tn.ones(4))
    opt = cls([a, b], lr=0.1)
    a.grad = tn.ones(3, 4)
    try:  # a later tensor.py may refuse the assignment itself: just as good
        b.grad = grad()
    except (RuntimeError, ValueError, TypeError):
        return
    with pytest.raises(
        RuntimeError, match=r"parameter 1 .* but the parameter is \(4,\) tinynet.float32"
    ):
        opt.step()
    np.testing.assert_array_equal(_np(b), np.ones(4))
    np.testing.assert_array_equal(_np(a), np.ones((3, 4)))  # nothing moved, not even a


# ----- schedulers ------------------------------------------------------------------------------

SCHED_STEPS = 25


def _sched_pair(torch, make, n_groups=2):
    def groups(lib, ps):
        return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.03}][:n_groups]

    ps = [nn.Parameter(tn.zeros(1)), nn.Parameter(tn.zeros(1))]
    tps = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    opt = SGD(groups(tn, ps), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(groups(torch, tps), lr=0.1, momentum=0.9)
    return make(lr_scheduler, opt), make(torch.optim.lr_scheduler, topt), opt, topt


def _run(sched, opt, n, metrics=None):
    out = [list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups]]
    for i in range(n):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        out.append(list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups])
    return out


def _seq(m, o):
    return m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=4), m.ExponentialLR(o, gamma=0.9),
            m.StepLR(o, step_size=3, gamma=0.5)], milestones=[5, 12])  # fmt: skip


SCHEDULERS = {
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 15], gamma=0.5),
    "exponential": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "linear": lambda m, o: m.LinearLR(o),
    "linear-down": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=8),
    "constant": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    "polynomial": lambda m, o: m.PolynomialLR(o, total_iters=10, power=2.0),
    "multiplicative": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95),
    "warm-restarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4),
    "warm-restarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, T_mult=2, eta_min=1e-3),
    "sequential": _seq,
    "sequential-const": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.1, total_iters=2), m.CosineAnnealingLR(o, T_max=6)],
        milestones=[3]),
    "chained": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=2), m.ExponentialLR(o, gamma=0.9)]),
    "step": lambda m, o: m.StepLR(o, step_size=4, gamma=0.3),
    "cyclic": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "cyclic-2": lambda m, o: m.CyclicLR(o, [0.01, 0.002][:len(o.param_groups)], 0.1,
                                        step_size_up=3, step_size_down=5, mode="triangular2"),
    "cyclic-exp": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 2, mode="exp_range", gamma=0.9,
                                          base_momentum=0.7, max_momentum=0.95),
    "cyclic-fn": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 3, 2, scale_fn=lambda x: 1 / (x + 1),
                                         scale_mode="iterations", cycle_momentum=False),
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(SCHEDULERS))
@pytest.mark.parametrize("n_groups", [1, 2])
def test_scheduler_lrs_match_torch_step_by_step(torch, key, n_groups):
    s, ts, opt, topt = _sched_pair(torch, SCHEDULERS[key], n_groups)
    ours, theirs = _run(s, opt, SCHED_STEPS), _run(ts, topt, SCHED_STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "kw",
    [{}, {"mode": "max", "factor": 0.5, "patience": 2},
     {"threshold": 0.1, "threshold_mode": "abs", "cooldown": 2, "patience": 1, "min_lr": 0.02},
     {"mode": "max", "threshold_mode": "abs", "patience": 0, "min_lr": [0.01, 0.005]},
     {"factor": 0.5, "patience": 1, "eps": 0.02}],
    ids=["default", "max", "abs-cooldown-min_lr", "max-abs-per-group", "eps"],
)  # fmt: skip
def test_reduce_on_plateau_matches_torch(torch, kw):
    rng = np.random.default_rng(0)
    metrics = (np.cumsum(rng.standard_normal(40)) * 0.1 + 5.0).tolist()
    metrics[10:16] = [metrics[9]] * 6  # a plateau
    s, ts, opt, topt = _sched_pair(torch, lambda m, o: m.ReduceLROnPlateau(o, **kw))
    ours, theirs = _run(s, opt, 40, metrics), _run(ts, topt, 40, metrics)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=0)
    assert len({tuple(r) for r in ours}) > 1, "the scenario must reduce the lr at least once"
    for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
        assert getattr(s, key) == getattr(ts, key), key


def test_warm_restarts_with_fractional_epochs_match_torch(torch):
    s, ts, opt, topt = _sched_pair(
        torch, lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2)
    )
    for sched, o in ((s, opt), (ts, topt)):
        sched.lrs = []
        for epoch in range(6):
            for i in range(5):
                o.step()
                sched.step(epoch + i / 5)
                sched.lrs.append(sched.get_last_lr())
    np.testing.assert_allclose(s.lrs, ts.lrs, rtol=1e-14, atol=1e-18)


@pytest.mark.parametrize("key", sorted(SCHEDULERS) + ["plateau"])
@pytest.mark.parametrize("through_file", [False, True], ids=["dict", "safetensors"])
def test_scheduler_state_dict_round_trip(tmp_path, key, through_file):
    make = SCHEDULERS.get(key) or (lambda m, o: m.ReduceLROnPlateau(o, patience=1))
    metrics = [3.0, 2.0, 2.5, 2.5, 2.5, 2.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0] * 3

    def build():
        ps = [nn.Parameter(tn.zeros(1)), nn.Parameter(tn.zeros(1))]
        opt = SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.03}], lr=0.1)
        return opt, make(lr_scheduler, opt)

    def go(sched, opt, start, n):
        out = []
        for i in range(start, start + n):
            opt.step()
            sched.step(metrics[i]) if key == "plateau" else sched.step()
            out.append(sched.get_last_lr())
        return out

    opt, sched = build()
    go(sched, opt, 0, 7)
    sd, osd = sched.state_dict(), opt.state_dict()
    if through_file:
        tn.save({"sched": sd, "opt": osd}, tmp_path / "ck.safetensors")
        back = tn.load(tmp_path / "ck.safetensors")
        sd, osd = back["sched"], back["opt"]
    else:
        import copy

        sd, osd = copy.deepcopy(sd), copy.deepcopy(osd)
    expected = go(sched, opt, 7, 15)
    opt2, sched2 = build()
    opt2.load_state_dict(osd)
    sched2.load_state_dict(sd)
    assert go(sched2, opt2, 7, 15) == expected


BAD_SCHED = [
    ("StepLR", dict(step_size=0), ValueError), ("StepLR", dict(step_size=2.5), TypeError),
    ("StepLR", dict(step_size=2, gamma=NAN), ValueError),
    ("MultiStepLR", dict(milestones=[2, -1]), ValueError),
    ("MultiStepLR", dict(milestones=[2], gamma=-0.1), ValueError),
    ("ExponentialLR", dict(gamma=NAN), ValueError),
    ("LinearLR", dict(start_factor=0), ValueError), ("LinearLR", dict(end_factor=1.5), ValueError),
    ("LinearLR", dict(total_iters=0), ValueError),
    ("ConstantLR", dict(factor=1.5), ValueError), ("ConstantLR", dict(factor=NAN), ValueError),
    ("PolynomialLR", dict(total_iters=0), ValueError),
    ("CosineAnnealingLR", dict(T_max=0), ValueError),
    ("CosineAnnealingLR", dict(T_max=NAN), ValueError),
    ("CosineAnnealingWarmRestarts", dict(T_0=0), ValueError),
    ("CosineAnnealingWarmRestarts", dict(T_0=2.0), TypeError),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=0), ValueError),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, eta_min=NAN), ValueError),
    ("ReduceLROnPlateau", dict(factor=1.0), ValueError),
    ("ReduceLROnPlateau", dict(factor=NAN), ValueError),
    ("ReduceLROnPlateau", dict(mode="lowest"), ValueError),
    ("ReduceLROnPlateau", dict(threshold_mode="pct"), ValueError),
    ("ReduceLROnPlateau", dict(patience=-1), ValueError),
    ("ReduceLROnPlateau", dict(cooldown=-1), ValueError),
    ("ReduceLROnPlateau", dict(threshold=NAN), ValueError),
    ("ReduceLROnPlateau", dict(min_lr=-1), ValueError),
    ("ReduceLROnPlateau", dict(min_lr=[0.1]), ValueError),
    ("ReduceLROnPlateau", dict(eps=NAN), ValueError),
    ("OneCycleLR", dict(total_steps=10, max_lr=NAN), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=0), ValueError),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10, div_factor=0), ValueError),
    ("CyclicLR", dict(base_lr=0.1, max_lr=NAN), ValueError),
    ("CyclicLR", dict(max_lr=1.0, base_lr=-0.1), ValueError),
    ("CyclicLR", dict(max_lr=1.0, base_lr=[0.1]), ValueError),
    ("CyclicLR", dict(base_lr=0.1, max_lr=1.0, step_size_up=0), ValueError),
    ("CyclicLR", dict(base_lr=0.1, max_lr=1.0, mode="triangle"), ValueError),
    ("CyclicLR", dict(base_lr=0.1, max_lr=1.0, scale_mode="epochs"), ValueError),
    ("CyclicLR", dict(base_lr=0.1, max_lr=1.0, max_momentum=NAN), ValueError),
]  # fmt: skip


@pytest.mark.parametrize(
    "name,kw,exc", BAD_SCHED, ids=[f"{n}-{list(kw)[-1]}" for n, kw, _ in BAD_SCHED]
)
def test_bad_scheduler_options_raise_naming_argument(name, kw, exc):
    opt = SGD([{"params": [nn.Parameter(tn.zeros(1))]}, {"params": [nn.Parameter(tn.zeros(1))]}],
              lr=0.1, momentum=0.9)  # fmt: skip
    lr_before = [g["lr"] for g in opt.param_groups]
    arg = list(kw)[-1]  # the bad option comes last
    with pytest.raises(exc, match=name) as info:
        getattr(lr_scheduler, name)(opt, **kw)
    assert arg.split("[")[0] in str(info.value) or "mode" in str(info.value)
    assert [g["lr"] for g in opt.param_groups] == lr_before


def test_sequential_and_chained_check_their_schedulers():
    p, q = nn.Parameter(tn.zeros(1)), nn.Parameter(tn.zeros(1))
    o1, o2 = SGD([p], lr=0.1), SGD([q], lr=0.1)
    e1, e2 = lr_scheduler.ExponentialLR(o1, 0.9), lr_scheduler.ExponentialLR(o2, 0.9)
    with pytest.raises(ValueError, match="another optimizer"):
        lr_scheduler.SequentialLR(o1, [e1, e2], milestones=[2])
    with pytest.raises(ValueError, match="one milestone fewer"):
        lr_scheduler.SequentialLR(o1, [e1], milestones=[2])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        lr_scheduler.ChainedScheduler([e1, lr_scheduler.ReduceLROnPlateau(o1)])
    with pytest.raises(ValueError, match="at least one"):
        lr_scheduler.ChainedScheduler([])


@pytest.mark.parametrize(
    "make",
    [lambda ps: Adadelta(ps, weight_decay=0.1), lambda ps: Adagrad(ps, lr_decay=0.1),
     lambda ps: RMSprop(ps, momentum=0.9, centered=True, weight_decay=0.1)],
    ids=["Adadelta", "Adagrad", "RMSprop"],
)  # fmt: skip
def test_new_optimizers_run_on_every_device(device, make):
    init, grads = _problem(4, steps=3)
    ref = [nn.Parameter(tn.tensor(a)) for a in init]
    ours = [nn.Parameter(tn.tensor(a, device=device)) for a in init]
    opt_ref, opt = make(ref), make(ours)
    for step in range(3):
        for p, q, g in zip(ref, ours, grads[step]):
            p.grad, q.grad = tn.tensor(g), tn.tensor(g, device=device)
        opt_ref.step()
        opt.step()
    for p, q in zip(ref, ours):
        assert q.device == device
        np.testing.assert_allclose(_np(q.cpu()), _np(p), rtol=1e-12, atol=1e-14)
    for st in opt.state.values():
        assert st["step"].device == tn.device("cpu")
        assert all(v.device == device for k, v in st.items() if k != "step")


def test_cyclic_lr_cycles_adams_beta1_and_matches_torch(torch):
    ps, tps = [nn.Parameter(tn.zeros(1))], [torch.nn.Parameter(torch.zeros(1))]
    opt, topt = Adam(ps, lr=0.5), torch.optim.Adam(tps, lr=0.5)
    kw = dict(base_lr=0.001, max_lr=0.01, step_size_up=3, mode="triangular2")
    s, ts = lr_scheduler.CyclicLR(opt, **kw), torch.optim.lr_scheduler.CyclicLR(topt, **kw)
    for _ in range(SCHED_STEPS):
        opt.step()
        topt.step()
        s.step()
        ts.step()
        assert s.get_last_lr() == ts.get_last_lr()
        assert opt.param_groups[0]["betas"] == topt.param_groups[0]["betas"]
    assert opt.param_groups[0]["betas"][0] != 0.9  # beta1 did cycle


def test_cyclic_lr_without_momentum_needs_cycle_momentum_false():
    opt = Adadelta([nn.Parameter(tn.zeros(1))])
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        lr_scheduler.CyclicLR(opt, 0.1, 1.0)
    s = lr_scheduler.CyclicLR(opt, 0.1, 1.0, step_size_up=2, cycle_momentum=False)
    lrs = []
    for _ in range(4):
        lrs.append(s.get_last_lr()[0])
        s.step()
    np.testing.assert_allclose(lrs, [0.1, 0.55, 1.0, 0.55])
