"""The backend seam: devices, transfers, DLPack, tn.cuda, the doctor, compare_devices.

No GPU runs these tests, so the CUDA path is exercised two ways: the strict stand-in
device "fakecuda" (tests/fakecuda.py: its own array type, no implicit conversion to
NumPy, no mixing with NumPy arrays), and tinynet's real CUDA backend
(tinynet/backend/cuda.py) running on the stand-in posing as the `cupy` module. Tests
marked `gpu` run on a real GPU with CuPy (`pytest -m gpu`) and skip cleanly elsewhere.
"""

from __future__ import annotations

import ast
import io
import os
import pathlib
import re
import subprocess
import sys
import traceback

import fakecuda
import numpy as np
import pytest

import tinynet as tn
import tinynet.backend as tb
import tinynet.backend.cuda as tcuda
from tinynet import doctor
from tinynet.ops.registry import REGISTRY, Arg, Bool, Int

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "tinynet"
xp = fakecuda.xp


@pytest.fixture
def fake_cupy():
    """tinynet's real CUDA backend, with the stand-in posing as `cupy`: "cuda" works here."""
    with fakecuda.installed_as_cupy() as cupy:
        yield cupy


@pytest.fixture
def no_cupy(monkeypatch):
    """`import cupy` fails, as on a machine without CuPy (even where it is installed)."""
    for name in ("cupy", "cupyx", "cupyx.scipy", "cupyx.scipy.special"):
        monkeypatch.setitem(sys.modules, name, None)
    fakecuda._reset_tinynet_cuda()
    yield
    fakecuda._reset_tinynet_cuda()


@pytest.fixture
def restore_default_device():
    yield
    tn.set_default_device(None)


def _fake(a) -> fakecuda.ndarray:
    return fakecuda.backend.from_host(np.asarray(a))


# ----- the stand-in is strict ------------------------------------------------------------------


def test_stand_in_refuses_implicit_conversion_to_numpy():
    a = _fake([1.0, 2.0])
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(tn.tensor([1.0], device="fakecuda"))  # Tensor.__array__ goes through it too


@pytest.mark.parametrize(
    "mix",
    [
        lambda a, h: a + h,
        lambda a, h: h + a,
        lambda a, h: a * h,
        lambda a, h: a < h,
        lambda a, h: np.add(a, h),
        lambda a, h: xp.maximum(a, h),
        lambda a, h: xp.where(a > 0, a, h),
        lambda a, h: xp.concatenate([a, h]),
        lambda a, h: xp.matmul(a, h),
        lambda a, h: a[np.array([0, 1])],
        lambda a, h: a.__setitem__(slice(None), h),
        lambda a, h: xp.asarray(h),
        lambda a, h: a.__iadd__(h),
    ],
    ids=[
        "add",
        "radd",
        "mul",
        "lt",
        "np.add",
        "xp.maximum",
        "xp.where",
        "xp.concatenate",
        "xp.matmul",
        "index",
        "setitem",
        "xp.asarray",
        "iadd",
    ],
)
def test_stand_in_refuses_mixing_with_numpy_arrays(mix):
    with pytest.raises(TypeError, match="numpy.ndarray|host-to-device|copies the index"):
        mix(_fake([1.0, 2.0]), np.array([3.0, 4.0]))


def test_stand_in_mixes_scalars_and_keeps_its_own_type():
    a = _fake([1.0, -2.0])
    for r in (
        a + 1,
        2.5 * a,
        a * np.float32(2),
        np.float64(3) * a,
        -a,
        abs(a),
        a.sum(),
        a.max(),
        xp.exp(a),
        xp.where(a > 0, a, 0.0),
        a.T,
        a[0],
    ):
        assert type(r) is fakecuda.ndarray, type(r)
    assert a.sum().ndim == 0  # reductions give 0-d device arrays, as in CuPy
    assert float(a.sum()) == -1.0


def test_stand_in_offers_only_what_cupy_offers():
    a = _fake([0.0, 0.0, 0.0])
    assert not hasattr(xp, "random"), "random numbers come from the device's generator"
    assert not hasattr(xp.add, "at"), "scatter-adds go through backend.scatter_add"
    with pytest.raises(TypeError, match="scatter_add"):
        np.add.at(a, xp.asarray([0, 0]), 1.0)
    gen = fakecuda.backend.generator(0)
    for missing in ("normal", "permutation", "choice", "shuffle"):
        assert not hasattr(gen, missing), f"cupy.random.Generator has no {missing}"
    assert type(gen.standard_normal((2, 3))) is fakecuda.ndarray


def test_stand_in_transfers_copy_and_are_counted():
    fakecuda.reset_transfers()
    host = np.arange(3.0)
    dev = fakecuda.backend.from_host(host)
    host[0] = 42.0  # a transfer is a copy: the device keeps the old value
    back = fakecuda.backend.to_host(dev)
    assert back[0] == 0.0 and isinstance(back, np.ndarray)
    back[1] = 7.0
    assert float(dev[1]) == 1.0
    assert fakecuda.transfers == {"to_host": 1, "from_host": 1, "scalar": 1, "upload": 0}
    xp.asarray(2.0)
    assert fakecuda.transfers["upload"] == 1


def test_stand_in_kernels_agree_with_numpy():
    t = _fake(np.zeros(4))
    fakecuda.backend.scatter_add(t, xp.asarray([0, 0, 3]), _fake([1.0, 2.0, 5.0]))
    assert fakecuda.backend.to_host(t).tolist() == [3.0, 0.0, 0.0, 5.0]  # repeats add up
    v = fakecuda.backend.strided_view(_fake(np.arange(6.0)), (2, 2), (16, 8))
    assert fakecuda.backend.to_host(v).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    with pytest.raises(ValueError):  # read-only, as the CPU backend's view
        v[0, 0] = 1.0
    x = np.linspace(-3, 3, 13)
    np.testing.assert_array_equal(
        fakecuda.backend.to_host(fakecuda.backend.erf(_fake(x))), tb.cpu.erf(x)
    )


# ----- devices -------------------------------------------------------------------------------


