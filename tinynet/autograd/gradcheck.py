"""gradcheck: compare backward with float64 central differences."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .grad_mode import no_grad


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:  # fmt: skip
    """Check the gradients of `fn` at `inputs` against central differences.

    Every float input that requires grad must be float64. The analytic
    Jacobian comes from one backward per output element; the numeric one from
    (f(x + eps) - f(x - eps)) / (2 eps) per input element. Returns True, or
    raises ValueError naming the worst element (input, index, both values).
    """
    from . import grad as autograd_grad  # a cycle: autograd/__init__ imports this module

    inputs = _as_tuple(inputs) if not isinstance(inputs, list) else tuple(inputs)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    for t in diff:
        if t.data.dtype != np.float64:
            raise ValueError(f"gradcheck: inputs must be float64, got {t.dtype} (shape {t.shape})")
    if not diff:
        raise ValueError("gradcheck: no input requires grad")

    def outputs():
        return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor) and o.requires_grad]

    outs = outputs()
    if not outs:
        raise ValueError("gradcheck: fn returned no tensor that requires grad")
    # analytic: row by row, one backward per output element
    analytic = [np.zeros((sum(o.data.size for o in outs), t.data.size)) for t in diff]
    row = 0
    for o in outs:
        for k in range(o.data.size):
            g = np.zeros(o.data.size)
            g[k] = 1.0
            gt = Tensor._make(
                o.device.backend.from_host(g.reshape(o.shape), o.device.index),
                o.device,
                False,
                None,
            )
            grads = autograd_grad([o], diff, [gt], retain_graph=True, allow_unused=True)
            for j, gr in enumerate(grads):
                if gr is not None:
                    analytic[j][row] = gr._host().ravel()
            row += 1
    # numeric
    numeric = [np.zeros_like(a) for a in analytic]
    with no_grad():
        for j, t in enumerate(diff):
            host = t._host().copy()
            flat = host.reshape(-1)
            for i in range(flat.size):
                orig = flat[i]
                vals = []
                for delta in (eps, -eps):
                    flat[i] = orig + delta
                    t.data = t.device.backend.from_host(host.copy(), t.device.index)
                    vals.append(
                        np.concatenate(
                            [
                                o._host().ravel().astype(np.float64)
                                for o in _as_tuple(fn(*inputs))
                                if isinstance(o, Tensor)
                            ][: len(outs)]
                        )
                    )
                flat[i] = orig
                numeric[j][:, i] = (vals[0] - vals[1]) / (2 * eps)
            t.data = t.device.backend.from_host(host, t.device.index)
    for j, (a, n) in enumerate(zip(analytic, numeric)):
        err = np.abs(a - n) - (atol + rtol * np.abs(n))
        if err.size and err.max() > 0:
            r, c = np.unravel_index(int(err.argmax()), err.shape)
            idx = np.unravel_index(c, diff[j].shape) if diff[j].ndim else ()
            msg = (
                f"gradcheck: Jacobian mismatch for input {j} (shape {tuple(diff[j].shape)}) at "
                f"element {tuple(int(i) for i in idx)}, output element {r}: "
                f"analytic {a[r, c]:.8g}, numeric {n[r, c]:.8g}"
            )
            if raise_exception:
                raise ValueError(msg)
            return False
    return True
