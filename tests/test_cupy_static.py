"""The CuPy backend checked against the real CuPy and the real CUDA compiler, without a GPU.

`import cupy` works on a machine with no GPU (only allocating fails), and NVRTC compiles
CUDA C without a device. With the `cuda-check` extra installed (`pip install
tinynet[cuda-check]`: cupy-cuda12x and nvidia-cuda-nvrtc-cu12; CI installs it) this module
checks what the stand-in device (tests/fakecuda.py) cannot:

1. every `cupy.*` / `cupyx.*` attribute tinynet/backend uses exists in the real CuPy, and
   every call binds to its real signature (found by walking the backend's source, so a
   new use is covered without editing this file);
2. every CUDA kernel tinynet ships (backend/cuda.py's KERNELS) compiles with the real NVRTC
   for sm_70, sm_80 and sm_90, from exactly the source and options CuPy's RawKernel would
   hand NVRTC;
3. the stand-in and the real CuPy agree on what the stand-in emulates: implicit
   conversion to NumPy refused (same error), the C types kernel arguments travel as, and
   the RawKernel constructor and launch signatures.

Where the extra is absent every test skips, saying why. Marker: `cupy_static`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import pathlib
import re

import fakecuda
import numpy as np
import pytest

import tinynet.backend.cuda as tcuda

pytestmark = pytest.mark.cupy_static


def _have(dist: str) -> bool:
    try:
        importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


if not (_have("cupy-cuda12x") and _have("nvidia-cuda-nvrtc-cu12")):
    pytest.skip(
        "the cuda-check extra is not installed (pip install -e '.[cuda-check]': the real CuPy "
        "and NVRTC, no GPU needed)",
        allow_module_level=True,
    )

import cupy  # noqa: E402, TID253  (after the skip: only where the extra is installed)
from cupy.cuda import compiler  # noqa: E402, TID253
from cupy_backends.cuda.libs import nvrtc  # noqa: E402

BACKEND = pathlib.Path(tcuda.__file__).parent
ARCHS = (70, 80, 90)


@pytest.fixture
def real_cupy():
    """tinynet's CUDA backend bound to the real CuPy (its caches reset before and after)."""
    fakecuda._reset_tinynet_cuda()
    yield tcuda._cupy()
    fakecuda._reset_tinynet_cuda()


# ----- 1. the CuPy API tinynet/backend uses ------------------------------------------------------


def _chain(node) -> list[str] | None:
    """a.b.c -> ["a", "b", "c"]; a root call `_cupy().b` -> ["_cupy()", "b"]; else None."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(names)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_cupy":
        return ["_cupy()", *reversed(names)]
    return None


def _is_cupy_root(node) -> bool:
    """`_cupy()`, `sys.modules.get("cupy")`: expressions whose value is the cupy module."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "_cupy"
    if isinstance(node, ast.Call) and _chain(node.func) == ["sys", "modules", "get"]:
        return bool(node.args) and getattr(node.args[0], "value", None) == "cupy"
    return False