def test_device_parsing_and_equality():
    assert str(tn.device("cpu")) == "cpu" and repr(tn.device("cpu")) == "device(type='cpu')"
    d = tn.device("fakecuda")
    assert d.type == "fakecuda" and d.index == 0 and str(d) == "fakecuda:0"
    assert d == tn.device("fakecuda:0") and d == "fakecuda:0" and d == "fakecuda"
    assert tn.device("fakecuda:1") != d and tn.device("fakecuda:1") == "fakecuda:1"
    assert hash(d) == hash(tn.device("fakecuda:0"))
    assert tn.device(d) is d and tn.device("cpu") != "fakecuda"
    assert d.xp is fakecuda.xp and d.backend is fakecuda.backend
    assert tn.device("cpu").xp is np
    assert tn.device("cpu") != "tpu:0"  # comparing never needs the other backend


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ("cuda:x", ValueError, "bad device index"),
        ("cuda:-1", ValueError, "bad device index"),
        ("tpu", RuntimeError, "unknown device type 'tpu'; expected one of cpu, cuda"),
        ("fakecuda:5", RuntimeError, "device index 5 is out of range"),
        (3, TypeError, "expected a string"),
    ],
)
def test_device_errors(spec, error, match):
    with pytest.raises(error, match=match):
        tn.device(spec)


def test_cuda_without_cupy_says_how_to_install(no_cupy):
    assert not tn.cuda.is_available() and tn.cuda.device_count() == 0
    assert "pip install tinynet[cuda]" in tn.cuda.unavailable_reason()
    for make in (
        lambda: tn.device("cuda"),
        lambda: tn.zeros(2, device="cuda"),
        lambda: tn.ones(2).cuda(),
        lambda: tn.ones(2).to("cuda:0"),
    ):
        with pytest.raises(
            RuntimeError, match=r"CuPy is not installed.*pip install tinynet\[cuda\]"
        ):
            make()
    assert tn.device("cpu") != "cuda"  # comparing with "cuda" does not need CuPy


def test_cuda_without_gpu_says_which_is_missing(fake_cupy):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake_cupy.cuda.runtime.getDeviceCount = no_device
    assert not tn.cuda.is_available()
    with pytest.raises(
        RuntimeError,
        match=r"CuPy .* is installed, but no CUDA GPU can be used: "
        r"cudaErrorNoDevice.*nvidia-smi",
    ):
        tn.device("cuda")


def test_op_on_two_devices_names_both():
    a, b = tn.ones(3), tn.ones(3, device="fakecuda")
    with pytest.raises(RuntimeError, match=r"found cpu and fakecuda:0; move one with \.to\(\)"):
        a + b
    with pytest.raises(RuntimeError, match="fakecuda:0 and fakecuda:1|fakecuda:1 and fakecuda:0"):
        tn.matmul(tn.ones(2, 2, device="fakecuda:1"), tn.ones(2, 2, device="fakecuda:0"))
    with pytest.raises(RuntimeError, match="different devices"):
        a += b


def test_to_round_trip_and_tensor_api():
    a = tn.randn(3, 4)
    b = a.to("fakecuda")
    assert b.device == "fakecuda" and type(b.data) is fakecuda.ndarray and not b.is_cuda
    assert a.to("cpu") is a and b.to("fakecuda:0") is b  # no copy when already there
    c = b.cpu()
    np.testing.assert_array_equal(c.numpy(), a.numpy())
    assert b.to(tn.float64).device == "fakecuda" and b.to(tn.float64).dtype == tn.float64
    assert b.to("cpu", tn.float64).device == "cpu"
    assert isinstance(b.numpy(), np.ndarray) and b.tolist() == a.tolist()
    assert b.sum().item() == pytest.approx(a.sum().item())
    assert "device='fakecuda:0'" in repr(b)
    t = tn.tensor(b.data)  # a device array stays on its device
    assert t.device == "fakecuda" and t.data is not b.data


def test_gradients_flow_back_across_device_copies():
    a = tn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ((a.to("fakecuda") ** 2).sum() * 2).backward()
    assert a.grad.device == "cpu" and a.grad.tolist() == [4.0, 8.0, 12.0]
    w = tn.tensor([[1.0, -1.0]], device="fakecuda", requires_grad=True)
    (w.cpu() * tn.tensor([[3.0, 5.0]])).sum().backward()
    assert w.grad.device == "fakecuda" and w.grad.tolist() == [[3.0, 5.0]]
    x = tn.tensor([0.5], requires_grad=True)  # second order through the copy
    (g,) = tn.autograd.grad(x.to("fakecuda").pow(3).sum(), x, create_graph=True)
    (gg,) = tn.autograd.grad(g.sum(), x)
    assert gg.device == "cpu" and gg.item() == pytest.approx(3.0)


def test_module_to_moves_parameters_and_buffers():
    nn = pytest.importorskip("tinynet.nn")
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    w = m[0].weight
    assert m.to("fakecuda") is m and w.device == "fakecuda"  # in place: identity kept
    assert all(p.device == "fakecuda" for p in m.parameters())
    assert all(b.device == "fakecuda" for b in m.buffers())
    out = m(tn.randn(4, 3, device="fakecuda"))
    assert out.device == "fakecuda"


def test_set_default_device_and_env(monkeypatch, restore_default_device):
    tn.set_default_device("fakecuda")
    assert tn.zeros(2).device == "fakecuda" and tn.randn(2).device == "fakecuda"
    assert tn.tensor([1.0]).device == "fakecuda" and tn.get_default_device() == "fakecuda"
    tn.set_default_device(None)
    monkeypatch.setenv("TINYNET_DEVICE", "fakecuda:1")
    assert tn.arange(3).device == "fakecuda:1"
    tn.set_default_device(None)
    monkeypatch.setenv("TINYNET_DEVICE", "tpu")
    with pytest.raises(RuntimeError, match="TINYNET_DEVICE='tpu': unknown device type"):
        tn.zeros(1)
    tn.set_default_device(None)
    monkeypatch.delenv("TINYNET_DEVICE")
    assert tn.ones(1).device == "cpu"


