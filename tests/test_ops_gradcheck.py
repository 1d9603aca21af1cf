"""Finite-difference checks of every op, in float64.

Every row of ``op_cases.CASES`` goes through ``cr.autograd.gradcheck`` with contiguous and with
non-contiguous leaves, keeps float32 as float32, and (where its gradient depends on its inputs)
has its double backward checked by finite differences too. Hypothesis varies the shapes of the
elementwise ops, broadcasting binary ops and reductions. The last tests check gradcheck itself.
"""

import functools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_cases import CASES, make_inputs

import chainrule as cr
import chainrule.nn  # noqa: F401 - the pad cases call m.nn.functional.pad

IDS = [case.name for case in CASES]
SETTINGS = settings(max_examples=25, deadline=None)


def _op(case):
    return lambda *tensors: case.fn(cr, *tensors)


def _leaves(arrays):
    return [cr.from_numpy(np.asarray(array)).requires_grad_() for array in arrays]


def _as_tuple(outputs):
    return (outputs,) if isinstance(outputs, cr.Tensor) else tuple(outputs)


def _data(tensor):
    return tensor.detach().numpy()


def _noncontiguous(array):
    """The values of ``array`` in memory that is not C-contiguous: a transposed view for ndim ≥ 2,
    every other element of a twice-as-long array for 1-D (and for transposes that size-1 dims
    leave contiguous). 0-d arrays are copied: they have no layout to vary."""
    if array.ndim == 0:
        return array.copy()
    if array.ndim >= 2:
        view = np.ascontiguousarray(array.T).T  # stored with the reversed shape, seen through .T
        if not view.flags.c_contiguous:
            return view
    axis = int(np.argmax(array.shape))
    shape = list(array.shape)
    shape[axis] *= 2
    index = (slice(None),) * axis + (slice(None, None, 2),)
    base = np.zeros(shape, dtype=array.dtype)
    base[index] = array
    return base[index]


def _weights(shape, seed=1):
    """A fixed random float64 tensor v, so that (f(x) * v).sum() weighs every output differently."""
    return cr.from_numpy(np.random.default_rng(seed).standard_normal(shape))


def _grads(fn, inputs, create_graph=False):
    """d/dinputs of (fn(inputs) · v).sum(), None for inputs that fn does not use."""
    (output,) = _as_tuple(fn(*inputs))
    loss = (output * _weights(output.shape).to(output.dtype)).sum()
    return cr.autograd.grad(loss, inputs, create_graph=create_graph, allow_unused=True)


