"""Tensor basics with PyTorch's semantics: creation and dtype inference, type promotion,
properties, conversion to NumPy and DLPack, casts, repr (character for character PyTorch's),
seeded random numbers, comparisons, __setitem__ and the in-place methods."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import DTypeError, GraphError


def values(t):
    return np.asarray(t.detach())


def version(t):
    return t._version


# ---------------------------------------------------------------- creation and dtype inference
@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, cr.float32),
        ([1.0, 2.0], cr.float32),
        ([1, 2.5], cr.float32),
        (3, cr.int64),
        ([[1, 2], [3, 4]], cr.int64),
        (True, cr.bool),
        ([True, False], cr.bool),
        ([True, 2], cr.int64),
        (np.array([1.0, 2.0]), cr.float64),
        (np.array([1.0], dtype=np.float32), cr.float32),
        (np.array([1, 2], dtype=np.int32), cr.int32),
        (np.array([1, 2], dtype=np.uint8), cr.uint8),
        (np.float64(0.25), cr.float64),
        (np.int32(3), cr.int32),
    ],
)
def test_tensor_infers_pytorch_dtypes(data, dtype):
    assert cr.tensor(data).dtype is dtype


def test_tensor_with_explicit_dtype_converts():
    t = cr.tensor([1, 2], dtype=cr.float64)
    assert t.dtype is cr.float64 and t.tolist() == [1.0, 2.0]
    assert cr.tensor([1.7, -1.7], dtype=cr.int64).tolist() == [1, -1]


def test_tensor_copies_its_data():
    array = np.array([1.0, 2.0])
    t = cr.tensor(array)
    array[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    source = cr.tensor([1.0, 2.0])
    copy = cr.tensor(source)
    source.add_(1)
    assert copy.tolist() == [1.0, 2.0]


def test_default_dtype_can_be_float64():
    try:
        cr.set_default_dtype(cr.float64)
        assert cr.tensor([1.5]).dtype is cr.float64
        assert cr.zeros(2).dtype is cr.float64
        assert repr(cr.tensor([1.5])) == "tensor([1.5000])"
        assert repr(cr.tensor([1.5], dtype=cr.float32)) == "tensor([1.5000], dtype=chainrule.float32)"
    finally:
        cr.set_default_dtype(cr.float32)
    assert cr.tensor([1.5]).dtype is cr.float32


def test_zeros_ones_full():
    z = cr.zeros(2, 3)
    assert z.shape == (2, 3) and z.dtype is cr.float32 and not values(z).any()
    assert cr.zeros((2, 3)).shape == (2, 3)
    o = cr.ones(4, dtype=cr.float64)
    assert o.dtype is cr.float64 and o.tolist() == [1.0] * 4
    assert cr.ones(2, requires_grad=True).requires_grad
    f = cr.full((2, 2), 7.5)
    assert f.dtype is cr.float32 and f.tolist() == [[7.5, 7.5], [7.5, 7.5]]
    assert cr.full((2,), 3).dtype is cr.int64
    assert cr.full((2,), True).dtype is cr.bool
    assert cr.full((2,), 3, dtype=cr.float64).tolist() == [3.0, 3.0]


def test_arange():
    assert cr.arange(4).tolist() == [0, 1, 2, 3] and cr.arange(4).dtype is cr.int64
    assert cr.arange(2, 8, 3).tolist() == [2, 5]
    a = cr.arange(0, 1, 0.25)
    assert a.dtype is cr.float32 and a.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert cr.arange(3.0).dtype is cr.float32
    assert cr.arange(3, dtype=cr.float64).dtype is cr.float64
    assert cr.arange(5, 0, -2).tolist() == [5, 3, 1]


def test_linspace_includes_both_ends():
    t = cr.linspace(-1, 1, 5)
    assert t.dtype is cr.float32 and t.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert cr.linspace(0, 1, 3, dtype=cr.float64).dtype is cr.float64


def test_eye():
    np.testing.assert_array_equal(values(cr.eye(3)), np.eye(3))
    e = cr.eye(2, 3)
    assert e.shape == (2, 3) and e.dtype is cr.float32
    assert e.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def test_like_functions_take_shape_dtype_from_the_argument():
    ints = cr.arange(6).reshape(2, 3)
    z = cr.zeros_like(ints)
    assert z.shape == (2, 3) and z.dtype is cr.int64 and z.tolist() == [[0, 0, 0], [0, 0, 0]]
    o = cr.ones_like(cr.zeros(2, dtype=cr.float64))
    assert o.dtype is cr.float64 and o.tolist() == [1.0, 1.0]
    f = cr.full_like(ints, 4, dtype=cr.float32)
    assert f.dtype is cr.float32 and f.tolist() == [[4.0] * 3] * 2
    assert cr.zeros_like(ints, dtype=cr.float32).dtype is cr.float32
    assert cr.ones_like(cr.ones(2), requires_grad=True).requires_grad
    assert cr.rand_like(cr.ones(3, 2)).shape == (3, 2)


def test_from_numpy_shares_memory_both_ways():
    array = np.arange(6.0).reshape(2, 3)
    t = cr.from_numpy(array)
    assert t.dtype is cr.float64 and t.shape == (2, 3)
    array[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    t[1, 2] = -1.0
    assert array[1, 2] == -1.0
    with pytest.raises(TypeError):
        cr.from_numpy([1.0, 2.0])


def test_as_tensor_shares_memory_when_it_can():
    array = np.array([1.0, 2.0], dtype=np.float32)
    t = cr.as_tensor(array)
    array[0] = 9.0
    assert t.tolist() == [9.0, 2.0]
    converted = cr.as_tensor(array, dtype=cr.float64)  # another dtype: a copy
    array[1] = 7.0
    assert converted.tolist() == [9.0, 2.0]
    existing = cr.ones(2)
    assert cr.as_tensor(existing) is existing
    assert cr.as_tensor([1, 2]).dtype is cr.int64


# ---------------------------------------------------------------- promotion
def test_int64_plus_float32_is_float32():
    r = cr.tensor([1, 2]) + cr.tensor([0.5, 0.5])
    assert r.dtype is cr.float32 and r.tolist() == [1.5, 2.5]
    assert (cr.tensor([0.5, 0.5]) + cr.tensor([1, 2])).dtype is cr.float32


def test_float32_times_python_float_stays_float32():
    assert (cr.tensor([1.0, 2.0]) * 2.5).dtype is cr.float32
    assert (2.5 * cr.tensor([1.0, 2.0])).dtype is cr.float32
    assert (cr.tensor([1.0]) * np.float64(2.5)).dtype is cr.float32


def test_int_tensor_times_python_float_is_float32():
    r = cr.tensor([1, 3]) * 0.5
    assert r.dtype is cr.float32 and r.tolist() == [0.5, 1.5]
    assert (cr.tensor([1, 2]) * 2).dtype is cr.int64
    assert (cr.tensor([1, 2], dtype=cr.int32) * 2).dtype is cr.int32
    assert (cr.tensor([1, 2]) / 2).dtype is cr.float32
    assert (cr.tensor([True]) * 2).dtype is cr.int64


def test_float32_plus_float64_is_float64_with_grads_in_each_dtype():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([0.5, 0.25], dtype=cr.float64, requires_grad=True)
    c = a * b + a
    assert c.dtype is cr.float64
    c.sum().backward()
    assert a.grad.dtype is cr.float32 and b.grad.dtype is cr.float64
    np.testing.assert_allclose(values(a.grad), [1.5, 1.25])
    np.testing.assert_allclose(values(b.grad), [1.0, 2.0])


def test_int32_plus_int64_is_int64():
    assert (cr.tensor([1], dtype=cr.int32) + cr.tensor([1])).dtype is cr.int64


# ---------------------------------------------------------------- properties
def test_shape_ndim_dtype_device_size():
    t = cr.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.numel() == 24 and len(t) == 2
    assert t.dtype is cr.float32
    assert t.device.type == "cpu" and str(t.device) == "cpu"
    assert t.is_floating_point() and not cr.arange(2).is_floating_point()
    assert cr.tensor(5.0).shape == () and cr.tensor(5.0).ndim == 0


def test_is_leaf_and_grad_fn():
    x = cr.ones(2, requires_grad=True)
    c = cr.ones(2)
    assert x.is_leaf and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.requires_grad
    assert (c * 2).is_leaf  # made from tensors that need no grad
    with cr.no_grad():
        assert (x * 2).is_leaf
    assert x.detach().is_leaf


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda x: x * 2, "MulBackward0"),
        (lambda x: x + 1, "AddBackward0"),
        (lambda x: x - x, "SubBackward0"),
        (lambda x: x / 2, "DivBackward0"),
        (lambda x: -x, "NegBackward0"),
        (lambda x: x**2, "PowBackward0"),
        (lambda x: x.exp(), "ExpBackward0"),
        (lambda x: x.log(), "LogBackward0"),
        (lambda x: x.tanh(), "TanhBackward0"),
        (lambda x: x.sigmoid(), "SigmoidBackward0"),
        (lambda x: x.sqrt(), "SqrtBackward0"),
        (lambda x: x.sum(), "SumBackward0"),
        (lambda x: x.mean(), "MeanBackward0"),
        (lambda x: x.softmax(1), "SoftmaxBackward0"),
        (lambda x: cr.cat([x, x]), "CatBackward0"),
        (lambda x: cr.stack([x, x]), "StackBackward0"),
        (lambda x: x.permute(1, 0), "PermuteBackward0"),
        (lambda x: x.clone(), "CloneBackward0"),
    ],
)
def test_grad_fn_names_are_pytorchs(make, name):
    x = cr.ones(2, 3, requires_grad=True)
    y = make(x)
    assert y.grad_fn.name == name
    assert f"grad_fn=<{name}>" in repr(y)


# ---------------------------------------------------------------- conversion
def test_numpy_shares_memory_and_refuses_requires_grad():
    t = cr.tensor([1.0, 2.0])
    array = t.numpy()
    assert isinstance(array, np.ndarray) and array.dtype == np.float32
    array[0] = 5.0
    assert t.tolist() == [5.0, 2.0]
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="detach"):
        x.numpy()
    detached = x.detach().numpy()
    np.testing.assert_array_equal(detached, [1.0, 2.0])
    assert np.shares_memory(detached, x.detach().numpy())


def test_item_and_tolist():
    assert cr.tensor(2.5).item() == 2.5 and isinstance(cr.tensor(2.5).item(), float)
    assert cr.tensor([[7]]).item() == 7 and isinstance(cr.tensor([[7]]).item(), int)
    assert isinstance(cr.tensor(True).item(), bool)
    assert cr.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert cr.tensor(1.5).tolist() == 1.5
    x = cr.tensor([1.5], requires_grad=True)
    assert x.item() == 1.5  # item() works on tensors that require grad, as in PyTorch
    assert float(cr.tensor([0.5])) == 0.5 and int(cr.tensor(3)) == 3


def test_np_asarray():
    t = cr.arange(6).reshape(2, 3)
    array = np.asarray(t)
    assert array.shape == (2, 3) and array.dtype == np.int64
    np.testing.assert_array_equal(array, np.arange(6).reshape(2, 3))
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(GraphError):
        np.asarray(cr.ones(2, requires_grad=True))


def test_dlpack_round_trip_with_numpy():
    t = cr.tensor([1.0, 2.0, 3.0])
    array = np.from_dlpack(t)
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, [1.0, 2.0, 3.0])
    t[0] = 10.0  # shares memory
    assert array[0] == 10.0

    source = np.arange(6, dtype=np.int64).reshape(2, 3)
    u = cr.from_dlpack(source)
    assert u.dtype is cr.int64 and u.shape == (2, 3)
    source[1, 1] = -5
    assert u[1, 1].item() == -5

    back = cr.from_dlpack(np.from_dlpack(u))
    assert back.tolist() == u.tolist()


def test_dlpack_refuses_a_tensor_that_requires_grad():
    with pytest.raises(GraphError):
        np.from_dlpack(cr.ones(2, requires_grad=True))


def test_to_float_double_long():
    ints = cr.tensor([1, -2])
    assert ints.float().dtype is cr.float32 and ints.float().tolist() == [1.0, -2.0]
    assert ints.double().dtype is cr.float64
    floats = cr.tensor([1.7, -1.7])
    assert floats.long().dtype is cr.int64 and floats.long().tolist() == [1, -1]  # truncates
    assert floats.to(cr.float64).dtype is cr.float64
    assert floats.to(floats.dtype) is floats  # no-op returns self
    assert floats.to("cpu") is floats
    assert floats.to(dtype=cr.int32).dtype is cr.int32
    assert floats.to(cr.zeros(1, dtype=cr.float64)).dtype is cr.float64
    copy = floats.to(cr.float32, copy=True)
    assert copy is not floats
    copy.zero_()
    assert floats.tolist() != [0.0, 0.0]
    assert cr.tensor([0.0, 2.0]).bool().tolist() == [False, True]


def test_cast_is_differentiable():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype is cr.float64 and y.requires_grad and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype is cr.float32
    np.testing.assert_allclose(values(x.grad), [2.0, 4.0])


def test_cast_to_an_integer_dtype_leaves_the_graph():
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    assert not x.long().requires_grad


# ---------------------------------------------------------------- repr
REPR_CASES = [
    (
        "floats",
        lambda: cr.tensor([1.5, -2.25, 3.0]),
        "tensor([ 1.5000, -2.2500,  3.0000])",
    ),
    (
        "float_matrix",
        lambda: cr.tensor([[1.0, 2.5], [-3.125, 4.0]]),
        "\n".join(
            [
                "tensor([[ 1.0000,  2.5000],",
                "        [-3.1250,  4.0000]])",
            ]
        ),
    ),
    (
        "integral_floats",
        lambda: cr.tensor([1.0, -20.0, 3.0]),
        "tensor([  1., -20.,   3.])",
    ),
    (
        "zeros",
        lambda: cr.zeros(3),
        "tensor([0., 0., 0.])",
    ),
    (
        "negative_zero",
        lambda: cr.tensor([-0.0, 1.0]),
        "tensor([-0., 1.])",
    ),
    (
        "ints",
        lambda: cr.tensor([[1, -20], [300, 4]]),
        "\n".join(
            [
                "tensor([[  1, -20],",
                "        [300,   4]])",
            ]
        ),
    ),
    (
        "int32",
        lambda: cr.tensor([1, 2], dtype=cr.int32),
        "tensor([1, 2], dtype=chainrule.int32)",
    ),
    (
        "int8",
        lambda: cr.tensor([-5, 100], dtype=cr.int8),
        "tensor([ -5, 100], dtype=chainrule.int8)",
    ),
    (
        "bools",
        lambda: cr.tensor([True, False, True]),
        "tensor([ True, False,  True])",
    ),
    (
        "float64",
        lambda: cr.tensor([0.5, 1.25], dtype=cr.float64),
        "tensor([0.5000, 1.2500], dtype=chainrule.float64)",
    ),
    (
        "float16",
        lambda: cr.tensor([1.5, 2.0], dtype=cr.float16),
        "tensor([1.5000, 2.0000], dtype=chainrule.float16)",
    ),
    (
        "requires_grad",
        lambda: cr.tensor([1.0, 2.0], requires_grad=True),
        "tensor([1., 2.], requires_grad=True)",
    ),
    (
        "requires_grad_float64",
        lambda: cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True),
        "tensor([1., 2.], dtype=chainrule.float64, requires_grad=True)",
    ),
    (
        "grad_fn_mul",
        lambda: cr.tensor([1.0, 2.0], requires_grad=True) * 2,
        "tensor([2., 4.], grad_fn=<MulBackward0>)",
    ),
    (
        "grad_fn_sum_0d",
        lambda: (cr.tensor([1.0, 2.0], requires_grad=True) * 2).sum(),
        "tensor(6., grad_fn=<SumBackward0>)",
    ),
    (
        "grad_fn_float64",
        lambda: cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True).exp(),
        "tensor([2.7183, 7.3891], dtype=chainrule.float64, grad_fn=<ExpBackward0>)",
    ),
    (
        "scientific_wide_range",
        lambda: cr.tensor([1e-5, 1.0, 1e5]),
        "tensor([1.0000e-05, 1.0000e+00, 1.0000e+05])",
    ),
    (
        "scientific_tiny",
        lambda: cr.tensor([1e-6, 2e-6]),
        "tensor([1.0000e-06, 2.0000e-06])",
    ),
    (
        "scientific_huge",
        lambda: cr.tensor([1e10, 2.0]),
        "tensor([1.0000e+10, 2.0000e+00])",
    ),
    (
        "scientific_ratio",
        lambda: cr.tensor([123456.789, 0.001]),
        "tensor([1.2346e+05, 1.0000e-03])",
    ),
    (
        "scientific_integral",
        lambda: cr.tensor([1001.0, 1.0]),
        "tensor([1.0010e+03, 1.0000e+00])",
    ),
    (
        "nonfinite",
        lambda: cr.tensor([float("nan"), 1.5, float("inf"), -float("inf")]),
        "tensor([   nan, 1.5000,    inf,   -inf])",
    ),
    (
        "nonfinite_integral",
        lambda: cr.tensor([[float("nan"), 2.0], [-3.0, float("inf")]]),
        "\n".join(
            [
                "tensor([[nan,  2.],",
                "        [-3., inf]])",
            ]
        ),
    ),
    (
        "zero_d_float",
        lambda: cr.tensor(3.5),
        "tensor(3.5000)",
    ),
    (
        "zero_d_int",
        lambda: cr.tensor(7),
        "tensor(7)",
    ),
    (
        "zero_d_bool",
        lambda: cr.tensor(True),
        "tensor(True)",
    ),
    (
        "zero_d_requires_grad",
        lambda: cr.tensor(-2.0, requires_grad=True),
        "tensor(-2., requires_grad=True)",
    ),
    (
        "zero_d_scientific",
        lambda: cr.tensor(1.5e-7),
        "tensor(1.5000e-07)",
    ),
    (
        "empty",
        lambda: cr.tensor([]),
        "tensor([])",
    ),
    (
        "empty_2d",
        lambda: cr.zeros(0, 3),
        "tensor([], size=(0, 3))",
    ),
    (
        "empty_int",
        lambda: cr.zeros(0, dtype=cr.int64),
        "tensor([], dtype=chainrule.int64)",
    ),
    (
        "three_d",
        lambda: cr.arange(12, dtype=cr.float32).reshape(2, 2, 3) / 4,
        "\n".join(
            [
                "tensor([[[0.0000, 0.2500, 0.5000],",
                "         [0.7500, 1.0000, 1.2500]],",
                "",
                "        [[1.5000, 1.7500, 2.0000],",
                "         [2.2500, 2.5000, 2.7500]]])",
            ]
        ),
    ),
    (
        "wrapped_rows",
        lambda: cr.arange(40, dtype=cr.float32).reshape(2, 20) * 1.1,
        "\n".join(
            [
                "tensor([[ 0.0000,  1.1000,  2.2000,  3.3000,  4.4000,  5.5000,  6.6000,  7.7000,",
                "          8.8000,  9.9000, 11.0000, 12.1000, 13.2000, 14.3000, 15.4000, 16.5000,",
                "         17.6000, 18.7000, 19.8000, 20.9000],",
                "        [22.0000, 23.1000, 24.2000, 25.3000, 26.4000, 27.5000, 28.6000, 29.7000,",
                "         30.8000, 31.9000, 33.0000, 34.1000, 35.2000, 36.3000, 37.4000, 38.5000,",
                "         39.6000, 40.7000, 41.8000, 42.9000]])",
            ]
        ),
    ),
    (
        "wrapped_vector",
        lambda: cr.linspace(0, 1, 20),
        "\n".join(
            [
                "tensor([0.0000, 0.0526, 0.1053, 0.1579, 0.2105, 0.2632, 0.3158, 0.3684, 0.4211,",
                "        0.4737, 0.5263, 0.5789, 0.6316, 0.6842, 0.7368, 0.7895, 0.8421, 0.8947,",
                "        0.9474, 1.0000])",
            ]
        ),
    ),
    (
        "summarized_vector",
        lambda: cr.arange(1001),
        "tensor([   0,    1,    2,  ...,  998,  999, 1000])",
    ),
    (
        "summarized_matrix",
        lambda: cr.arange(2000, dtype=cr.float32).reshape(40, 50) / 7,
        "\n".join(
            [
                "tensor([[0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 6.7143e+00, 6.8571e+00,",
                "         7.0000e+00],",
                "        [7.1429e+00, 7.2857e+00, 7.4286e+00,  ..., 1.3857e+01, 1.4000e+01,",
                "         1.4143e+01],",
                "        [1.4286e+01, 1.4429e+01, 1.4571e+01,  ..., 2.1000e+01, 2.1143e+01,",
                "         2.1286e+01],",
                "        ...,",
                "        [2.6429e+02, 2.6443e+02, 2.6457e+02,  ..., 2.7100e+02, 2.7114e+02,",
                "         2.7129e+02],",
                "        [2.7143e+02, 2.7157e+02, 2.7171e+02,  ..., 2.7814e+02, 2.7829e+02,",
                "         2.7843e+02],",
                "        [2.7857e+02, 2.7871e+02, 2.7886e+02,  ..., 2.8529e+02, 2.8543e+02,",
                "         2.8557e+02]])",
            ]
        ),
    ),
    (
        "summarized_bool",
        lambda: cr.arange(2000).reshape(2, 1000) > 997,
        "\n".join(
            [
                "tensor([[False, False, False,  ..., False,  True,  True],",
                "        [ True,  True,  True,  ...,  True,  True,  True]])",
            ]
        ),
    ),
]


@pytest.mark.parametrize("make, expected", [case[1:] for case in REPR_CASES], ids=[case[0] for case in REPR_CASES])
def test_repr_matches_pytorch(make, expected):
    # Expected strings are PyTorch 2's repr of the same values, with "torch." -> "chainrule.".
    assert repr(make()) == expected


def test_repr_of_a_parameter_like_leaf_after_backward_is_unchanged():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x.grad) == "tensor([2., 4.])"


def test_dtype_repr():
    assert repr(cr.float32) == "chainrule.float32"
    assert repr(cr.int64) == "chainrule.int64"
    assert repr(cr.bool) == "chainrule.bool"


# ---------------------------------------------------------------- random
@pytest.mark.parametrize(
    "draw",
    [
        lambda: cr.rand(3, 4),
        lambda: cr.randn(5),
        lambda: cr.randint(0, 10, (6,)),
        lambda: cr.randint(5, (2, 2)),
        lambda: cr.randperm(8),
    ],
    ids=["rand", "randn", "randint", "randint_high_only", "randperm"],
)
def test_manual_seed_makes_draws_reproducible(draw):
    cr.manual_seed(1234)
    first = values(draw()).copy()
    second = values(draw()).copy()
    cr.manual_seed(1234)
    np.testing.assert_array_equal(values(draw()), first)
    np.testing.assert_array_equal(values(draw()), second)
    assert first.size <= 1 or not np.array_equal(first, second)


def test_random_dtypes_shapes_and_ranges():
    cr.manual_seed(0)
    u = cr.rand(1000)
    assert u.dtype is cr.float32 and u.shape == (1000,)
    assert 0.0 <= values(u).min() and values(u).max() < 1.0
    n = cr.randn(2, 3, dtype=cr.float64)
    assert n.dtype is cr.float64 and n.shape == (2, 3)
    i = cr.randint(3, 7, (500,))
    assert i.dtype is cr.int64 and set(values(i).tolist()) == {3, 4, 5, 6}
    p = cr.randperm(10)
    assert p.dtype is cr.int64 and sorted(p.tolist()) == list(range(10))
    assert cr.randn(3, requires_grad=True).requires_grad


def test_generator_is_independent_of_the_global_seed():
    g = cr.Generator().manual_seed(7)
    a = values(cr.randn(4, generator=g)).copy()
    b = cr.randperm(6, generator=g).tolist()
    c = cr.randint(0, 100, (3,), generator=g).tolist()

    g.manual_seed(7)
    cr.manual_seed(99)
    cr.rand(10)  # drawing from the default generator does not disturb g
    np.testing.assert_array_equal(values(cr.randn(4, generator=g)), a)
    assert cr.randperm(6, generator=g).tolist() == b
    assert cr.randint(0, 100, (3,), generator=g).tolist() == c
    assert cr.Generator(7).initial_seed() == 7


def test_generator_does_not_advance_the_default_generator():
    cr.manual_seed(5)
    expected = values(cr.rand(3)).copy()
    cr.manual_seed(5)
    cr.rand(3, generator=cr.Generator(1))
    np.testing.assert_array_equal(values(cr.rand(3)), expected)


def test_rng_state_round_trip():
    cr.manual_seed(3)
    state = cr.get_rng_state()
    first = values(cr.randn(4)).copy()
    cr.set_rng_state(state)
    np.testing.assert_array_equal(values(cr.randn(4)), first)


# ---------------------------------------------------------------- comparisons
def test_comparisons_return_bool_tensors():
    a = cr.tensor([1.0, 2.0, 3.0])
    b = cr.tensor([3.0, 2.0, 1.0])
    cases = {
        "<": (a < b, [True, False, False]),
        "<=": (a <= b, [True, True, False]),
        ">": (a > b, [False, False, True]),
        ">=": (a >= b, [False, True, True]),
        "==": (a == b, [False, True, False]),
        "!=": (a != b, [True, False, True]),
        "eq scalar": (a == 2, [False, True, False]),
        "gt scalar float on ints": (cr.tensor([1, 2, 3]) > 1.5, [False, True, True]),
        "int vs float tensor": (cr.tensor([1, 2, 3]) == a, [True, True, True]),
        "lt method": (a.lt(2.5), [True, True, False]),
        "reflected": (2 < a, [False, False, True]),
    }
    for name, (result, expected) in cases.items():
        assert result.dtype is cr.bool, name
        assert result.tolist() == expected, name
        assert not result.requires_grad


def test_comparison_of_a_tensor_that_requires_grad_has_no_grad():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    mask = x > 0
    assert mask.dtype is cr.bool and not mask.requires_grad and mask.grad_fn is None


def test_comparison_broadcasts_and_bool_tensor_masks():
    col = cr.tensor([[1], [2]])
    row = cr.tensor([1, 2, 3])
    assert (col < row).tolist() == [[False, True, True], [False, False, True]]
    a = cr.tensor([5.0, -1.0, 3.0])
    assert a[a > 0].tolist() == [5.0, 3.0]
    assert ((a > 0) & (a < 4)).tolist() == [False, False, True]
    assert (~(a > 0)).tolist() == [False, True, False]


def test_equality_is_elementwise_and_equal_is_whole():
    a = cr.tensor([1, 2])
    assert cr.equal(a, cr.tensor([1, 2]))
    assert not cr.equal(a, cr.tensor([1, 3]))
    assert (a == cr.tensor([1, 3])).tolist() == [True, False]


# ---------------------------------------------------------------- __setitem__
def test_setitem_outside_the_graph_writes_and_bumps_the_version():
    t = cr.zeros(2, 3)
    before = version(t)
    t[0, 1] = 5.0
    t[1] = cr.tensor([1.0, 2.0, 3.0])
    t[:, 2] = -1.0
    assert t.tolist() == [[0.0, 5.0, -1.0], [1.0, 2.0, -1.0]]
    assert version(t) == before + 3


def test_setitem_with_masks_and_integer_arrays():
    t = cr.arange(6, dtype=cr.float32)
    t[t > 3] = 0.0
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 0.0, 0.0]
    t[cr.tensor([0, 2])] = cr.tensor([9.0, 8.0])
    assert t.tolist() == [9.0, 1.0, 8.0, 3.0, 0.0, 0.0]


def test_setitem_keeps_the_dtype():
    t = cr.zeros(3, dtype=cr.int64)
    t[1] = 7
    assert t.dtype is cr.int64 and t.tolist() == [0, 7, 0]


def test_setitem_through_a_view_is_visible_and_bumps_the_shared_version():
    base = cr.zeros(4)
    view = base.detach()
    before = version(base)
    view[2] = 1.0
    assert base.tolist() == [0.0, 0.0, 1.0, 0.0]
    assert version(base) == before + 1


def test_setitem_while_recording_on_a_tensor_that_requires_grad_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="no_grad"):
        x[0] = 5.0
    assert x.tolist() == [1.0, 2.0]
    y = x * 2
    with pytest.raises(GraphError):
        y[0] = 0.0
    with cr.no_grad():
        x[0] = 5.0
    assert x.tolist() == [5.0, 2.0] and x.requires_grad


# ---------------------------------------------------------------- in-place methods
def test_add_mul_sub_div_in_place():
    t = cr.tensor([1.0, 2.0])
    storage = t.numpy()
    before = version(t)
    assert t.add_(1) is t
    assert t.tolist() == [2.0, 3.0]
    t.add_(cr.tensor([1.0, 1.0]), alpha=2)
    assert t.tolist() == [4.0, 5.0]
    assert t.mul_(2) is t and t.tolist() == [8.0, 10.0]
    t.sub_(cr.tensor([1.0, 0.0]))
    t.div_(2)
    assert t.tolist() == [3.5, 5.0]
    assert t.numpy() is storage or np.shares_memory(t.numpy(), storage)
    assert version(t) == before + 5


def test_in_place_broadcasts_the_other_operand():
    t = cr.zeros(2, 3)
    t.add_(cr.tensor([1.0, 2.0, 3.0]))
    assert t.tolist() == [[1.0, 2.0, 3.0]] * 2
    with pytest.raises(cr.ShapeError):
        cr.zeros(3).add_(cr.ones(2, 3))  # the result would not fit t's shape


def test_in_place_keeps_the_dtype():
    t = cr.tensor([1, 2])
    t.mul_(3)
    assert t.dtype is cr.int64 and t.tolist() == [3, 6]
    with pytest.raises(DTypeError):
        t.mul_(0.5)  # a float result cannot be stored in an int tensor, as in PyTorch
    f = cr.tensor([1.0, 2.0])
    f.add_(cr.tensor([1.0, 1.0], dtype=cr.float64))
    assert f.dtype is cr.float32 and f.tolist() == [2.0, 3.0]


def test_zero_and_fill():
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    before = version(t)
    assert t.zero_() is t and t.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert t.fill_(2.5) is t and t.tolist() == [[2.5, 2.5], [2.5, 2.5]]
    t.fill_(cr.tensor(-1.0))
    assert t.tolist() == [[-1.0, -1.0], [-1.0, -1.0]]
    assert version(t) == before + 3
    i = cr.zeros(2, dtype=cr.int64).fill_(7)
    assert i.dtype is cr.int64 and i.tolist() == [7, 7]


def test_copy_broadcasts_and_casts_into_self():
    t = cr.zeros(2, 3)
    before = version(t)
    assert t.copy_(cr.tensor([1, 2, 3])) is t
    assert t.dtype is cr.float32 and t.tolist() == [[1.0, 2.0, 3.0]] * 2
    source = cr.ones(2, 3, dtype=cr.float64)
    t.copy_(source)
    source.mul_(5)
    assert t.tolist() == [[1.0] * 3] * 2  # a copy, not a view
    assert version(t) == before + 2


def test_in_place_on_a_detached_view_changes_the_original():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.detach().mul_(10)
    assert x.tolist() == [10.0, 20.0]


def test_numpy_array_and_list_operands_become_tensors_of_their_own_dtype():
    t = cr.ones(3, requires_grad=True)
    from_array = np.full(3, 2.0) * t  # ndarray defers to Tensor.__rmul__
    assert isinstance(from_array, cr.Tensor)
    assert from_array.dtype == cr.float64  # a float64 array promotes, as in PyTorch
    from_list = t + [1.0, 2.0, 3.0]
    assert from_list.dtype == cr.float32
    assert from_list.tolist() == [2.0, 3.0, 4.0]
    from_list.sum().backward()
    assert t.grad.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="expected numbers"):
        t + "a"


def test_max_along_dim_of_a_0d_tensor_is_the_element_at_index_0():
    x = cr.tensor(3.0, requires_grad=True)
    values, indices = x.max(dim=0)
    assert values.item() == 3.0 and indices.item() == 0 and indices.dtype == cr.int64
    values.backward()
    assert x.grad.item() == 1.0


def test_python_floats_with_a_float64_dtype_keep_every_digit():
    """As in PyTorch: torch.tensor([0.3], dtype=torch.float64).item() == 0.3 (no float32 rounding on the way)."""
    assert cr.tensor([0.3], dtype=cr.float64).item() == 0.3
    assert cr.tensor([[0.1, 0.2]], dtype=cr.float64).tolist() == [[0.1, 0.2]]
    assert cr.tensor(0.3, dtype=cr.float64).item() == 0.3
    assert cr.tensor([0.3]).dtype == cr.float32  # without a dtype: the default float dtype