def test_env_var_in_a_fresh_process():
    code = "import tinynet as tn; print(tn.zeros(1).device, tn.get_default_device())"
    env = dict(os.environ, TINYNET_DEVICE="cpu")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.split() == ["cpu", "cpu"]
    env["TINYNET_DEVICE"] = "cuda"
    bad = subprocess.run(
        [sys.executable, "-c", code + "\n"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if tn.cuda.is_available():
        assert bad.returncode == 0
    else:
        assert bad.returncode != 0 and "TINYNET_DEVICE='cuda'" in bad.stderr


def test_seeded_generators_per_device():
    tn.manual_seed(7)
    a = tn.randn(5, device="fakecuda").tolist()
    c0 = tn.randn(5).tolist()
    tn.manual_seed(7)
    assert tn.randn(5, device="fakecuda").tolist() == a  # reproducible on a device
    assert tn.randn(5).tolist() == c0
    assert a != c0  # each device draws its own stream from the seed
    tn.manual_seed(7)
    assert tn.randn(5, device="fakecuda:1").tolist() != a
    tn.manual_seed(8)
    assert tn.randn(5, device="fakecuda").tolist() != a
    r = tn.rand(1000, device="fakecuda")
    assert r.device == "fakecuda" and 0 <= r.min().item() and r.max().item() < 1
    i = tn.randint(0, 3, (50,), device="fakecuda")
    assert i.dtype == tn.int64 and set(i.tolist()) <= {0, 1, 2}


# ----- the seam holds ---------------------------------------------------------------------------

_CUPY_NAME = re.compile(r"^cupyx?(\.|$)")


def _cupy_uses(path: pathlib.Path) -> list[str]:
    """Imports of cupy, names `cupy`, and calls or lookups with "cupy..." module strings."""
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [f"import {a.name}" for a in node.names if _CUPY_NAME.match(a.name)]
        elif isinstance(node, ast.ImportFrom) and _CUPY_NAME.match(node.module or ""):
            out.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Name) and node.id in ("cupy", "cupyx"):
            out.append(f"name {node.id}")
        elif isinstance(node, (ast.Call, ast.Subscript, ast.Compare)):
            for sub in ast.walk(node):
                if (
                    isinstance(sub, ast.Constant)
                    and isinstance(sub.value, str)
                    and _CUPY_NAME.match(sub.value)
                ):
                    out.append(f"string {sub.value!r} (line {node.lineno})")
    return out


def test_only_the_backend_imports_or_tests_for_cupy():
    bad = {}
    for f in sorted(PKG.rglob("*.py")):
        if f.relative_to(PKG).parts[0] == "backend":
            continue
        uses = _cupy_uses(f)
        if uses:
            bad[str(f.relative_to(ROOT))] = sorted(set(uses))
    assert not bad, f"only tinynet/backend may import CuPy or test for it: {bad}"


def test_the_cupy_grep_sees_violations(tmp_path):
    f = tmp_path / "bad.py"
    f.write_text(
        "import importlib, sys\nimport cupy\nfrom cupyx import scatter_add\n"
        "ok = importlib.util.find_spec('cupy')\nm = sys.modules['cupy']\n"
        "t = type(a).__module__ == 'cupy'\nmsg = 'pip install cupy-cuda12x'\n"
    )
    uses = _cupy_uses(f)
    assert len([u for u in uses if u.startswith("string")]) == 3
    assert "import cupy" in uses and "from cupyx import ..." in uses
    assert not any("cupy-cuda12x" in u for u in uses)  # install hints are fine


def test_importing_tinynet_does_not_import_cupy():
    code = "import sys, tinynet as tn; tn.cuda.device_count; print('cupy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "False"


# ----- transfers happen only where asked ---------------------------------------------------------


def test_a_training_step_on_the_stand_in_makes_no_host_transfer(monkeypatch):
    nn = pytest.importorskip("tinynet.nn")
    F = nn.functional
    tn.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
        nn.GELU(),
    )
    model.to("fakecuda")
    x = tn.randn(6, 1, 8, 8, device="fakecuda")
    y = tn.randn(6, 3, device="fakecuda")
    seen = []
    for name in ("to_host", "from_host"):
        orig = getattr(fakecuda.backend, name)

        def spy(*a, _orig=orig, _name=name):
            seen.append(f"{_name} at\n" + "".join(traceback.format_stack(limit=6)[:-1]))
            return _orig(*a)

        monkeypatch.setattr(fakecuda.backend, name, spy)
    loss = F.mse_loss(model(x), y)
    loss.backward()
    assert not seen, "an op copied data between host and device:\n" + "\n".join(seen)
    assert all(p.grad is not None and p.grad.device == "fakecuda" for p in model.parameters())


# ----- DLPack ------------------------------------------------------------------------------------


def test_from_dlpack_numpy_zero_copy_both_ways():
    a = np.arange(6.0).reshape(2, 3)
    t = tn.from_dlpack(a)
    assert t.device == "cpu" and t.dtype == tn.float64 and not t.requires_grad
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0  # shared memory
    back = np.from_dlpack(t)
    t.data[1, 1] = -1.0
    assert back[1, 1] == -1.0
    assert tn.from_dlpack(t).data is t.data


def test_from_dlpack_torch_zero_copy_both_ways(torch):
    tt = torch.arange(4, dtype=torch.float32)
    t = tn.from_dlpack(tt)
    tt[0] = 7.0
    assert t.dtype == tn.float32 and t.tolist() == [7.0, 1.0, 2.0, 3.0]
    back = torch.from_dlpack(t)
    t.data[1] = -5.0
    assert back.tolist() == [7.0, -5.0, 2.0, 3.0]
    ints = tn.from_dlpack(torch.tensor([1, 2], dtype=torch.int64))
    assert ints.dtype == tn.int64
    with pytest.raises(BufferError, match="requires grad"):
        torch.from_dlpack(tn.ones(2, requires_grad=True))
    assert torch.from_dlpack(tn.ones(2, requires_grad=True).detach()).tolist() == [1.0, 1.0]


