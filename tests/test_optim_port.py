"""Adadelta, Adagrad, RMSprop and the hyper-parameter checker, against torch.optim.

Each optimizer runs 20 float64 steps side by side with torch's on the same weights and
gradients (one parameter skips a step) and must agree to ~1e-12, state included; the
state survives state_dict / load_state_dict and a tn.save / tn.load round trip.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn as nn
from tinynet.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop, lr_scheduler

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
)  # fmt: skip
OURS = {"Adadelta": Adadelta, "Adagrad": Adagrad, "RMSprop": RMSprop}


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
