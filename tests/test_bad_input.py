"""Off the happy path (issue 10, points 6 and 12): ints never wrap, float sizes are refused,
empty reductions behave as torch, zero-size kernels and bad arguments get a clear message
from tinynet naming the op and the argument, never a NumPy traceback or a silent truncation.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn.functional as F

BIG = [2**63, -(2**63) - 1, 2**64, 2**70]


# ----- integers never wrap ------------------------------------------------------------------


@pytest.mark.parametrize("v", BIG)
@pytest.mark.parametrize(
    "make",
    [
        lambda v: tn.tensor(v),
        lambda v: tn.tensor([1, v]),
        lambda v: tn.tensor([[v], [2]]),
        lambda v: tn.full((2,), v),
        lambda v: tn.zeros(2, dtype=tn.int64).fill_(v),
        lambda v: tn.ones(2, dtype=tn.int64) + v,
        lambda v: v * tn.ones(2, dtype=tn.int64),
        lambda v: tn.ones(2) - v,
        lambda v: tn.ones(2, dtype=tn.int64) == v,
        lambda v: tn.ones(2) < v,
        lambda v: tn.ones(2).masked_fill(tn.ones(2) > 0, v),
        lambda v: tn.randint(0, v, (2,)),
        lambda v: tn.arange(v),
        lambda v: tn.ones(2).clamp(max=v),
    ],
    ids=["tensor", "list", "nested", "full", "fill_", "add", "rmul", "sub-float", "eq", "lt-float",
         "masked_fill", "randint", "arange", "clamp"],
)  # fmt: skip
def test_ints_beyond_int64_raise_overflow_naming_the_value(make, v):
    with pytest.raises(OverflowError, match=str(v).lstrip("-")):
        make(v)


@pytest.mark.parametrize("np_dtype", [np.uint16, np.uint32, np.uint64])
def test_unsupported_unsigned_arrays_are_refused_not_wrapped(np_dtype):
    a = np.array([np.iinfo(np_dtype).max, 1], dtype=np_dtype)
    for make in (tn.from_numpy, tn.tensor):
        with pytest.raises(TypeError, match=np.dtype(np_dtype).name):
            make(a)
    with pytest.raises(tn.dtypes.UnsupportedDTypeError):
        tn.tensor(a)


@pytest.mark.parametrize(
    "name,v", [("uint8", 256), ("uint8", -1), ("int8", 128), ("int16", -40000)]
)
def test_scalars_that_do_not_fit_a_small_int_dtype_raise(name, v):
    dt = getattr(tn, name)
    for make in (
        lambda: tn.tensor([v], dtype=dt),
        lambda: tn.full((2,), v, dtype=dt),
        lambda: tn.zeros(2, dtype=dt) + v,
        lambda: tn.zeros(2, dtype=dt).fill_(v),
    ):
        with pytest.raises(OverflowError, match=str(abs(v))):
            make()


def test_values_inside_the_range_still_work():
    assert tn.tensor([2**63 - 1]).item() == 2**63 - 1
    assert tn.tensor(-(2**63)).item() == -(2**63)
    assert tn.full((1,), 255, dtype=tn.uint8).item() == 255
    assert tn.tensor([1.5, 2**70]).dtype is tn.float32  # floats with a huge int: floats, as torch


# ----- float sizes are refused, not truncated ------------------------------------------------

SIZE_CALLS = [
    ("zeros", lambda s: tn.zeros(s, 3)),
    ("ones", lambda s: tn.ones((2, s))),
    ("empty", lambda s: tn.empty(s)),
    ("rand", lambda s: tn.rand(s)),
    ("randn", lambda s: tn.randn(3, s)),
    ("full", lambda s: tn.full((s,), 1.0)),
    ("randint", lambda s: tn.randint(0, 5, (s,))),
    ("randperm", lambda s: tn.randperm(s)),
    ("eye", lambda s: tn.eye(s)),
    ("linspace", lambda s: tn.linspace(0, 1, s)),
    ("normal", lambda s: tn.normal(0.0, 1.0, (s,))),
    ("reshape", lambda s: tn.zeros(2, 3).reshape(s, 3)),
    ("reshape", lambda s: tn.zeros(2, 3).reshape((3, s))),
    ("reshape", lambda s: tn.zeros(2, 3).view(s, -1)),
    ("expand", lambda s: tn.zeros(1, 3).expand(s, 3)),
    ("permute", lambda s: tn.zeros(2, 3).permute(s, 0)),
    ("new_zeros", lambda s: tn.zeros(1).new_zeros(s)),
    ("repeat", lambda s: tn.ops.repeat(tn.zeros(2), s)),
    ("flip", lambda s: tn.ops.flip(tn.zeros(2), s)),
    ("roll", lambda s: tn.ops.roll(tn.zeros(2), s, 0)),
    ("split", lambda s: tn.ops.split(tn.zeros(4), s)),
    ("split", lambda s: tn.ops.split(tn.zeros(4), [s, 2])),
    ("chunk", lambda s: tn.ops.chunk(tn.zeros(4), s)),
    ("narrow", lambda s: tn.ops.narrow(tn.zeros(4), 0, 0, s)),
    ("unfold", lambda s: tn.ops.unfold(tn.zeros(4), 0, s, 1)),
]


@pytest.mark.parametrize("size", [2.0, 2.5, "2", None])
@pytest.mark.parametrize("op,call", SIZE_CALLS, ids=[f"{op}{i}" for i, (op, _) in
                                                     enumerate(SIZE_CALLS)])  # fmt: skip
def test_non_int_sizes_raise_type_error_naming_the_op(op, call, size):
    if op in ("reshape", "permute", "repeat", "flip", "roll") and size is None:
        pytest.skip("None is not a size anywhere; covered by the others")
    with pytest.raises(TypeError, match=op):
        call(size)


@pytest.mark.parametrize(
    "call",
    [lambda: tn.zeros(-1), lambda: tn.ones(2, -3), lambda: tn.randperm(-1), lambda: tn.eye(-2),
     lambda: tn.linspace(0, 1, -1), lambda: tn.arange(0, 5, 0), lambda: tn.arange(5, 0, 1),
     lambda: tn.arange(0, float("nan")), lambda: tn.randint(5, 2, (3,))],
)  # fmt: skip
def test_impossible_sizes_and_ranges_raise_runtime_error(call):
    with pytest.raises(RuntimeError):
        call()


DIM_CALLS = [
    ("sum", lambda d: tn.zeros(2, 3).sum(d)),
    ("mean", lambda d: tn.zeros(2, 3).mean(dim=d)),
    ("amax", lambda d: tn.zeros(2, 3).amax(d)),
    ("max", lambda d: tn.zeros(2, 3).max(d)),
    ("argmax", lambda d: tn.zeros(2, 3).argmax(d)),
    ("softmax", lambda d: tn.zeros(2, 3).softmax(d)),
    ("transpose", lambda d: tn.zeros(2, 3).transpose(0, d)),
    ("squeeze", lambda d: tn.zeros(2, 1).squeeze(d)),
    ("unsqueeze", lambda d: tn.zeros(2, 3).unsqueeze(d)),
    ("flatten", lambda d: tn.zeros(2, 3).flatten(d)),
    ("cat", lambda d: tn.cat([tn.zeros(2), tn.zeros(2)], d)),
    ("all", lambda d: tn.zeros(2, 3).all(d)),
]


@pytest.mark.parametrize("dim", [1.0, 0.5, "1"])
@pytest.mark.parametrize("op,call", DIM_CALLS, ids=[op for op, _ in DIM_CALLS])
def test_non_int_dims_raise_type_error_naming_the_op(op, call, dim):
    with pytest.raises(TypeError, match=f"{op}: dim"):
        call(dim)


# ----- empty reductions as torch --------------------------------------------------------------


@pytest.mark.parametrize("shape,dim", [((0,), None), ((0, 3), 0), ((0, 3), None), ((2, 0), 1)])
def test_empty_sum_mean_logsumexp_match_torch(torch, shape, dim):
    a = np.zeros(shape, dtype=np.float32)
    x, tx = tn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for name in ("sum", "mean"):
        got = getattr(x, name)() if dim is None else getattr(x, name)(dim)
        want = getattr(tx, name)() if dim is None else getattr(tx, name)(dim)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    if dim is not None:
        got, want = x.logsumexp(dim), tx.logsumexp(dim)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        assert x.softmax(dim).shape == tuple(tx.softmax(dim).shape)
    y = x.sum() + x.mean()
    y.backward()
    assert x.grad.shape == shape


@pytest.mark.parametrize(
    "op,call",
    [("max", lambda x: x.max()), ("min", lambda x: x.min()), ("amax", lambda x: x.amax(0)),
     ("amin", lambda x: x.amin()), ("argmax", lambda x: x.argmax()),
     ("argmin", lambda x: x.argmin(0)), ("max", lambda x: x.max(0))],
)  # fmt: skip
def test_max_of_nothing_is_a_clear_error(op, call):
    with pytest.raises((RuntimeError, IndexError), match=f"^{op}: .*(empty|non-zero|no elements)"):
        call(tn.zeros(0, 3))


def test_reductions_over_a_non_empty_dim_of_an_empty_tensor_work():
    x = tn.zeros(0, 3)
    assert x.amax(1).shape == (0,)
    assert x.max(1).values.shape == (0,)
    assert x.argmax(1).shape == (0,)


# ----- zero-size kernels ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,arg",
    [
        (lambda x: F.conv2d(x, tn.randn(3, 2, 0, 3)), "kernel"),
        (lambda x: F.conv2d(x, tn.randn(3, 2, 3, 0)), "kernel"),
        (lambda x: F.conv_transpose2d(x, tn.randn(2, 3, 0, 2)), "kernel"),
        (lambda x: F.max_pool2d(x, 0), "kernel_size"),
        (lambda x: F.avg_pool2d(x, (2, 0)), "kernel_size"),
        (lambda x: F.max_pool2d(x, 2, stride=0), "stride"),
    ],
)
def test_zero_size_kernels_raise_value_error_naming_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call(tn.randn(1, 2, 5, 5))


# ----- bad arguments get a tinynet sentence, not a NumPy one ---------------------------------


@pytest.mark.parametrize(
    "op,call,exc",
    [
        ("tensor", lambda: tn.tensor([[1, 2], [3]]), ValueError),
        ("tensor", lambda: tn.tensor({"a": 1}), TypeError),
        ("tensor", lambda: tn.tensor(["a"]), TypeError),
        ("full", lambda: tn.full((2,), "a"), TypeError),
        ("arange", lambda: tn.arange("a"), TypeError),
        ("clamp", lambda: tn.ones(2).clamp("a"), TypeError),
        ("masked_fill", lambda: tn.ones(2).masked_fill(tn.ones(2) > 0, "a"), TypeError),
        ("isclose", lambda: tn.isclose(tn.ones(2, 3), tn.ones(3, 3)), RuntimeError),
        ("div", lambda: tn.ones(2).div(2, rounding_mode="down"), ValueError),
        ("div", lambda: tn.tensor([1, 2]).div(0, rounding_mode="floor"), ZeroDivisionError),
        ("normal", lambda: tn.normal(tn.zeros(2), tn.ones(3)), RuntimeError),
        ("normal", lambda: tn.normal(0.0, -1.0, (2,)), RuntimeError),
        ("add", lambda: tn.ones(2).add(3, alpha="x"), TypeError),
        ("rand_like", lambda: tn.rand_like([1.0]), TypeError),
        ("round", lambda: tn.ones(2).round(1.5), TypeError),
    ],
)  # fmt: skip
def test_bad_arguments_are_named_by_tinynet(op, call, exc):
    with pytest.raises(exc, match=op):
        call()


def test_generator_on_another_device_is_refused():
    class NotAGenerator:
        pass

    with pytest.raises(TypeError, match="generator"):
        tn.rand(2, generator=NotAGenerator())


TENSOR_FUNCS = ["exp", "log", "sqrt", "sin", "cos", "tan", "atan", "log1p", "expm1", "log2",
                "log10", "rsqrt", "reciprocal", "sign", "floor", "ceil", "trunc", "round",
                "square", "isnan", "isinf", "isfinite", "nan_to_num", "abs", "neg", "sigmoid",
                "tanh", "relu", "erf", "sum", "mean", "prod", "amax", "amin", "all", "any", "std",
                "var", "max", "min", "argmax", "argmin"]  # fmt: skip


# (a backend array passes: it is what `.data` is; tests/test_bad_input_sweep.py checks that)
@pytest.mark.parametrize("arg", [None, [1.0, 2.0], "x"], ids=["None", "list", "str"])
@pytest.mark.parametrize("name", TENSOR_FUNCS)
def test_non_tensor_inputs_raise_type_error_naming_the_function(name, arg):
    with pytest.raises(TypeError, match=f"^{name}: input must be a Tensor"):
        getattr(tn, name)(arg)


# ----- weights, window arguments and loss hyper-parameters (torch raises; so do we) -----------

X4 = (1, 3, 6, 6)
WEIGHT_CALLS = [
    ("conv2d", lambda w, b: F.conv2d(tn.randn(*X4), w, b), (4, 3, 2, 2), 4),
    ("conv_transpose2d", lambda w, b: F.conv_transpose2d(tn.randn(*X4), w, b), (3, 4, 2, 2), 4),
    ("linear", lambda w, b: F.linear(tn.randn(2, 3), w, b), (4, 3), 4),
    ("layer_norm", lambda w, b: F.layer_norm(tn.randn(2, 3), (3,), w, b), (3,), 3),
    ("group_norm", lambda w, b: F.group_norm(tn.randn(*X4), 3, w, b), (3,), 3),
    ("batch_norm", lambda w, b: F.batch_norm(tn.randn(*X4), None, None, w, b, True), (3,), 3),
    ("embedding", lambda w, b: F.embedding(tn.tensor([0, 1]), w), (4, 3), None),
]  # fmt: skip


@pytest.mark.parametrize("bad", [[1.0, 2.0], 3, "w"], ids=["list", "int", "str"])
@pytest.mark.parametrize("op,call,w_shape,b_len", WEIGHT_CALLS, ids=[c[0] for c in WEIGHT_CALLS])
def test_a_weight_or_bias_that_is_not_a_tensor_is_a_type_error_naming_it(
    op, call, w_shape, b_len, bad
):
    with pytest.raises(TypeError, match=f"^{op}: weight must be a Tensor"):
        call(bad, None)
    if b_len is not None:
        with pytest.raises(TypeError, match=f"^{op}: bias must be a Tensor"):
            call(tn.randn(*w_shape), bad)
        assert call(tn.randn(*w_shape), tn.randn(b_len)).shape  # the good call still works


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "linear", "embedding"])
def test_a_missing_weight_is_a_type_error_naming_it(op):
    call = dict((c[0], c[1]) for c in WEIGHT_CALLS)[op]
    with pytest.raises(TypeError, match=f"^{op}: weight must be a Tensor, got NoneType"):
        call(None, None)


def test_batch_norm_running_stats_that_are_not_tensors_are_named():
    with pytest.raises(TypeError, match="batch_norm: running_var must be a Tensor"):
        F.batch_norm(tn.randn(2, 3), tn.zeros(3), [1.0, 1.0, 1.0], training=True)


WINDOW_BAD = [
    ({"kernel_size": 2.5}, TypeError, "kernel_size"),
    ({"kernel_size": (2, 1.0)}, TypeError, "kernel_size"),
    ({"kernel_size": 0}, ValueError, "kernel_size"),
    ({"kernel_size": -1}, ValueError, "kernel_size"),
    ({"kernel_size": 2, "stride": 1.5}, TypeError, "stride"),
    ({"kernel_size": 2, "stride": 0}, ValueError, "stride"),
    ({"kernel_size": 2, "stride": (1, -1)}, ValueError, "stride"),
    ({"kernel_size": 2, "padding": 0.5}, TypeError, "padding"),
    ({"kernel_size": 2, "padding": -1}, ValueError, "padding"),
]  # fmt: skip
CONV_BAD = WINDOW_BAD + [
    ({"kernel_size": 2, "dilation": 1.0}, TypeError, "dilation"),
    ({"kernel_size": 2, "dilation": 0}, ValueError, "dilation"),
    ({"kernel_size": 2, "groups": 1.0}, TypeError, "groups"),
    ({"kernel_size": 2, "groups": 0}, ValueError, "groups"),
    ({"kernel_size": 2, "groups": -2}, ValueError, "groups"),
]  # fmt: skip


@pytest.mark.parametrize("kwargs,exc,arg", CONV_BAD)
@pytest.mark.parametrize("cls", ["Conv2d", "ConvTranspose2d"])
def test_conv_layers_refuse_bad_window_arguments_when_built(cls, kwargs, exc, arg):
    with pytest.raises(exc, match=f"{cls}: {arg}"):
        getattr(tn.nn, cls)(4, 4, **kwargs)


@pytest.mark.parametrize("kwargs,exc,arg", WINDOW_BAD + CONV_BAD[-5:-3])
def test_max_pool_refuses_bad_window_arguments_when_built(kwargs, exc, arg):
    with pytest.raises(exc, match=f"MaxPool2d: {arg}"):
        tn.nn.MaxPool2d(**kwargs)


@pytest.mark.parametrize("kwargs,exc,arg", WINDOW_BAD)
def test_avg_pool_refuses_bad_window_arguments_when_built(kwargs, exc, arg):
    with pytest.raises(exc, match=f"AvgPool2d: {arg}"):
        tn.nn.AvgPool2d(**kwargs)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: F.max_pool2d(x, 2.5),
        lambda x: F.avg_pool2d(x, 2, stride=1.5),
        lambda x: F.conv2d(x, tn.randn(4, 3, 2, 2), padding=0.5),
        lambda x: F.conv2d(x, tn.randn(4, 3, 2, 2), dilation=(1, 2.0)),
    ],
)
def test_functional_windows_refuse_floats(call):
    with pytest.raises(TypeError, match="must be an int or a pair of ints"):
        call(tn.randn(*X4))


def test_good_window_layers_still_build_and_run():
    x = tn.randn(*X4)
    assert tn.nn.Conv2d(3, 4, (2, 3), stride=(1, 2), padding=1)(x).ndim == 4
    assert tn.nn.Conv2d(3, 3, 3, padding="same", groups=3)(x).shape == X4
    assert tn.nn.ConvTranspose2d(3, 4, 2, stride=2)(x).shape == (1, 4, 12, 12)
    assert tn.nn.MaxPool2d(2, stride=None)(x).shape == (1, 3, 3, 3)
    assert tn.nn.AvgPool2d((2, 2), padding=1)(x).shape == (1, 3, 4, 4)


@pytest.mark.parametrize("delta", [None, "1", [1.0], tn.ones(2)], ids=["None", "str", "list", "t"])
def test_huber_loss_delta_of_the_wrong_type_is_refused_when_built(delta):
    with pytest.raises(TypeError, match="HuberLoss: delta must be a float or int"):
        tn.nn.HuberLoss(delta=delta)


@pytest.mark.parametrize(
    "make,call,exc,arg",
    [
        (lambda: tn.nn.HuberLoss(delta=-1.0), None, RuntimeError, "delta"),
        (lambda: tn.nn.HuberLoss(delta=0), None, RuntimeError, "delta"),
        (lambda: tn.nn.SmoothL1Loss(beta=-1.0), None, RuntimeError, "beta"),
        (lambda: tn.nn.SmoothL1Loss(beta=None), None, TypeError, "beta"),
        (lambda: tn.nn.CrossEntropyLoss(label_smoothing=None), "ce", TypeError, "label_smoothing"),
        (lambda: tn.nn.CrossEntropyLoss(label_smoothing=1.5), "ce", ValueError, "label_smoothing"),
        (lambda: tn.nn.CrossEntropyLoss(ignore_index=None), "ce", TypeError, "ignore_index"),
        (lambda: tn.nn.CrossEntropyLoss(ignore_index=1.5), "ce", TypeError, "ignore_index"),
    ],
)  # fmt: skip
def test_loss_hyper_parameters_are_checked_at_the_call_as_torch(make, call, exc, arg):
    loss = make()  # torch builds these and raises at the call
    with pytest.raises(exc, match=arg):
        if call == "ce":
            loss(tn.randn(2, 3), tn.tensor([0, 1]))
        else:
            loss(tn.randn(4), tn.randn(4))


def test_loss_hyper_parameters_that_are_fine_still_work():
    assert tn.nn.HuberLoss(delta=2)(tn.randn(4), tn.randn(4)).ndim == 0
    assert tn.nn.SmoothL1Loss(beta=0)(tn.randn(4), tn.randn(4)).ndim == 0
    assert tn.nn.HuberLoss(delta=np.float32(0.5)).delta == 0.5
    assert tn.nn.CrossEntropyLoss(label_smoothing=0)(tn.randn(2, 3), tn.tensor([0, 1])).ndim == 0