def test_from_dlpack_errors_and_other_devices():
    with pytest.raises(TypeError, match="expected an object with __dlpack__"):
        tn.from_dlpack([1.0, 2.0])
    with pytest.raises(TypeError, match="dtype uint32 is not supported"):
        tn.from_dlpack(np.zeros(2, dtype=np.uint32))
    assert tn.from_dlpack(np.zeros(2, dtype=np.uint8)).dtype == tn.uint8  # images arrive so
    f = tn.randn(3, device="fakecuda")
    g = tn.from_dlpack(f.data)  # found through the stand-in's DLPack device type
    assert g.device == "fakecuda" and g.data is f.data
    with pytest.raises(BufferError):
        np.from_dlpack(f)  # device memory never reaches NumPy implicitly

    class Elsewhere:
        def __dlpack__(self, **kw):
            raise AssertionError

        def __dlpack_device__(self):
            return (4, 0)  # OpenCL

    with pytest.raises(RuntimeError, match="DLPack device type 4"):
        tn.from_dlpack(Elsewhere())


# ----- tinynet's real CUDA backend, on the stand-in posing as CuPy -----------------------------


def test_cuda_backend_on_the_stand_in(fake_cupy):
    assert tn.cuda.is_available() and tn.cuda.device_count() == 2
    assert tn.cuda.get_device_name(0) == "fakecuda GPU"
    d = tn.device("cuda")
    assert d.backend is tcuda and d.xp is fake_cupy
    a = tn.tensor([[1.0, 2.0]], requires_grad=True)
    b = a.cuda()
    assert b.device == "cuda:0" and b.is_cuda and type(b.data) is fakecuda.ndarray
    (b.exp() * tn.gelu(b)).sum().backward()
    assert a.grad.device == "cpu"
    c = tn.ones(2, device="cuda:1")
    assert c.device == "cuda:1" and tn.device("cuda:1").index == 1
    with pytest.raises(RuntimeError, match="device index 2 is out of range: 2 GPUs visible"):
        tn.device("cuda:2")
    with pytest.raises(RuntimeError, match="found cuda:0 and cuda:1"):
        b + c
    with tn.cuda.device(1):
        assert tn.cuda.current_device() == 1
    assert tn.cuda.current_device() == 0
    tn.cuda.synchronize()
    tn.cuda.synchronize(1)
    assert tn.cuda.memory_allocated() >= 0 and tn.cuda.memory_reserved() >= 0
    tn.cuda.empty_cache()


def test_cuda_backend_kernels_agree_with_numpy(fake_cupy):
    t = fakecuda.ndarray(np.zeros((3, 2)))
    idx = (xp.asarray([0, 0, 2]), xp.asarray([1, 1, 0]))
    tcuda.scatter_add(t, idx, fakecuda.ndarray(np.array([1.0, 2.0, 3.0])))
    want = np.zeros((3, 2))
    np.add.at(want, (np.array([0, 0, 2]), np.array([1, 1, 0])), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(tcuda.to_host(t), want)
    ti = fakecuda.ndarray(np.zeros(3, dtype=np.int64))  # no atomicAdd for int64: the fallback
    tcuda.scatter_add(ti, xp.asarray([1, 1]), fakecuda.ndarray(np.array([2, 5])))
    assert tcuda.to_host(ti).tolist() == [0, 7, 0]
    x = np.linspace(-4, 4, 17).astype(np.float32)
    got = tcuda.to_host(tcuda.erf(tcuda.from_host(x)))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, tb.cpu.erf(x))
    a = np.arange(12.0)
    v = tcuda.strided_view(tcuda.from_host(a), (3, 2), (32, 8))
    np.testing.assert_array_equal(tcuda.to_host(v), tb.cpu.strided_view(a, (3, 2), (32, 8)))
    g1, g2 = tcuda.generator([1, 0, 5]), tcuda.generator([1, 0, 5])
    np.testing.assert_array_equal(tcuda.to_host(g1.random((4,))), tcuda.to_host(g2.random((4,))))


# (C, H, W, kernel, stride, dilation): with stride 1 the "wide" layout of conv.py
COL2IM_CASES = [
    (2, 6, 7, (3, 3), (1, 1), (1, 1)),
    (3, 8, 6, (2, 3), (1, 1), (2, 1)),
    (2, 9, 9, (3, 3), (2, 2), (1, 1)),
    (1, 7, 8, (2, 2), (3, 2), (2, 3)),
    (2, 5, 5, (1, 1), (2, 2), (1, 1)),
]


def _col2im_inputs(case, dtype, rng):
    """Columns and a padded-gradient buffer as conv.py's _conv_input hands them over, the
    geometry, and what cpu.col2im makes of them."""
    C, Hp, Wp, (kH, kW), (sH, sW), (dH, dW) = case
    oH, oW = (Hp - dH * (kH - 1) - 1) // sH + 1, (Wp - dW * (kW - 1) - 1) // sW + 1
    wide = (sH, sW) == (1, 1)
    pitch, R = (Wp, Hp + 1) if wide else (oW, Hp)
    cols = rng.standard_normal((2, C, kH, kW, oH, pitch)).astype(dtype)
    cols[..., oW:] = 0  # the wide layout's padding columns are zero
    dst = rng.standard_normal((2, C, R, Wp)).astype(dtype)  # col2im adds onto what is there
    geometry = ((kH, kW), (sH, sW), (dH, dW), (oH, oW), pitch)
    cols = cols.reshape(2, C, kH, kW, oH * pitch)
    want = dst.copy()
    tb.cpu.col2im(cols, want, *geometry)
    return cols, dst, geometry, want


@pytest.mark.skipif(not fakecuda.have_compiler(), reason="no C++ compiler to run the kernel")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", COL2IM_CASES)
def test_col2im_kernel_source_agrees_with_the_tap_loop(case, dtype):
    """backend/cuda.py's CUDA col2im kernel, compiled for the CPU, against cpu.col2im."""
    cols, dst, geometry, want = _col2im_inputs(case, dtype, np.random.default_rng(0))
    got = fakecuda.backend.from_host(dst)
    assert tcuda.run_col2im(fakecuda._kernel, fakecuda.backend.from_host(cols), got, *geometry)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(fakecuda.backend.to_host(got), want, rtol=tol, atol=tol)


