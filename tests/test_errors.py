"""A user mistake raises an error of the right type that names what was expected and what was
found (DESIGN §3): both shapes, both dtypes, the offending dim."""

import pytest

import chainrule as cr
from chainrule import DTypeError, GraphError, ShapeError


def test_error_types_are_builtin_subclasses():
    # Code written for PyTorch catches RuntimeError / ValueError / TypeError.
    assert issubclass(ShapeError, RuntimeError) and issubclass(ShapeError, ValueError)
    assert issubclass(DTypeError, RuntimeError) and issubclass(DTypeError, TypeError)
    assert issubclass(GraphError, RuntimeError)


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    "op",
    [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b, cr.add, cr.maximum],
    ids=["add", "sub", "mul", "div", "cr.add", "maximum"],
)
def test_elementwise_shape_mismatch_names_both_shapes(op):
    a, b = cr.ones(2, 3), cr.ones(4)
    with pytest.raises(ShapeError) as info:
        op(a, b)
    message = str(info.value)
    assert "(2, 3)" in message and "(4,)" in message


def test_add_shape_mismatch_with_requires_grad_names_both_shapes():
    a = cr.ones(2, 3, requires_grad=True)
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(3, 2\)"):
        a + cr.ones(3, 2)


def test_add_shape_mismatch_is_not_silently_broadcast():
    # (3,) + (4,) must not become anything: broadcasting only stretches dims of size 1.
    with pytest.raises(ShapeError):
        cr.ones(3) + cr.ones(4)


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [((2, 3), (2, 2)), ((5, 2, 3), (4, 7)), ((3,), (4,)), ((3,), (2, 5))],
)
def test_matmul_shape_mismatch_names_both_shapes(shape_a, shape_b):
    a, b = cr.ones(*shape_a), cr.ones(*shape_b)
    with pytest.raises(ShapeError) as info:
        a @ b
    message = str(info.value)
    assert str(shape_a) in message and str(shape_b) in message


def test_matmul_of_a_0d_tensor_raises_shape_error():
    with pytest.raises(ShapeError, match=r"\(\)"):
        cr.matmul(cr.tensor(2.0), cr.ones(2))


def test_matmul_float32_float64_raises_dtype_error_naming_both():
    a = cr.ones(2, 3)
    b = cr.ones(3, 2, dtype=cr.float64)
    with pytest.raises(DTypeError) as info:
        a @ b
    message = str(info.value)
    assert "float32" in message and "float64" in message
    with pytest.raises(DTypeError, match="float64.*float32"):
        b.T @ a.T


def test_reshape_to_incompatible_shape_names_both_shapes():
    x = cr.ones(2, 3)
    with pytest.raises(ShapeError) as info:
        x.reshape(4, 2)
    message = str(info.value)
    assert "(4, 2)" in message and "(2, 3)" in message
    with pytest.raises(ShapeError, match=r"\(5,\).*\(2, 3\)"):
        x.view(5)


def test_item_of_a_multi_element_tensor_names_the_shape():
    with pytest.raises(ShapeError, match=r"\(2, 2\)"):
        cr.ones(2, 2).item()


def test_cat_with_mismatched_shapes_names_both_shapes():
    with pytest.raises(ShapeError) as info:
        cr.cat([cr.ones(2, 3), cr.ones(2, 2)])
    assert "(2, 2)" in str(info.value) and "(2, 3)" in str(info.value)


# ---------------------------------------------------------------- dims
@pytest.mark.parametrize(
    "call, dim",
    [
        (lambda x: x.sum(dim=5), 5),
        (lambda x: x.mean(-3), -3),
        (lambda x: x.softmax(dim=2), 2),
        (lambda x: x.unsqueeze(4), 4),
        (lambda x: x.transpose(0, 3), 3),
        (lambda x: x.argmax(dim=2), 2),
        (lambda x: x.max(dim=7), 7),
        (lambda x: x.squeeze(3), 3),
    ],
    ids=["sum", "mean", "softmax", "unsqueeze", "transpose", "argmax", "max", "squeeze"],
)
def test_bad_dim_raises_index_error_naming_the_dim(call, dim):
    x = cr.ones(2, 3)
    with pytest.raises(IndexError) as info:
        call(x)
    assert str(dim) in str(info.value)


def test_index_out_of_bounds_names_index_and_shape():
    with pytest.raises(IndexError) as info:
        cr.ones(2, 3)[5]
    assert "5" in str(info.value) and "(2, 3)" in str(info.value)


# ---------------------------------------------------------------- autograd misuse
def test_non_scalar_backward_without_gradient_names_the_shape():
    x = cr.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(GraphError, match=r"\(2, 3\)"):
        y.backward()
    assert x.grad is None


def test_single_element_non_scalar_backward_needs_no_gradient():
    # Only one element: the implicit gradient 1 is unambiguous, as in PyTorch.
    x = cr.ones(1, 1, requires_grad=True)
    (x * 3).backward()
    assert x.grad.tolist() == [[3.0]]


def test_backward_on_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(GraphError, match="does not require grad"):
        cr.ones(3).sum().backward()


def test_backward_on_a_result_computed_under_no_grad_raises():
    x = cr.ones(3, requires_grad=True)
    with cr.no_grad():
        y = (x * 2).sum()
    with pytest.raises(GraphError):
        y.backward()


def test_gradient_argument_of_the_wrong_shape_names_both_shapes():
    x = cr.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(ShapeError) as info:
        y.backward(cr.ones(3, 2))
    message = str(info.value)
    assert "(3, 2)" in message and "(2, 3)" in message


def test_requires_grad_on_an_int_tensor_raises():
    with pytest.raises(DTypeError, match="int64"):
        cr.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(DTypeError, match="int64"):
        cr.arange(3).requires_grad_()
    with pytest.raises(DTypeError, match="bool"):
        cr.tensor([True, False]).requires_grad_()
    t = cr.arange(3)
    with pytest.raises(DTypeError):
        t.requires_grad_()
    assert t.requires_grad is False


def test_requires_grad_false_on_a_non_leaf_raises():
    y = cr.ones(2, requires_grad=True) * 2
    with pytest.raises(GraphError, match="detach"):
        y.requires_grad_(False)


def test_grad_of_an_input_that_does_not_require_grad_raises():
    x = cr.ones(2, requires_grad=True)
    c = cr.ones(2)
    with pytest.raises(GraphError, match="input 1"):
        cr.autograd.grad((x * c).sum(), [x, c])


def test_unsupported_dtype_is_refused_at_creation():
    with pytest.raises(TypeError):
        cr.tensor(["a", "b"])
    with pytest.raises(TypeError):
        cr.tensor([1 + 2j])


def test_ragged_nested_list_is_refused():
    with pytest.raises(ValueError):
        cr.tensor([[1.0, 2.0], [3.0]])
