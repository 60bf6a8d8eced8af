"""Double backward of every registered op against PyTorch (one formula serves every order:
docs/autograd.md section 6).

For each differentiable (op, sample) pair of the registry, in float64 on every device of the
`device` fixture: first gradients with `create_graph=True` for a random upstream gradient
`v`, then the gradient of `sum_k <grad_k, u_k>` (random `u_k`) with respect to every input,
compared with `torch.autograd.grad(..., create_graph=True)` doing the same. A backward that
read a saved intermediate as a graph-less constant gives a wrong second derivative here.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_ops import (
    GRAD_CASES,
    _assert_close,
    _call,
    _host,
    _host_inputs,
    _outputs,
    _tn_inputs,
    _torch_inputs,
)

import tinynet as tn

# Ops ("Name") or samples ("Name[sample name]") whose second derivative torch itself does not
# define, with the reason.
SKIP: dict[str, str] = {
    "Hardsigmoid": "torch has no double backward for hardsigmoid (aten::hardsigmoid_backward)",
    "Norm[zero row]": "a norm has no second derivative at 0: torch gives NaN there, tinynet 0",
}


def _differentiable(ts):
    return [t for t in ts if t is not None and t.requires_grad]


@pytest.mark.parametrize(("op", "sample"), GRAD_CASES)
def test_double_backward_matches_torch(torch, device, op, sample):
    for key in (op.__name__, f"{op.__name__}[{sample.name}]"):
        if key in SKIP:
            pytest.skip(SKIP[key])
    host = _host_inputs(op, sample)
    args = _tn_inputs(host, np.dtype("float64"), device)
    targs = _torch_inputs(torch, host, np.dtype("float64"))
    outs = _outputs(_call(op, sample, args))
    touts = _outputs(sample.torch_fn(torch, *targs, **sample.kwargs))
    pairs = [(o, to) for o, to in zip(outs, touts) if to.requires_grad]
    rng = np.random.default_rng(2)
    vs = [rng.standard_normal(tuple(to.shape)) for _, to in pairs]
    leaves = [a for a in args if isinstance(a, tn.Tensor) and a.requires_grad]
    tleaves = [a for a in targs if hasattr(a, "requires_grad") and a.requires_grad]
    g1 = tn.autograd.grad([o for o, _ in pairs], leaves, [tn.tensor(v, device=device) for v in vs],
                          create_graph=True, allow_unused=True)  # fmt: skip
    t1 = torch.autograd.grad([to for _, to in pairs], tleaves, [torch.tensor(v) for v in vs],
                             create_graph=True, allow_unused=True)  # fmt: skip
    us = [rng.standard_normal(tuple(leaf.shape)) for leaf in leaves]
    s = [(g * tn.tensor(u, device=device)).sum() for g, u in zip(g1, us) if g is not None]
    ts = [(g * torch.tensor(u)).sum() for g, u in zip(t1, us) if g is not None]
    s, ts = _differentiable(s), _differentiable(ts)
    got = tn.autograd.grad(s, leaves, allow_unused=True) if s else [None] * len(leaves)
    want = torch.autograd.grad(ts, tleaves, allow_unused=True) if ts else [None] * len(leaves)
    for k, (leaf, g, w) in enumerate(zip(leaves, got, want)):
        w = np.zeros(leaf.shape) if w is None else w.detach().numpy(force=True)
        g = np.zeros(leaf.shape) if g is None else _host(g)
        _assert_close(g, w, 1e-9, sample.atol, f"second derivative of input {k}")