@pytest.mark.skipif(not fakecuda.have_compiler(), reason="no C++ compiler to run the kernel")
def test_conv2d_input_gradient_uses_the_kernel_on_the_stand_in(monkeypatch):
    calls = []
    run = fakecuda.RawKernel.__call__
    monkeypatch.setattr(fakecuda.RawKernel, "__call__",
                        lambda self, *a: calls.append(self.name) or run(self, *a))  # fmt: skip
    x = tn.randn(2, 3, 7, 7, device="fakecuda", requires_grad=True)
    w = tn.randn(4, 3, 3, 3, device="fakecuda")
    tn.nn.functional.conv2d(x, w, stride=2, padding=1).sum().backward()
    assert calls == ["tinynet_col2im"]
    xc = x.detach().cpu().requires_grad_(True)
    tn.nn.functional.conv2d(xc, w.cpu(), stride=2, padding=1).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), xc.grad.numpy(), rtol=1e-5, atol=1e-6)


# (logits shape, target shape, ignore_index, label_smoothing, weighted)
XENT_CASES = [
    ((6, 5), (6,), -100, 0.0, False),
    ((6, 5), (6,), 2, 0.1, True),
    ((2, 4, 3, 2), (2, 3, 2), -100, 0.2, False),
    ((3, 7, 5), (3, 5), 0, 0.0, True),
    ((1, 1), (1,), -100, 0.3, False),
]


def _xent_inputs(case, dtype, rng):
    shape, tshape, ignore, ls, weighted = case
    x = (rng.standard_normal(shape) * 30).astype(dtype)  # large logits: exp would overflow
    t = rng.integers(0, shape[1], tshape)
    t.flat[0] = ignore if ignore >= 0 else t.flat[0]
    w = rng.uniform(0.5, 2.0, shape[1]).astype(dtype) if weighted else None
    return x, t, w, ignore, ls


@pytest.mark.skipif(not fakecuda.have_compiler(), reason="no C++ compiler to run the kernel")
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("case", XENT_CASES)
def test_softmax_xent_kernel_source_agrees_with_numpy(case, dtype):
    """backend/cuda.py's fused cross-entropy kernel, compiled for the CPU, against
    cpu.softmax_xent (float16 computes in float32 and rounds at the end)."""
    x, t, w, ignore, ls = _xent_inputs(case, dtype, np.random.default_rng(1))
    want = tb.cpu.softmax_xent(x.astype(np.float64), t, w, ignore, ls)
    up = fakecuda.backend.from_host
    flag = fakecuda.xp.zeros(4, dtype=np.int64)
    got = tcuda.run_softmax_xent(fakecuda._kernel, fakecuda.xp, flag, up(x), up(t),
                                 None if w is None else up(w), ignore, ls)  # fmt: skip
    tol = {np.float16: 2e-3, np.float32: 2e-5, np.float64: 1e-12}[dtype]
    for g, wnt in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g.get().astype(np.float64), wnt, rtol=tol, atol=tol)
    assert flag.get().tolist() == [0, 0, 0, 0]


@pytest.mark.skipif(not fakecuda.have_compiler(), reason="no C++ compiler to run the kernel")
def test_cross_entropy_checks_targets_on_the_device_and_raises_at_the_next_sync():
    x = tn.randn(4, 5, device="fakecuda", requires_grad=True)
    bad = tn.tensor([0, 1, 7, -100], device="fakecuda")
    fakecuda.reset_transfers()
    loss = tn.nn.functional.cross_entropy(x, bad)  # queued: nothing waits for the device
    assert fakecuda.transfers == {"to_host": 0, "from_host": 0, "scalar": 0, "upload": 0}
    with pytest.raises(IndexError, match=r"target 7 is out of bounds for 5 classes .*"
                       r"ignore_index=-100.*next synchronisation"):  # fmt: skip
        loss.item()
    ok = tn.nn.functional.cross_entropy(x, tn.tensor([0, 1, 2, 3], device="fakecuda"))
    assert np.isfinite(ok.item())  # the record was reset with the raise
    tn.nn.functional.cross_entropy(x, tn.tensor([5, 0, 0, 0], device="fakecuda"))
    with pytest.raises(IndexError, match="target 5 is out of bounds"):
        tb.synchronize("fakecuda")
    with pytest.raises(IndexError, match=r"target 7 is out of bounds for 5 classes \(valid"):
        tn.nn.functional.cross_entropy(x.detach().cpu(), bad.cpu())  # the CPU raises at once


def test_every_backend_meets_the_required_contract():
    for mod in (tb.cpu, tcuda, fakecuda.backend):
        missing = [a for a in tb.REQUIRED if a != "xp" and not hasattr(mod, a)]  # cuda: lazy
        assert not missing, (mod.__name__, missing)
    with pytest.raises(TypeError, match="lacks softmax_xent"):
        import types

        partial = types.ModuleType("partial")
        partial.__dict__.update({a: getattr(tb.cpu, a) for a in tb.REQUIRED if a != "softmax_xent"})
        tb.register_backend("partial", partial)


def _sample_inputs(sample, rng, dev):
    out = []
    for a in sample.args:
        if isinstance(a, tuple) and all(isinstance(n, int) for n in a):
            lo = 0.5 if sample.positive else -2.0
            t = tn.tensor(rng.uniform(lo, 2.0, a), dtype=tn.float64, device=dev)
            out.append(t.requires_grad_(sample.grad))
        elif isinstance(a, Int):
            out.append(tn.tensor(rng.integers(a.low, a.high, a.shape), device=dev))
        elif isinstance(a, Bool):
            out.append(tn.tensor(rng.random(a.shape) < 0.5, device=dev))
        else:
            out.append(a.value if isinstance(a, Arg) else a)
    return out