# ----------------------------------------------------------------- every op, float64


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case):
    inputs = _leaves(make_inputs(case))
    outputs = _as_tuple(_op(case)(*inputs))
    assert all(output.requires_grad for output in outputs), "the op dropped the graph"
    assert cr.autograd.gradcheck(_op(case), inputs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_noncontiguous(case):
    arrays = make_inputs(case)
    inputs = _leaves([_noncontiguous(array) for array in arrays])
    for leaf, array in zip(inputs, arrays):
        np.testing.assert_array_equal(_data(leaf), array)
        if array.size > 1:
            assert not _data(leaf).flags.c_contiguous
    assert cr.autograd.gradcheck(_op(case), inputs)

    # The same values and gradients as with contiguous inputs.
    contiguous = _leaves(arrays)
    np.testing.assert_allclose(_data(_op(case)(*inputs)), _data(_op(case)(*contiguous)), rtol=1e-12, atol=0)
    for got, expected in zip(_grads(_op(case), inputs), _grads(_op(case), contiguous)):
        assert (got is None) == (expected is None)
        if got is not None:
            np.testing.assert_allclose(_data(got), _data(expected), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_stays_float32(case):
    arrays = make_inputs(case)
    inputs = _leaves([array.astype(np.float32) for array in arrays])
    output = _op(case)(*inputs)
    assert output.dtype == cr.float32
    (output * _weights(output.shape).to(cr.float32)).sum().backward()

    reference = _grads(_op(case), _leaves(arrays))  # float64
    assert any(g is not None for g in reference)
    for position, (leaf, expected) in enumerate(zip(inputs, reference)):
        if expected is None:
            assert leaf.grad is None, f"input {position} is not used, yet got a gradient"
            continue
        assert leaf.grad is not None, f"input {position} got no gradient"
        assert leaf.grad.dtype == cr.float32, f"input {position}'s gradient is {leaf.grad.dtype}"
        assert leaf.grad.shape == leaf.shape
        np.testing.assert_allclose(_data(leaf.grad), _data(expected), rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_double_backward(case):
    inputs = _leaves(make_inputs(case))

    def first(*tensors):
        grads = _grads(_op(case), tensors, create_graph=True)
        return tuple(g for g in grads if g is not None and g.requires_grad)

    if not first(*inputs):
        # Only legitimate if the first gradient really does not depend on the inputs: it must
        # not change when the inputs move a little (piecewise-linear ops stay on their piece).
        rng = np.random.default_rng(2)
        moved = _leaves([array + 1e-4 * rng.standard_normal(array.shape) for array in make_inputs(case)])
        for here, there in zip(_grads(_op(case), inputs), _grads(_op(case), moved)):
            if here is not None:
                np.testing.assert_allclose(
                    _data(here),
                    _data(there),
                    rtol=0,
                    atol=1e-9,
                    err_msg="the first gradient changes with the inputs but has no graph (create_graph lost it)",
                )
        pytest.skip("linear in its inputs: the first gradient is constant, nothing to differentiate again")
    assert cr.autograd.gradcheck(first, inputs)


# ----------------------------------------------------------------- random shapes (hypothesis)

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
SEEDS = st.integers(0, 2**32 - 1)


def _away_from_zero(rng, shape):
    values = rng.standard_normal(shape)
    return np.where(values >= 0, values + 0.1, values - 0.1)


UNARY = [
    # name, op, NumPy reference, domain
    ("exp", lambda x: x.exp(), np.exp, "any"),
    ("tanh", lambda x: x.tanh(), np.tanh, "any"),
    ("sigmoid", lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), "any"),
    ("sin", lambda x: x.sin(), np.sin, "any"),
    ("cos", lambda x: x.cos(), np.cos, "any"),
    ("log", lambda x: x.log(), np.log, "positive"),
    ("sqrt", lambda x: x.sqrt(), np.sqrt, "positive"),
    ("abs", lambda x: x.abs(), np.abs, "away"),
    ("relu", lambda x: x.relu(), lambda a: np.maximum(a, 0), "away"),
]


@pytest.mark.parametrize("op, reference, domain", [row[1:] for row in UNARY], ids=[row[0] for row in UNARY])
@SETTINGS
@given(shape=SHAPES, seed=SEEDS)
def test_unary_random_shapes(op, reference, domain, shape, seed):
    rng = np.random.default_rng(seed)
    if domain == "positive":
        array = rng.uniform(0.2, 3.0, shape)
    elif domain == "away":
        array = _away_from_zero(rng, shape)
    else:
        array = rng.standard_normal(shape) * 2
    (x,) = _leaves([array])
    y = op(x)
    assert y.shape == shape and y.dtype == cr.float64
    np.testing.assert_allclose(_data(y), reference(array), rtol=1e-12, atol=1e-15)
    assert cr.autograd.gradcheck(op, (x,))


BINARY = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("div", lambda a, b: a / b, np.divide),
    ("maximum", cr.maximum, np.maximum),
]


@pytest.mark.parametrize("op, reference", [row[1:] for row in BINARY], ids=[row[0] for row in BINARY])
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3), seed=SEEDS)
def test_binary_broadcasting_random_shapes(op, reference, shapes, seed):
    rng = np.random.default_rng(seed)
    shape_a, shape_b = shapes.input_shapes
    # a and b on two interleaved grids: |a - b| ≥ 0.1 everywhere, so maximum has no ties, and
    # b > 0 only where it divides.
    a = rng.integers(-10, 10, shape_a) * 0.2 + 0.05
    b = rng.integers(-10, 10, shape_b) * 0.2 + 0.15
    if reference is np.divide:
        b = rng.uniform(0.5, 2.0, shape_b)
    inputs = _leaves([a, b])
    z = op(*inputs)
    assert z.shape == shapes.result_shape
    np.testing.assert_allclose(_data(z), reference(a, b), rtol=1e-12, atol=1e-15)
    assert cr.autograd.gradcheck(op, inputs)


@st.composite
def _reduction_arguments(draw, allow_none=True, allow_tuple=True):
    """(shape, dim, keepdim) with dim None, an int or a tuple of distinct dims (maybe negative)."""
    shape = draw(SHAPES)
    ndim = len(shape)
    kinds = ["int"] + ["none"] * allow_none + ["tuple"] * (allow_tuple and ndim > 0)
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        dim = None
    elif kind == "int":
        dim = draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        dim = tuple(draw(st.sampled_from([a, a - ndim])) for a in axes)
    return shape, dim, draw(st.booleans())


def _np_logsumexp(a, axis, keepdims):
    m = np.max(a, axis=axis, keepdims=True)
    y = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axis)


REDUCTIONS = [
    # name, op(x, dim, keepdim), NumPy reference(a, axis, keepdims), allows dim=None, allows tuples
    ("sum", lambda x, d, k: x.sum(dim=d, keepdim=k), np.sum, True, True),
    ("mean", lambda x, d, k: x.mean(dim=d, keepdim=k), np.mean, True, True),
    ("amax", lambda x, d, k: x.amax(dim=d, keepdim=k), np.max, True, True),
    ("var", lambda x, d, k: x.var(dim=d, keepdim=k), functools.partial(np.var, ddof=1), True, True),
    ("std", lambda x, d, k: x.std(dim=d, keepdim=k), functools.partial(np.std, ddof=1), True, True),
    ("prod", lambda x, d, k: x.prod(dim=d, keepdim=k), np.prod, True, False),
    ("logsumexp", lambda x, d, k: x.logsumexp(dim=d, keepdim=k), _np_logsumexp, False, True),
]