def cupy_uses(path: pathlib.Path) -> list[tuple[str, int, list[str], ast.Call | None]]:
    """Every attribute chain off the cupy / cupyx modules in one source file.

    The module is reached as `import cupy` / `import cupyx.x.y`, as `_cupy()` (the lazy
    import), through `_cupy_module`, or through a local name assigned one of those
    (`cp = _cupy()`, `cp, i = _cupy(), ...`). Returns (file:line, the module path, the
    attribute chain below it, the Call node when the chain is called).
    """
    tree = ast.parse(path.read_text())
    aliases = {"_cupy_module": "cupy", "_cupy()": "cupy"}  # name -> the module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in ("cupy", "cupyx"):
                    aliases[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0]
                    )
                    importlib.import_module(a.name)  # as the backend does before using it
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                pairs = [(target, node.value)]
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs = list(zip(target.elts, node.value.elts))
                for t, v in pairs:
                    if isinstance(t, ast.Name) and _is_cupy_root(v):
                        aliases[t.id] = "cupy"
    calls = {id(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    uses = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain = _chain(node)
        if chain is None or chain[0] not in aliases:
            continue
        uses.append(
            (f"{path.name}:{node.lineno}", aliases[chain[0]], chain[1:], calls.get(id(node)))
        )
    # keep only the longest chains (a.b.c, not also a.b) and each once
    spelled = {(m, tuple(c)) for _, m, c, _ in uses}
    return [
        u
        for u in uses
        if not any((u[1], tuple(u[2]) + (x,)) in spelled for x in _next_attrs(u, spelled))
    ]


def _next_attrs(use, spelled) -> set[str]:
    _, module, chain, _ = use
    n = len(chain)
    return {c[n] for m, c in spelled if m == module and len(c) > n and list(c[:n]) == chain}


def _signature(obj) -> inspect.Signature | None:
    """obj's signature; for Cython functions and classes, parsed from the first docstring line
    (CuPy builds with embedsignature: `name(str a, tuple b=(), *, bool c=False) -> T`)."""
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        pass
    doc = (getattr(obj, "__doc__", None) or "").strip().replace("\\*", "*")
    # the documented call line where a second one refines the first (`**kwargs` spelled out)
    own = re.escape(getattr(obj, "__name__", ""))
    lines = [ln for ln in doc.splitlines() if re.match(own + r"\(.*\)(\s*->.*)?$", ln)]
    m = re.match(r"[\w.]+\((.*?)\)(\s*->.*)?$", lines[-1] if lines else "")
    if m is None:
        return None
    params, kind = [], inspect.Parameter.POSITIONAL_OR_KEYWORD
    for part in [p.strip() for p in re.split(r",(?![^(]*\))", m.group(1)) if p.strip()]:
        if part == "*":
            kind = inspect.Parameter.KEYWORD_ONLY
            continue
        if part.startswith("**"):
            params.append(inspect.Parameter(part[2:], inspect.Parameter.VAR_KEYWORD))
            continue
        if part.startswith("*"):
            params.append(inspect.Parameter(part[1:], inspect.Parameter.VAR_POSITIONAL))
            kind = inspect.Parameter.KEYWORD_ONLY
            continue
        decl, eq, _ = part.partition("=")
        name = decl.split()[-1]
        default = None if eq else inspect.Parameter.empty
        params.append(inspect.Parameter(name, kind, default=default))
    return inspect.Signature(params)


def _resolve(module: str, chain: list[str]):
    obj = importlib.import_module(module)
    for i, attr in enumerate(chain):
        if not hasattr(obj, attr):
            raise AttributeError(f"{module}.{'.'.join(chain[: i + 1])} does not exist")
        obj = getattr(obj, attr)
    return obj


def _all_uses():
    return [u for path in sorted(BACKEND.glob("*.py")) for u in cupy_uses(path)]


def test_the_walk_finds_the_backends_cupy_uses():
    """The walk sees what the backend does (so an empty walk cannot pass the next test)."""
    found = {(m, ".".join(c)) for _, m, c, _ in _all_uses()}
    for want in [
        ("cupy", "cuda.runtime.getDeviceCount"),
        ("cupy", "RawKernel"),
        ("cupy", "lib.stride_tricks.as_strided"),
        ("cupyx", "scipy.special.erf"),
        ("cupy", "random.default_rng"),
    ]:
        assert want in found, sorted(found)


def test_every_cupy_attribute_and_call_the_backend_uses_exists(real_cupy):
    problems = []
    for where, module, chain, call in _all_uses():
        name = f"{module}.{'.'.join(chain)}"
        try:
            obj = _resolve(module, chain)
        except AttributeError as e:
            problems.append(f"{where}: {e}")
            continue
        if call is None or any(isinstance(a, ast.Starred) for a in call.args):
            continue
        if any(k.arg is None for k in call.keywords):  # **kwargs: nothing to bind
            continue
        if isinstance(obj, cupy.ufunc):  # takes nin inputs, then outputs, and a few options
            n = len(call.args)
            extra = {k.arg for k in call.keywords} - {"out", "dtype", "casting"}
            if not obj.nin <= n <= obj.nargs or extra:
                problems.append(f"{where}: {name} (a ufunc of {obj.nin} inputs) called with "
                                f"{n} arguments and {sorted(extra)}")  # fmt: skip
            continue
        sig = _signature(obj)
        if sig is None:
            problems.append(f"{where}: {name} is called, but CuPy gives no signature to check")
            continue
        try:
            sig.bind(*[None] * len(call.args), **{k.arg: None for k in call.keywords})
        except TypeError as e:
            problems.append(f"{where}: {name}{sig}: {e}")
    assert not problems, "\n".join(problems)


def test_kernel_launches_bind_to_cupys_rawkernel_call():
    """backend/cuda.py's `launch` calls a kernel as kernel(grid, block, args)."""
    sig = _signature(cupy.RawKernel.__call__)
    assert sig is not None
    sig.bind(None, (1,), (1,), ())  # self, grid, block, args


# ----- 2. every kernel compiles with the real NVRTC ---------------------------------------------


def nvrtc_inputs(kernel) -> tuple[str, tuple]:
    """The source and options CuPy hands NVRTC for a cupy.RawKernel, without a device.

    RawKernel compiles through `cupy._core.core.compile_with_cache(code, options,
    prepend_cupy_headers=False, ...)` (cupy/_core/raw.pyx, _get_raw_module), which adds
    CuPy's include paths and standard, then `compiler._compile_module_with_cache`, which
    adds -ftz=true and the GPU's architecture and compiles. The second is replaced here by
    one that records what it was given.
    """
    seen = {}

    class Seen(Exception):
        pass

    def record(source, options=(), **kw):
        seen.update(source=source, options=tuple(options))
        raise Seen

    real = compiler._compile_module_with_cache
    compiler._compile_module_with_cache = record
    try:
        cupy._core.core.compile_with_cache(
            kernel.code, kernel.options, prepend_cupy_headers=False, backend=kernel.backend,
            enable_cooperative_groups=kernel.enable_cooperative_groups,
        )  # fmt: skip
    except Seen:
        pass
    finally:
        compiler._compile_module_with_cache = real
    assert seen, "CuPy's compile path did not reach the compiler"
    return seen["source"], seen["options"] + ("-ftz=true",)


def nvrtc_compile(source: str, options: tuple, arch: str, name: str) -> str:
    """Compile with the real NVRTC; the PTX, or NVRTCError carrying the compiler's log."""
    prog = nvrtc.createProgram(source, f"{name}.cu", [], [])
    try:
        try:
            nvrtc.compileProgram(prog, [*options, f"-arch={arch}"])
        except nvrtc.NVRTCError as e:
            raise nvrtc.NVRTCError(e.status) from RuntimeError(nvrtc.getProgramLog(prog))
        ptx = nvrtc.getPTX(prog) if arch.startswith("compute_") else b""
        return ptx.decode() if isinstance(ptx, bytes) else ptx
    finally:
        nvrtc.destroyProgram(prog)


_KERNELS = [(n, d) for n in tcuda.KERNELS for d in tcuda.KERNEL_DTYPES]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("name, dtype", _KERNELS, ids=[f"{n}-{d}" for n, d in _KERNELS])
def test_every_kernel_compiles_with_nvrtc(real_cupy, name, dtype, arch):
    kernel = tcuda._raw_kernel(name, dtype)  # the cupy.RawKernel tinynet launches
    assert type(kernel) is cupy.RawKernel and kernel.name == name
    assert kernel.code == tcuda.kernel_source(name, dtype)
    source, options = nvrtc_inputs(kernel)
    assert source == kernel.code  # a RawKernel's source reaches NVRTC as tinynet wrote it
    try:
        nvrtc_compile(source, options, f"sm_{arch}", name)  # SASS, as CuPy builds for a GPU
    except nvrtc.NVRTCError as e:
        pytest.fail(f"NVRTC rejects {name} ({dtype}) for sm_{arch}:\n{e.__cause__}")


def test_a_broken_kernel_fails_to_compile(real_cupy):
    """The check above can fail: an undefined identifier comes back with NVRTC's log."""
    src = tcuda.kernel_source("tinynet_col2im", np.float32).replace("acc = 0", "acc = nope")
    with pytest.raises(nvrtc.NVRTCError) as info:
        nvrtc_compile(src, (), "sm_80", "broken")
    assert 'identifier "nope" is undefined' in str(info.value.__cause__)


# ----- 3. the stand-in and the real CuPy agree --------------------------------------------------


def _unallocated(shape, dtype) -> cupy.ndarray:
    """A real cupy.ndarray over a null pointer: no device memory is ever touched."""
    mem = cupy.cuda.UnownedMemory(0, 0, None, 0)
    return cupy.ndarray(shape, dtype, memptr=cupy.cuda.MemoryPointer(mem, 0))


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize("convert", [np.asarray, lambda a: np.array(a, copy=True)])
def test_implicit_host_conversion_is_refused_alike(convert):
    with pytest.raises(TypeError) as real:
        convert(_unallocated((2, 3), np.float32))
    with pytest.raises(TypeError) as fake:
        convert(fakecuda.ndarray(np.zeros((2, 3), np.float32)))
    assert str(fake.value) == str(real.value)


@pytest.mark.parametrize(
    "value", [1, 2.5, True, np.int32(1), np.int64(1), np.float32(1), np.float64(1)]
)
def test_kernel_scalars_travel_as_cupy_passes_them(value):
    """The C type a scalar kernel argument reaches the GPU as: CuPy's CScalar decides it."""
    from cupy._core._scalar import CScalar

    real = np.dtype(CScalar(value).descr)
    fake = np.asarray(value).dtype if isinstance(value, np.generic) else None
    fake = fake or fakecuda.python_scalar_dtype(value)
    assert fake == real


@pytest.mark.parametrize("name, dtype", _KERNELS, ids=[f"{n}-{d}" for n, d in _KERNELS])
def test_the_stand_in_reads_kernel_parameters_as_nvrtc_compiles_them(real_cupy, name, dtype):
    """The stand-in's parse of each kernel's parameters (what it passes, by C type) against
    the parameter list of the PTX entry NVRTC makes of the same source."""
    source = tcuda.kernel_source(name, dtype)
    ptx = nvrtc_compile(source, (), "compute_80", name)
    entry = re.search(r"\.entry\s+" + name + r"\s*\((.*?)\)", ptx, re.S)
    assert entry, ptx[:2000]
    ptx_types = re.findall(r"\.param\s+\.(\w+)", entry.group(1))
    size = {"int": "32", "long long": "64", "float": "f32", "double": "f64"}
    want = ["64" if ptr else size[t] for t, ptr, _ in fakecuda.kernel_params(source, name)]
    got = [t.lstrip("ubsf") if t[0] in "ubs" else t for t in ptx_types]
    assert got == want, (ptx_types, fakecuda.kernel_params(source, name))


def test_rawkernel_signatures_agree():
    for method in ("__init__", "__call__"):
        real = _signature(cupy.RawKernel if method == "__init__" else cupy.RawKernel.__call__)
        fake = inspect.signature(getattr(fakecuda.RawKernel, method))
        real_names = [p.name for p in real.parameters.values() if p.name != "self"]
        fake_names = [p.name for p in fake.parameters.values() if p.name != "self"]
        assert fake_names == real_names, method