def _run_sample(op, sample, dev):
    args = _sample_inputs(sample, np.random.default_rng(0), dev)
    fn = sample.fn if sample.fn is not None else op.apply
    out = fn(*args, **sample.kwargs)
    outs = [
        o for o in (out if isinstance(out, (tuple, list)) else [out]) if isinstance(o, tn.Tensor)
    ]
    results = [o.detach().cpu().numpy() for o in outs]
    leaves = [a for a in args if isinstance(a, tn.Tensor) and a.requires_grad]
    diff = [o for o in outs if o.requires_grad]
    if leaves and diff:
        total = sum((o.float().sum() if o.dtype != tn.float64 else o.sum()) for o in diff)
        grads = tn.autograd.grad(total, leaves, allow_unused=True)
        results += [g.cpu().numpy() for g in grads if g is not None]
    return results


def _all_samples():
    out = []
    for name, op in sorted(REGISTRY.items()):
        try:  # a broken samples() fails in tests/test_ops.py, not at collection here
            out += [(name, op, s) for s in op.samples()]
        except Exception:
            continue
    return out


_SAMPLES = _all_samples()


def test_every_registered_op_runs_on_the_cuda_backend(fake_cupy):
    """Each op's samples, forward and backward, on "cuda" (the real backend module over the
    stand-in) give what they give on the CPU: the CUDA backend's kernels serve every op."""
    failures = []
    for name, op, sample in _SAMPLES:
        try:
            want = _run_sample(op, sample, "cpu")
            got = _run_sample(op, sample, "cuda")
            assert len(want) == len(got)
            for w, g in zip(want, got):
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
        except Exception as e:
            failures.append(f"{name}[{sample.name}]: {type(e).__name__}: {str(e)[:300]}")
    assert len(_SAMPLES) > 50
    assert not failures, f"{len(failures)} op samples fail on cuda:\n" + "\n".join(failures)


def test_doctor_with_the_stand_in_as_cupy(fake_cupy, monkeypatch):
    monkeypatch.setattr(doctor, "_cupy_distributions", lambda: [("cupy-cuda12x", "14.0.0")])
    monkeypatch.setattr(doctor, "_driver_version", lambda: 12040)
    archs = []  # NVRTC is CuPy's library, not the stand-in's: its report is made up here
    monkeypatch.setattr(tcuda, "compile_kernels", lambda arch: archs.append(arch) or {
        "version": "12.9", "arch": arch, "compiled": 4, "failures": [], "error": None})  # fmt: skip
    buf = io.StringIO()
    rc = doctor.main(file=buf)
    text = buf.getvalue()
    assert rc == 0, text
    assert "CUDA runtime  12.9" in text and "CUDA driver   12.4" in text
    assert "GPU 0         fakecuda GPU" in text
    assert "ok     CuPy 14.0.0+fakecuda on CUDA 12.9 (driver 12.4): 2 GPUs usable" in text
    assert re.search(r"ok     cuda:0: max \|diff\| y 0, dx 0, dw 0, db 0", text), text
    assert "cuda:1" in text
    assert archs == ["sm_90"] and "NVRTC         12.9, compiles 4 of tinynet's 4 kernels" in text


# ----- the doctor -------------------------------------------------------------------------------


def test_doctor_runs_on_the_cpu():
    buf = io.StringIO()
    rc = doctor.main(devices=["cpu", "fakecuda"], file=buf)
    text = buf.getvalue()
    assert rc == 0, text
    for line in (
        "Python",
        "NumPy         " + np.__version__,
        "BLAS",
        "CuPy",
        "CUDA runtime",
        "CUDA driver",
        "ok     cpu: the reference",
    ):
        assert line in text, f"{line!r} missing from:\n{text}"
    assert re.search(r"ok     fakecuda:0: max \|diff\| y 0, dx 0, dw 0, db 0", text), text


def test_doctor_reports_a_device_that_disagrees(monkeypatch):
    orig = fakecuda.backend.from_host

    def skewed(a, index=None):  # a "GPU" that computes with slightly wrong inputs
        return orig(np.asarray(a) * 1.01, index)

    monkeypatch.setattr(fakecuda.backend, "from_host", skewed)
    buf = io.StringIO()
    assert doctor.main(devices=["fakecuda"], file=buf) == 1
    assert "FAULT  fakecuda:0: max |diff|" in buf.getvalue()


def test_python_m_tinynet_doctor():
    out = subprocess.run(
        [sys.executable, "-m", "tinynet", "doctor"], capture_output=True, text=True, cwd=ROOT
    )
    assert "tinynet" in out.stdout and "conv2d forward + backward" in out.stdout, out.stderr
    assert out.returncode == (0 if "no faults found" in out.stdout else 1)


def _finding(info: dict, level: str) -> list[tuple[str, str]]:
    base = {
        "cupy_packages": [],
        "cupy_version": None,
        "import_error": None,
        "cuda_runtime": None,
        "runtime_error": None,
        "cuda_driver": None,
        "gpus": [],
        "device_error": None,
    }
    return [(what, fix) for lv, what, fix in doctor.findings({**base, **info}) if lv == level]