@pytest.mark.parametrize("name, op, reference, allow_none, allow_tuple", REDUCTIONS, ids=[row[0] for row in REDUCTIONS])
@SETTINGS
@given(data=st.data(), seed=SEEDS)
def test_reduction_random_shapes(name, op, reference, allow_none, allow_tuple, data, seed):
    shape, dim, keepdim = data.draw(_reduction_arguments(allow_none, allow_tuple))
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    # Distinct values (amax has no ties), of magnitude 0.5 to 1.5 (prod neither vanishes nor explodes).
    array = (rng.permutation(size) + rng.uniform(0.1, 0.9, size)).reshape(shape) / max(size, 1) + 0.5
    array = array * rng.choice([-1.0, 1.0], shape)
    (x,) = _leaves([array])
    axis = None if dim is None or not shape else dim  # NumPy has no axis 0 in a 0-d array
    out_shape = np.sum(array, axis=axis, keepdims=keepdim).shape

    if name in ("var", "std") and size == int(np.prod(out_shape)):
        # One element per slice: n - 1 = 0, so the value and the gradient are NaN, as in PyTorch.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            y = op(x, dim, keepdim)
            (grad,) = cr.autograd.grad(y.sum(), x)
        assert np.isnan(_data(y)).all() and np.isnan(_data(grad)).all()
        return
    expected = reference(array, axis=axis, keepdims=keepdim)
    y = op(x, dim, keepdim)
    assert y.shape == out_shape
    np.testing.assert_allclose(_data(y), expected, rtol=1e-12, atol=1e-15)
    assert cr.autograd.gradcheck(lambda t: op(t, dim, keepdim), (x,))


# ----------------------------------------------------------------- gradcheck itself


class ScaleWithWrongElement(cr.autograd.Function):
    """y = 3x, with a backward that is wrong at exactly one element (1, 2)."""

    def forward(self, x):
        return 3 * x

    def backward(self, grad):
        wrong = grad * 3
        wrong[1, 2] *= 2
        return wrong


class Scale(cr.autograd.Function):
    """y = 3x.   dy/dx = 3"""

    def forward(self, x):
        return 3 * x

    def backward(self, grad):
        return grad * 3


class MulWithWrongSecondGradient(cr.autograd.Function):
    """z = a · b, with ∂z/∂b forgotten to be a (it returns b)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved
        return grad * b, grad * b


def _leaf(shape, seed=0):
    return cr.from_numpy(np.random.default_rng(seed).uniform(0.5, 2.0, shape)).requires_grad_()


def test_gradcheck_catches_a_wrong_backward_and_names_the_element():
    x = _leaf((3, 4))
    with pytest.raises(cr.GradcheckError) as error:
        cr.autograd.gradcheck(lambda t: ScaleWithWrongElement()(t), (x,))
    message = str(error.value)
    assert "output 0" in message and "input 0" in message
    assert "output element (1, 2)" in message and "input element (1, 2)" in message
    assert "numerical 3" in message and "analytical 6" in message


def test_gradcheck_names_the_input_whose_gradient_is_wrong():
    a, b = _leaf((2, 3), seed=1), _leaf((2, 3), seed=2)
    with pytest.raises(cr.GradcheckError, match="with respect to input 1"):
        cr.autograd.gradcheck(lambda p, q: MulWithWrongSecondGradient()(p, q), (a, b))


def test_gradcheck_without_raising_returns_false_for_a_wrong_backward():
    x = _leaf((3, 4))
    assert cr.autograd.gradcheck(lambda t: ScaleWithWrongElement()(t), (x,), raise_exception=False) is False


def test_gradcheck_returns_true_for_a_correct_backward():
    x = _leaf((3, 4))
    assert cr.autograd.gradcheck(lambda t: Scale()(t), (x,)) is True
    assert cr.autograd.gradcheck(lambda t: Scale()(t), (x,), raise_exception=False) is True


def test_gradcheck_checks_float32_inputs_in_float64():
    x = cr.from_numpy(np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)).requires_grad_()
    assert cr.autograd.gradcheck(lambda t: t.tanh() * t, (x,)) is True
    assert cr.autograd.gradcheck(lambda t: ScaleWithWrongElement()(t), (x,), raise_exception=False) is False
    assert x.dtype == cr.float32 and x.grad is None  # the caller's tensor is left alone


def test_gradcheck_needs_an_input_that_requires_grad():
    x = cr.from_numpy(np.ones((2, 2)))
    with pytest.raises(ValueError, match="requires_grad"):
        cr.autograd.gradcheck(lambda t: t * 2, (x,))
