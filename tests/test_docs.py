"""Every ```python block in README.md and docs/*.md runs (docs are part of the product).

Blocks in one file run in order in one namespace, as a reader would type them, and
each prints something (a reader sees what a block shows). Snippets that need a GPU
are fenced as ```python-gpu and are not run here. The formulas of docs/conv2d.md and
the cs231n loops of examples/cs231n_bridge.py are also checked against PyTorch.
"""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
FILES = [
    p
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    if BLOCK.search(p.read_text())
]


def test_readme_and_learner_docs_have_examples():
    names = {p.name for p in FILES}
    assert {"README.md", "conv2d.md", "autograd.md", "backends.md"} <= names, names


def _run_blocks(path) -> tuple[dict, list[str]]:
    """Run a file's blocks in order in one namespace; returns it and what each block printed."""
    import contextlib
    import io

    namespace: dict = {"__name__": "__doc__"}
    printed = []
    for i, code in enumerate(BLOCK.findall(path.read_text())):
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                exec(compile(code, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as e:  # name the block so a broken doc is easy to find
            raise AssertionError(f"{path.name} block {i} failed: {e!r}\n{code}") from e
        printed.append(buf.getvalue())
    return namespace, printed


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_markdown_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    _, printed = _run_blocks(path)
    silent = [i for i, out in enumerate(printed) if not out.strip()]
    assert not silent, f"{path.name}: blocks {silent} print nothing; show the reader the result"


@pytest.fixture(scope="module")
def conv_doc():
    """The namespace of docs/conv2d.md after all of its blocks ran (and what they printed)."""
    return _run_blocks(ROOT / "docs" / "conv2d.md")


def test_conv_doc_uneven_stride_block_is_there_and_says_what_it_checks(conv_doc):
    ns, printed = conv_doc
    out = "".join(printed)
    assert "the recipe as written: dw (4, 4) for a 3x3 kernel; dx (9, 9) for a 10x10 input" in out
    assert "conv_transpose2d: (9, 9) without and (10, 10) with output_padding=1" in out
    assert "row 9 of dx: [0. 0. 0. 0. 0. 0. 0. 0. 0. 0.]" in out


def test_conv_doc_uneven_stride_against_torch(conv_doc, torch):
    """The 10x10, stride-2 recipe of docs/conv2d.md step 5, against torch's autograd."""
    import numpy as np

    ns, _ = conv_doc
    rng = np.random.default_rng(1)
    x, w, dy = (
        rng.standard_normal((10, 10)),
        rng.standard_normal((3, 3)),
        rng.standard_normal((4, 4)),
    )
    dw = ns["correlate"](x, ns["dilate"](dy, 2))[:3, :3]
    dx = np.zeros((10, 10))
    dx[:9, :9] = ns["full_conv"](ns["dilate"](dy, 2), w)
    tx = torch.tensor(x[None, None], requires_grad=True)
    tw = torch.tensor(w[None, None], requires_grad=True)
    torch.nn.functional.conv2d(tx, tw, stride=2).backward(torch.tensor(dy[None, None]))
    np.testing.assert_allclose(tw.grad.numpy()[0, 0], dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tx.grad.numpy()[0, 0], dx, rtol=1e-12, atol=1e-12)


OPTION_GRID = [  # (x shape, w shape, options): every row of the table, alone and together
    ((2, 4, 10, 10), (4, 4, 3, 3), {}),
    ((2, 4, 10, 10), (4, 4, 3, 3), {"padding": 1}),
    ((2, 4, 10, 10), (4, 4, 3, 3), {"padding": (2, 0)}),
    ((2, 4, 10, 10), (4, 4, 3, 3), {"stride": 2}),  # 10 - 3 is odd: row 9 is never read
    ((1, 2, 11, 9), (3, 2, 3, 2), {"stride": (3, 2)}),
    ((2, 4, 10, 10), (4, 4, 3, 3), {"dilation": 2}),
    ((1, 2, 11, 12), (2, 2, 2, 3), {"dilation": (3, 2), "stride": 2}),
    ((2, 4, 10, 10), (6, 2, 3, 3), {"groups": 2}),
    ((1, 4, 9, 9), (4, 1, 3, 3), {"groups": 4}),  # depthwise
    ((1, 3, 8, 8), (2, 3, 2, 2), {"padding": "same"}),  # even kernel: the extra goes after
    ((1, 3, 8, 7), (2, 3, 4, 3), {"padding": "same", "dilation": 2}),
    ((2, 4, 13, 11), (6, 2, 3, 3), {"stride": 3, "padding": 2, "dilation": 2, "groups": 2}),
]


ONE_NUMBER = [c for c in OPTION_GRID if not any(isinstance(v, tuple) for v in c[2].values())]


def _torch_conv(torch, tx, tw, options):
    import warnings

    with warnings.catch_warnings():  # "same" with an even kernel: torch warns that it pads a copy
        warnings.simplefilter("ignore", UserWarning)
        return torch.nn.functional.conv2d(tx, tw, **options)


def _torch_conv_grads(torch, xs, ws, options, seed):
    """Random x, w and dy for the conv with `options`, and torch's (dx, dw) for them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    y = _torch_conv(torch, tx, tw, options)
    dy = rng.standard_normal(tuple(y.shape))
    y.backward(torch.tensor(dy))
    return x, w, dy, tx.grad.numpy(), tw.grad.numpy()


@pytest.mark.parametrize("xs,ws,options", ONE_NUMBER, ids=[str(o) for *_, o in ONE_NUMBER])
def test_conv_doc_option_table_against_torch(conv_doc, torch, xs, ws, options):
    """docs/conv2d.md step 9: the table's formulas, as table_grads applies them, against
    torch's autograd, to 1e-12."""
    import numpy as np

    ns, _ = conv_doc
    x, w, dy, want_dx, want_dw = _torch_conv_grads(torch, xs, ws, options, seed=2)
    stride, padding = options.get("stride", 1), options.get("padding", 0)
    dilation, groups = options.get("dilation", 1), options.get("groups", 1)
    dx, dw = ns["table_grads"](x, w, dy, stride, padding, dilation, groups)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,ws,options", OPTION_GRID, ids=[str(o) for *_, o in OPTION_GRID])
def test_conv_doc_general_formula_against_torch(torch, xs, ws, options):
    """docs/conv2d.md step 9's general formulas, transcribed per axis (pairs included)."""
    import itertools

    import numpy as np

    from tinynet.ops import conv_reference as ref

    x, w, dy, want_dx, want_dw = _torch_conv_grads(torch, xs, ws, options, seed=3)

    def pair(v):
        return v if isinstance(v, tuple) else (v, v)

    (sH, sW), (dH, dW) = pair(options.get("stride", 1)), pair(options.get("dilation", 1))
    G = options.get("groups", 1)
    N, C, H, W = x.shape
    nf, Cg, kH, kW = w.shape
    Fg = nf // G
    pt, pb, pl, pr = ref.padding_amounts(
        options.get("padding", 0), (kH, kW), options.get("dilation", 1)
    )
    xpad = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oH, oW = dy.shape[2:]
    dw, dxpad = np.zeros(w.shape), np.zeros(xpad.shape)
    # dw[f, c, ky, kx] = sum over n, oy, ox of dy[n, f, oy, ox] * xpad[n, g*Cg + c, s*oy + d*ky, ..]
    # dxpad[n, g*Cg + c, iy, ix] = sum of dy[n, f, oy, ox] * w[f, c, ky, kx], iy = s*oy + d*ky
    for f, c, ky, kx in itertools.product(range(nf), range(Cg), range(kH), range(kW)):
        g = f // Fg
        rows = slice(dH * ky, dH * ky + sH * (oH - 1) + 1, sH)
        cols = slice(dW * kx, dW * kx + sW * (oW - 1) + 1, sW)
        dw[f, c, ky, kx] = np.sum(dy[:, f] * xpad[:, g * Cg + c, rows, cols])
        dxpad[:, g * Cg + c, rows, cols] += dy[:, f] * w[f, c, ky, kx]
    np.testing.assert_allclose(dw, want_dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dxpad[:, :, pt : pt + H, pl : pl + W], want_dx,
                               rtol=1e-12, atol=1e-12)  # fmt: skip


def test_cs231n_bridge_against_tinynet_and_torch(torch):
    """conv_forward_naive / conv_backward_naive (cs231n's names and signatures) on a grid of
    N, C, F, stride and pad: against tinynet (the example's own check) and PyTorch."""
    import inspect
    import itertools
    import runpy

    import numpy as np

    mod = runpy.run_path(str(ROOT / "examples" / "cs231n_bridge.py"), run_name="bridge")
    fwd, bwd = mod["conv_forward_naive"], mod["conv_backward_naive"]
    assert list(inspect.signature(fwd).parameters) == ["x", "w", "b", "conv_param"]
    assert list(inspect.signature(bwd).parameters) == ["dout", "cache"]
    assert mod["check"]() == 72  # every grid point agrees with tinynet (raises otherwise)
    rng = np.random.default_rng(4)
    for N, C, nf, s, p in itertools.product((2,), (1, 3), (1, 2), (1, 2, 3), (0, 1, 2)):
        x = rng.standard_normal((N, C, 8, 7))
        w, b = rng.standard_normal((nf, C, 3, 3)), rng.standard_normal(nf)
        out, cache = fwd(x, w, b, {"stride": s, "pad": p})
        dout = rng.standard_normal(out.shape)
        dx, dw, db = bwd(dout, cache)
        t = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        ty = torch.nn.functional.conv2d(*t, stride=s, padding=p)
        ty.backward(torch.tensor(dout))
        for name, mine, ref in [
            ("out", out, ty.detach().numpy()),
            ("dx", dx, t[0].grad.numpy()),
            ("dw", dw, t[1].grad.numpy()),
            ("db", db, t[2].grad.numpy()),
        ]:
            np.testing.assert_allclose(
                mine,
                ref,
                rtol=1e-12,
                atol=1e-12,
                err_msg=f"{name}: N={N} C={C} F={nf} stride={s} pad={p}",
            )
        dxg, dwg, _ = mod["conv_backward_gemm"](dout, cache)
        np.testing.assert_allclose(dwg, dw, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dxg, dx, rtol=1e-12, atol=1e-12)  # fmt: skip


def test_example_cs231n_bridge_runs(tmp_path):
    out = _run_example("cs231n_bridge.py", cwd=tmp_path)
    assert "agree with tinynet on all 72 cases" in out


def _run_example(name: str, *args: str, cwd) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=cwd,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, f"{name} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_example_conv_gradients_runs_and_agrees(tmp_path):
    out = _run_example("conv_gradients.py", cwd=tmp_path)
    assert "the three agree." in out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out
    else:
        assert (tmp_path / "conv_gradients.png").stat().st_size > 1000


def test_example_train_mnist_runs_a_short_job(tmp_path):
    out = _run_example("train_mnist.py", "--epochs", "1", "--limit", "300", "--no-progress",
                       "--out", str(tmp_path / "run"), cwd=tmp_path)  # fmt: skip
    assert "done: test accuracy" in out
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()


@pytest.mark.parametrize("name", ["conv.py", "engine.py", "train.py", "epoch.py"])
def test_benchmark_scripts_start(name):
    """Benchmarks are not tests, but they must not rot: each parses its arguments."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), "--help"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "--device" in out.stdout


def test_example_pytorch_mnist_official_port_runs(tmp_path):
    """PyTorch's official MNIST example, imports changed only (docs/porting.md): one dry-run
    epoch (one logged batch), the test pass, and the checkpoint it saves."""
    out = _run_example("pytorch_mnist.py", "--epochs", "1", "--dry-run", "--save-model",
                       cwd=tmp_path)  # fmt: skip
    assert "Train Epoch: 1 [0/4000 (0%)]" in out
    assert "Test set: Average loss:" in out and "/1000" in out
    import tinynet as tn

    state = tn.load(tmp_path / "mnist_cnn.pt")
    assert sorted(state) == ["conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight",
                             "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]  # fmt: skip