def test_doctor_finds_the_classic_cupy_faults():
    # CPU machine, nothing installed: a note, no fault
    assert not _finding({}, "fault") and _finding({}, "note")
    # a driver but no CuPy
    ((what, fix),) = _finding({"cuda_driver": 12040}, "fault")
    assert "CuPy is not installed" in what and "pip install tinynet[cuda]" in fix
    ((_, fix),) = _finding({"cuda_driver": 11080}, "fault")
    assert "pip install cupy-cuda11x" in fix
    # a wheel for CUDA 12 on a driver for CUDA 11.8
    faults = _finding(
        {
            "cupy_packages": [("cupy-cuda12x", "14.2.0")],
            "cupy_version": "14.2.0",
            "cuda_driver": 11080,
            "cuda_runtime": 12090,
            "device_error": "cudaErrorInsufficientDriver: CUDA driver version is "
            "insufficient for CUDA runtime version",
        },
        "fault",
    )
    assert any(
        "cupy-cuda12x is built for CUDA 12" in w
        and "CUDA 11.8 at most" in w
        and "pip install cupy-cuda11x" in f
        for w, f in faults
    ), faults
    # libcudart missing
    ((what, fix),) = _finding(
        {
            "cupy_packages": [("cupy-cuda12x", "14.2.0")],
            "cuda_driver": 12040,
            "import_error": "ImportError: libcudart.so.12: cannot open shared "
            "object file: No such file or directory",
        },
        "fault",
    )
    assert "cannot load the CUDA libraries" in what and "libcudart" in what
    assert "cupy-cuda12x[ctk]" in fix and "nvidia-cuda-runtime-cu12" in fix
    # two CuPy wheels at once
    faults = _finding(
        {
            "cupy_packages": [("cupy-cuda11x", "13.6.0"), ("cupy-cuda12x", "14.2.0")],
            "cupy_version": "14.2.0",
            "cuda_driver": 12040,
            "cuda_runtime": 12090,
            "gpus": [{"index": 0}],
        },
        "fault",
    )
    assert any(
        "several CuPy packages" in w and "pip uninstall -y cupy-cuda11x cupy-cuda12x" in f
        for w, f in faults
    )
    # everything in order
    assert not _finding(
        {
            "cupy_packages": [("cupy-cuda12x", "14.2.0")],
            "cupy_version": "14.2.0",
            "cuda_driver": 12040,
            "cuda_runtime": 12090,
            "gpus": [{"index": 0}],
        },
        "fault",
    )
    assert doctor.wheel_cuda_major("cupy-cuda117") == 11 and doctor.wheel_cuda_major("cupy") is None


def test_doctor_reports_what_nvrtc_makes_of_the_kernels():
    cupy_ok = {"cupy_packages": [("cupy-cuda12x", "14.2.0")], "cupy_version": "14.2.0",
               "cuda_driver": 12040, "cuda_runtime": 12090, "gpus": [{"index": 0}]}  # fmt: skip
    nv = {"version": "12.9", "arch": "sm_90", "compiled": 4, "failures": [], "error": None}
    assert not _finding({**cupy_ok, "nvrtc": nv}, "fault")
    assert ("NVRTC 12.9 compiles tinynet's 4 kernels for sm_90", "") in _finding(
        {**cupy_ok, "nvrtc": nv}, "ok"
    )
    missing = {**nv, "version": None, "compiled": 0, "error": "RuntimeError: libnvrtc.so.12"}
    ((what, fix),) = _finding({**cupy_ok, "nvrtc": missing}, "fault")
    assert "cannot load NVRTC" in what and "pip install nvidia-cuda-nvrtc-cu12" in fix
    bad = {**nv, "compiled": 3, "failures": [("tinynet_col2im", "float64", "error: nope")]}
    ((what, fix),) = _finding({**cupy_ok, "nvrtc": bad}, "fault")
    assert "does not compile tinynet's tinynet_col2im (float64) for sm_90: error: nope" in what


# ----- compare_devices -------------------------------------------------------------------------


def _small_model():
    nn = pytest.importorskip("tinynet.nn")
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, bias=False),  # BatchNorm cancels a bias: its grad is ~0
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3 * 4 * 4, 5),
    )


def test_compare_devices_cpu_and_stand_in():
    model = _small_model()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    x, y = tn.randn(4, 1, 8, 8), tn.randint(0, 5, (4,))
    report = tn.testing.compare_devices(model, (x, y), devices=("cpu", "fakecuda"))
    assert report.devices == ("cpu", "fakecuda:0") and report.dtype == "float32"
    assert [e.name for e in report.outputs][:2] == ["0 (Conv2d)", "1 (BatchNorm2d)"]
    assert len(report.grads) == len(list(model.parameters()))
    # NumPy underneath both, except tinynet's CUDA kernels (the loss), which the stand-in runs
    # compiled by g++: they sum in another order, so float32 agrees to rounding, not bit for bit
    assert 0.0 < report.max_abs < 1e-6
    report.assert_close(rtol=1e-5)
    text = str(report)
    assert "cpu vs fakecuda:0" in text and "parameter gradients" in text and "0.weight" in text
    assert all(p.device == "cpu" for p in model.parameters())  # the model itself is untouched
    assert all(np.array_equal(p.detach().numpy(), b) for p, b in zip(model.parameters(), before))


def test_compare_devices_with_an_optimizer_and_custom_loss():
    optim = pytest.importorskip("tinynet.optim")
    model = _small_model()
    x = tn.randn(4, 1, 8, 8)
    report = tn.testing.compare_devices(
        model,
        x,
        devices=("cpu", "fakecuda"),
        loss_fn=lambda out: (out * out).mean(),
        optimizer=lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    )
    names = [e.name for e in report.params]
    assert "0.weight" in names and "1.running_mean (buffer)" in names
    assert report.max_rel == 0.0


def test_compare_devices_shows_where_devices_differ():
    nn = pytest.importorskip("tinynet.nn")

    class Skewed(nn.Module):  # a layer that computes differently off the CPU
        def forward(self, x):
            return x * 1.001 if x.device != "cpu" else x

    model = nn.Sequential(nn.Linear(3, 4), Skewed(), nn.Linear(4, 2))
    report = tn.testing.compare_devices(model, tn.randn(5, 3), devices=("cpu", "fakecuda"))
    assert report.outputs[0].max_abs == 0 and report.outputs[1].rel == pytest.approx(1e-3, 0.01)
    assert report.worst.rel > 1e-4
    with pytest.raises(
        AssertionError, match=r"devices differ beyond rtol=0.0001 in loss, output 1 \(Skewed\)"
    ):
        report.assert_close(1e-4)
    with pytest.raises(ValueError, match="exactly two devices"):
        tn.testing.compare_devices(model, tn.randn(5, 3), devices=("cpu",))


