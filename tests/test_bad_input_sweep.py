"""Bad input across the whole public surface (issue 10, the sweep): each class of failure a
fuzz sweep found is held here by the general mechanism that fixes it, tried on many ops.

- tn.* and F.* refuse a non-Tensor first argument with a TypeError naming the function
  (ops/_args.py `_tensor_first`), never an AttributeError from inside the op;
- int arguments (dims, sizes, counts) refuse bools and values beyond int64 (`_int`, `_size`);
- a broadcast failure inside any op's forward is a RuntimeError naming the op and the shapes
  (Function.apply), never NumPy's ValueError;
- softmax's dim follows torch (one int; None picks torch's legacy dim, with its warning);
- Tensor.unfold is a view, as in torch: it shares the version counter and writes through.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinynet as tn
import tinynet.nn.functional as F

# every tn.* function whose first argument must be a Tensor (add, where, cat... take numbers or
# sequences first and are not here)
TENSOR_FIRST = (
    "abs absolute all amax amin any argmax argmin argsort arctan atan ceil chunk clamp clamp_max "
    "clamp_min clip clone contiguous cos cumprod cumsum erf exp expand expm1 fix flatten flip "
    "floor frac gather gelu getitem index_select isfinite isinf isnan leaky_relu log log10 log1p "
    "log2 log_softmax logical_not logsumexp masked_fill max mean min nan_to_num narrow neg "
    "negative norm numel permute prod reciprocal relu reshape roll round rsqrt scatter "
    "scatter_add sgn sigmoid sign sin softmax sort split sqrt square squeeze std sum t tan tanh "
    "topk transpose trunc unbind unsqueeze var view full_like zeros_like ones_like"
).split()
NOT_TENSORS = [None, [1.0, 2.0], np.ones((2, 3), np.float32), 3, "x"]
NOT_TENSOR_IDS = ["None", "list", "ndarray", "int", "str"]


# ----- a non-Tensor first argument --------------------------------------------------------------


# tn.* take a backend array too: it is what tinynet's `.data` is, and ported code says
# `torch.max(outputs.data, 1)` (docs/porting.md); F.* take Tensors only, as torch.
@pytest.mark.parametrize("arg", [a for a in NOT_TENSORS if not isinstance(a, np.ndarray)],
                         ids=[i for i in NOT_TENSOR_IDS if i != "ndarray"])  # fmt: skip
@pytest.mark.parametrize("name", TENSOR_FIRST)
def test_tn_functions_refuse_a_non_tensor_input_naming_the_function(name, arg):
    with pytest.raises(TypeError, match=f"^{name}: input must be a Tensor, got"):
        getattr(tn, name)(arg, 0)


@pytest.mark.parametrize("name", ["exp", "abs", "sum", "max", "argmax", "softmax", "flatten"])
def test_tn_functions_take_a_tensors_data_array_as_that_tensor(name):
    x = tn.randn(3, 4)
    args = (1,) if name in ("max", "argmax", "softmax", "flatten") else ()
    got, want = getattr(tn, name)(x.data, *args), getattr(tn, name)(x, *args)
    got, want = (got, want) if name != "max" else (got.values, want.values)
    assert isinstance(got, tn.Tensor) and not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("arg", NOT_TENSORS, ids=NOT_TENSOR_IDS)
@pytest.mark.parametrize("name", F.__all__)
def test_functional_refuses_a_non_tensor_input_naming_the_function(name, arg):
    with pytest.raises(TypeError, match=f"^{name}: input must be a Tensor, got"):
        getattr(F, name)(arg, tn.ones(2, 3))


def test_the_checked_functions_keep_name_docstring_and_signature():
    import inspect

    for fn, name in [(tn.reshape, "reshape"), (F.gelu, "gelu"), (tn.absolute, "absolute")]:
        assert fn.__name__ == name
        assert "input" in str(inspect.signature(fn)) or "x" in str(inspect.signature(fn))
    assert F.softsign.__doc__ and tn.cumsum.__doc__


# ----- int arguments: no bools, nothing beyond int64 ----------------------------------------------

INT_ARG_CALLS = [
    ("unsqueeze", lambda x, v: x.unsqueeze(v)),
    ("cumsum", lambda x, v: x.cumsum(v)),
    ("cumprod", lambda x, v: tn.cumprod(x, v)),
    ("chunk", lambda x, v: x.chunk(v)),
    ("split", lambda x, v: x.split(v)),
    ("roll", lambda x, v: x.roll(v)),
    ("transpose", lambda x, v: x.transpose(v, 0)),
    ("narrow", lambda x, v: x.narrow(0, v, 1)),
    ("unfold", lambda x, v: x.unfold(0, v, 1)),
    ("softmax", lambda x, v: x.softmax(v)),
    ("repeat", lambda x, v: x.repeat(v, 1)),
    ("new_zeros", lambda x, v: x.new_zeros(v)),
    ("ones", lambda x, v: tn.ones(v)),
    ("eye", lambda x, v: tn.eye(v)),
    ("flatten", lambda x, v: x.flatten(v)),
    ("squeeze", lambda x, v: x.squeeze(v)),
]


@pytest.mark.parametrize("v", [2**63, 2**70, -(2**63) - 1], ids=["2**63", "2**70", "-2**63-1"])
@pytest.mark.parametrize("op,call", INT_ARG_CALLS, ids=[op for op, _ in INT_ARG_CALLS])
def test_ints_beyond_int64_raise_overflow_error_naming_the_op(op, call, v):
    with pytest.raises(OverflowError, match=op):
        call(tn.ones(3, 4), v)


@pytest.mark.parametrize("op,call", INT_ARG_CALLS, ids=[op for op, _ in INT_ARG_CALLS])
def test_bools_are_not_ints_as_in_torch(op, call):
    with pytest.raises(TypeError, match=f"{op}: .*bool"):
        call(tn.ones(3, 4), True)


@pytest.mark.parametrize(
    "call",
    [
        lambda: tn.ones(2**31, 2**33),
        lambda: tn.zeros((2**40, 2**40)),
        lambda: tn.full((2**62, 4), 1.0),
        lambda: tn.ones(2).new_ones((2**32, 2**32)),
    ],
)
def test_sizes_with_more_elements_than_int64_counts_raise_runtime_error(call):
    with pytest.raises(RuntimeError, match="more elements than an int64"):
        call()


# ----- broadcast failures are named by the op -----------------------------------------------------

BINARY = ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
          "maximum", "minimum", "add", "sub", "mul", "div", "pow", "remainder"]  # fmt: skip


@pytest.mark.parametrize("shapes", [((3, 4), (0, 4)), ((2, 3), (4,)), ((2, 1, 3), (5, 2))])
@pytest.mark.parametrize("name", [n for n in BINARY if hasattr(tn.Tensor, n)])
def test_broadcast_failures_name_the_op_and_both_shapes(name, shapes):
    a, b = tn.ones(*shapes[0]), tn.ones(*shapes[1])
    with pytest.raises(RuntimeError, match=r"shapes \(.*\) and \(.*\) cannot be broadcast"):
        getattr(a, name)(b)


def test_broadcast_failure_in_a_user_function_is_named_by_it():
    class Glue(tn.autograd.Function):
        forward_on_arrays = True  # (a forward on Tensors names its own failing op instead)

        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(RuntimeError, match=r"^glue: shapes \(2,\) and \(3,\)"):
        Glue.apply(tn.ones(2), tn.ones(3))


# ----- softmax's dim ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_without_dim_uses_torchs_implicit_dim(torch, name, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(torch.nn.functional, name)(torch.tensor(x), None).numpy()
    with pytest.warns(UserWarning, match="Implicit dimension"):
        got = getattr(tn, name)(tn.tensor(x), None)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [(), (0, 1), 1.0])
def test_softmax_dim_must_be_one_int(name, dim):
    with pytest.raises((TypeError, IndexError), match=name):
        getattr(tn, name)(tn.ones(3, 4), dim)


@pytest.mark.parametrize("dtype", [tn.bool, tn.int64, tn.int32])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_a_non_float_tensor_is_refused_as_torch(name, dtype):
    with pytest.raises(TypeError, match=f"{name}: input must be a floating point"):
        getattr(tn.ones(3, 4, dtype=dtype), name)(0)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [1, -2, 5])
def test_dims_of_a_0d_tensor_are_checked_as_torch(name, dim):
    with pytest.raises(IndexError, match=name):
        getattr(tn.tensor(0.5), name)(dim)


# ----- unfold is a view -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,edit",
    [((1, 2, 2), "view"), ((1, 1, 2), "view"), ((0, 2, 2), "view"), ((1, 2, 2), "base"),
     ((1, 2, 1), "base"), ((0, 3, 1), "base"), ((1, 1, 3), "base")],
)  # fmt: skip
def test_an_edit_through_unfold_after_the_forward_saved_the_storage_raises(args, edit):
    x = tn.rand(3, 4, requires_grad=True)
    a = x * 1
    v = a.unfold(*args)
    y = (a if edit == "view" else v).sin()  # saves a, or the view
    with tn.no_grad():
        (v if edit == "view" else a).mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_unfold_writes_through_disjoint_windows_and_refuses_overlapping_ones(torch):
    for lib in (tn, torch):
        x = lib.arange(6.0)
        x.unfold(0, 2, 2).mul_(10)
        assert x.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    # torch multiplies the shared entries once per window (x[2] becomes 2000); refuse instead
    x = tn.arange(6.0)
    with pytest.raises(RuntimeError, match="single memory location"):
        x.unfold(0, 3, 1).mul_(10)


# ----- sequences, pads, fills and output sizes ----------------------------------------------------


@pytest.mark.parametrize("arg", [None, 3, tn.ones(2), "ab"], ids=["None", "int", "Tensor", "str"])
@pytest.mark.parametrize("name", ["cat", "stack"])
def test_cat_and_stack_want_a_list_or_tuple_of_tensors(name, arg):
    with pytest.raises(TypeError, match=f"^{name}: expected a list or tuple of tensors"):
        getattr(tn, name)(arg)


@pytest.mark.parametrize("pad", [0, None, (1, True), (1.0, 1), (1, 2**70), "ab"])
def test_pad_widths_are_a_tuple_of_ints(pad):
    with pytest.raises((TypeError, OverflowError), match="^pad: pad"):
        F.pad(tn.ones(1, 2, 4, 4), pad)


@pytest.mark.parametrize("value", ["a", [1.0, 2.0], (), None])
def test_fill_takes_a_number_or_a_0d_tensor(value):
    with pytest.raises(TypeError, match="^fill_: value must be a number"):
        tn.ones(3, 4).fill_(value)


@pytest.mark.parametrize(
    "op,call",
    [
        ("interpolate", lambda x: F.interpolate(x, size=2**70)),
        ("interpolate", lambda x: F.interpolate(x, size=(2, 2**64))),
        ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, 2**70)),
        ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2**63, 2))),
        ("max_pool2d", lambda x: F.max_pool2d(x, 2**70)),
        ("avg_pool2d", lambda x: F.avg_pool2d(x, 2, stride=2**64)),
        ("conv2d", lambda x: F.conv2d(x, tn.ones(1, 2, 1, 1), padding=2**70)),
    ],
)  # fmt: skip
def test_output_sizes_and_window_args_beyond_int64_raise_overflow_error(op, call):
    with pytest.raises(OverflowError, match=op):
        call(tn.ones(1, 2, 4, 4))