def test_training_on_cpu_and_stand_in_gives_the_same_losses():
    optim = pytest.importorskip("tinynet.optim")
    nn = pytest.importorskip("tinynet.nn")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 1, 8, 8)).astype(np.float32)
    Y = (X.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    tn.manual_seed(0)
    init = _small_model().state_dict()
    losses = {}
    for dev in ("cpu", "fakecuda"):
        model = _small_model()
        model.load_state_dict(init)
        model.to(dev)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        losses[dev] = []
        for i in range(0, 64, 16):
            xb, yb = tn.tensor(X[i : i + 16]).to(dev), tn.tensor(Y[i : i + 16]).to(dev)
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[dev].append(loss.item())
        assert all(p.device == dev for p in model.parameters())
    # the stand-in runs the fused loss kernel (g++): float32 rounding apart, the same losses
    np.testing.assert_allclose(losses["fakecuda"], losses["cpu"], rtol=1e-6)
    assert losses["cpu"][-1] < losses["cpu"][0]


# ----- a real GPU (pytest -m gpu) --------------------------------------------------------------


@pytest.mark.gpu
def test_gpu_ops_agree_with_the_cpu():
    failures = []
    for name, op, sample in _SAMPLES:
        try:
            want, got = _run_sample(op, sample, "cpu"), _run_sample(op, sample, "cuda")
            for w, g in zip(want, got):
                np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9)
        except Exception as e:
            failures.append(f"{name}[{sample.name}]: {type(e).__name__}: {str(e)[:300]}")
    assert not failures, "\n".join(failures)


@pytest.mark.gpu
def test_gpu_backend_kernels_agree_with_numpy():
    import cupy

    t = cupy.zeros(4, dtype=cupy.float32)
    tcuda.scatter_add(t, cupy.asarray([0, 0, 3]), cupy.asarray([1.0, 2.0, 5.0], dtype=cupy.float32))
    assert t.get().tolist() == [3.0, 0.0, 0.0, 5.0]
    ti = cupy.zeros(3, dtype=cupy.int64)
    tcuda.scatter_add(ti, cupy.asarray([1, 1]), cupy.asarray([2, 5]))
    assert ti.get().tolist() == [0, 7, 0]
    x = np.linspace(-4, 4, 101)
    np.testing.assert_allclose(
        tcuda.erf(cupy.asarray(x)).get(), tb.cpu.erf(x), rtol=1e-14, atol=1e-15
    )
    tn.manual_seed(3)
    a = tn.randn(8, device="cuda").tolist()
    tn.manual_seed(3)
    assert tn.randn(8, device="cuda").tolist() == a


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", COL2IM_CASES)
def test_gpu_col2im_kernel_agrees_with_the_tap_loop(case, dtype):
    import cupy

    cols, dst, geometry, want = _col2im_inputs(case, dtype, np.random.default_rng(0))
    got = cupy.asarray(dst)
    tcuda.col2im(cupy.asarray(cols), got, *geometry)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(got.get(), want, rtol=tol, atol=tol)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("case", XENT_CASES)
def test_gpu_softmax_xent_kernel_agrees_with_numpy(case, dtype):
    import cupy

    x, t, w, ignore, ls = _xent_inputs(case, dtype, np.random.default_rng(1))
    want = tb.cpu.softmax_xent(x.astype(np.float64), t, w, ignore, ls)
    wd = None if w is None else cupy.asarray(w)
    got = tcuda.softmax_xent(cupy.asarray(x), cupy.asarray(t), wd, ignore, ls)
    tol = {np.float16: 2e-3, np.float32: 2e-5, np.float64: 1e-12}[dtype]
    for g, wnt in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g.get().astype(np.float64), wnt, rtol=tol, atol=tol)


@pytest.mark.gpu
def test_gpu_cross_entropy_raises_a_bad_target_at_the_next_sync():
    x = tn.randn(4, 5, device="cuda")
    loss = tn.nn.functional.cross_entropy(x, tn.tensor([0, 1, 7, 2], device="cuda"))
    with pytest.raises(IndexError, match="target 7 is out of bounds for 5 classes"):
        loss.item()
    ok = tn.nn.functional.cross_entropy(x, tn.tensor([0, 1, 3, 2], device="cuda"))
    assert np.isfinite(ok.item())


@pytest.mark.gpu
def test_gpu_dlpack_with_cupy_and_torch():
    import cupy

    c = cupy.arange(4, dtype=cupy.float32)
    t = tn.from_dlpack(c)
    c[0] = 9
    assert t.device == "cuda:0" and t.tolist()[0] == 9.0
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        tt = torch.from_dlpack(t)
        assert tt.is_cuda and tt.tolist() == t.tolist()


@pytest.mark.gpu
def test_gpu_compare_devices_and_doctor():
    model = _small_model()
    x, y = tn.randn(8, 1, 8, 8), tn.randint(0, 5, (8,))
    report = tn.testing.compare_devices(model, (x, y), devices=("cpu", "cuda"))
    report.assert_close(rtol=1e-4)  # float32 on two devices: rounding, nothing more
    buf = io.StringIO()
    assert doctor.main(file=buf) == 0, buf.getvalue()


_FAULTS_PER_STEP = """
import resource, numpy as np, tinynet.backend.cpu as c
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def step():  # arrays of 2-30 MiB made and freed, as a training step makes its activations
    arrs = [np.ones(n << 18, np.float32) for n in (3, 5, 9, 17, 30, 2, 7)]
    del arrs
for _ in range(3):
    step()
f0 = faults()
for _ in range(10):
    step()
print(c.malloc_tuned, (faults() - f0) // 10)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt exists on Linux only")
def test_cpu_backend_keeps_freed_memory_unless_told_not_to():
    """With the tuning, a step's large arrays reuse the pages the last step freed (no page
    faults); TINYNET_KEEP_FREED_MEMORY=0 leaves malloc to give them back (thousands)."""
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the tuning is glibc's mallopt; this C library is not glibc")

    def run(env_value):
        env = dict(os.environ, TINYNET_KEEP_FREED_MEMORY=env_value)
        out = subprocess.run([sys.executable, "-c", _FAULTS_PER_STEP], env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        tuned, faults = out.stdout.split()
        return tuned, int(faults)

    tuned, faults = run("1")
    assert tuned == "True" and faults < 100, faults
    tuned, faults = run("0")
    assert tuned == "False" and faults > 1000, faults
