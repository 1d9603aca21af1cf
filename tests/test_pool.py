"""Pooling (F.max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d and their modules) and Dropout2d.

Against PyTorch: tests/fixtures/torch_pool.npz, from scripts/make_torch_fixtures_pool.py, which
also defines the cases (outputs, input gradients, return_indices, reprs). By float64 finite
differences: first order on inputs without ties, and double backward. The tests never import torch.
"""

import functools
import json
import pathlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.errors import DTypeError, ShapeError

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_pool.npz"


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


CASES = {case[0]: case for case in json.loads(str(reference()["cases"]))}
MODULES = json.loads(str(reference()["modules"]))
MAX_CASES = [name for name, function, *_ in CASES.values() if function.startswith("max")]
SMOOTH_CASES = [name for name, *_, kind in CASES.values() if kind == "distinct"]


def call_kwargs(kwargs):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}


def run(name, x, via_module=False):
    _, function, _, kwargs, _ = CASES[name]
    if via_module:
        return getattr(nn, MODULES[function])(**call_kwargs(kwargs))(x)
    return getattr(F, function)(x, **call_kwargs(kwargs))


PRECISIONS = [
    # max pooling is exact; sums over a window are in PyTorch's order; adaptive pooling's matmul is not
    pytest.param(cr.float64, "", 1e-12, 1e-14, id="float64"),
    pytest.param(cr.float32, "_32", 1e-6, 1e-6, id="float32"),
]


# ----------------------------------------------------------------- every configuration vs PyTorch


@pytest.mark.parametrize("dtype, suffix, rtol, atol", PRECISIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_output_and_input_grad_match_pytorch(name, dtype, suffix, rtol, atol):
    ref, prefix = reference(), f"case/{name}"
    x = cr.tensor(ref[f"{prefix}/x"], dtype=dtype, requires_grad=True)
    out = run(name, x)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.detach().numpy(), ref[f"{prefix}/out{suffix}"], rtol=rtol, atol=atol, equal_nan=True)
    (out * cr.tensor(ref[f"{prefix}/v"], dtype=dtype)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref[f"{prefix}/grad_x{suffix}"], rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", list(CASES))
def test_module_matches_pytorch_and_its_repr(name):
    ref, prefix = reference(), f"case/{name}"
    _, function, _, kwargs, _ = CASES[name]
    module = getattr(nn, MODULES[function])(**call_kwargs(kwargs))
    assert repr(module) == str(ref[f"repr/{name}"])
    assert module.state_dict() == {} and list(module.parameters()) == []  # as PyTorch: no parameters
    x = cr.tensor(ref[f"{prefix}/x"], dtype=cr.float64, requires_grad=True)
    out = module(x)
    np.testing.assert_allclose(out.detach().numpy(), ref[f"{prefix}/out"], rtol=1e-12, atol=1e-14, equal_nan=True)
    (out * cr.tensor(ref[f"{prefix}/v"])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref[f"{prefix}/grad_x"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", MAX_CASES)
def test_return_indices_equal_pytorch(name):
    ref, prefix = reference(), f"case/{name}"
    _, function, _, kwargs, _ = CASES[name]
    x = cr.tensor(ref[f"{prefix}/x"], dtype=cr.float64)
    out, indices = getattr(F, function)(x, **call_kwargs(kwargs), return_indices=True)
    assert indices.dtype == cr.int64
    np.testing.assert_array_equal(indices.numpy(), ref[f"{prefix}/indices"])
    np.testing.assert_allclose(out.detach().numpy(), ref[f"{prefix}/out"], equal_nan=True)
    module_out, module_indices = getattr(nn, MODULES[function])(**call_kwargs(kwargs), return_indices=True)(x)
    np.testing.assert_array_equal(module_indices.numpy(), ref[f"{prefix}/indices"])


def test_non_contiguous_input_takes_the_same_windows():
    ref, prefix = reference(), "case/max2d_k2"
    x = ref[f"{prefix}/x"]
    view = cr.tensor(np.ascontiguousarray(x.swapaxes(2, 3)), requires_grad=True)
    out = F.max_pool2d(view.transpose(2, 3), 2)  # a strided view of the same values
    np.testing.assert_array_equal(out.detach().numpy(), ref[f"{prefix}/out"])
    (out * cr.tensor(ref[f"{prefix}/v"])).sum().backward()
    np.testing.assert_array_equal(view.grad.numpy().swapaxes(2, 3), ref[f"{prefix}/grad_x"])


def test_dropout2d_repr_matches_pytorch():
    assert repr(nn.Dropout2d(0.3)) == str(reference()["repr/Dropout2d"])


# ----------------------------------------------------------------- finite differences, float64


@pytest.mark.parametrize("name", SMOOTH_CASES)
def test_gradcheck(name):
    x = cr.tensor(reference()[f"case/{name}/x"], requires_grad=True)
    assert cr.autograd.gradcheck(lambda x: run(name, x), (x,))


@pytest.mark.parametrize(
    "name", ["max2d_k2", "max2d_k3_s2_p1", "max1d_ceil", "avg2d_k2", "avg2d_ceil_exclude_pad", "adaptive_not_dividing"]
)
def test_double_backward_gradcheck(name):
    """∂L/∂x built with create_graph is itself differentiable, in x and in the upstream gradient v."""
    ref = reference()
    x = cr.tensor(ref[f"case/{name}/x"], requires_grad=True)
    v = cr.tensor(ref[f"case/{name}/v"], requires_grad=True)

    def input_grad(x, v):
        (grad_x,) = cr.autograd.grad((run(name, x) * v).sum(), x, create_graph=True)
        return grad_x * grad_x  # non-linear in v, so that backward runs through the first backward's graph

    assert cr.autograd.gradcheck(input_grad, (x, v))


# ----------------------------------------------------------------- ties and NaN, by hand


def test_tied_window_sends_its_gradient_to_the_first_maximum():
    x = cr.tensor([[[[1.0, 1.0, 0.0, 2.0], [1.0, 0.5, 2.0, 2.0]]]], requires_grad=True)  # (1, 1, 2, 4)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0, 0, 1], [0, 0, 0, 0]])
    _, indices = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(indices.numpy()[0, 0], [[0, 3]])


def test_one_element_windows_copy_the_input_and_pass_every_gradient():
    x = cr.tensor([[[[1.0, float("nan")], [-2.0, 3.0]]]], requires_grad=True)  # (1, 1, 2, 2)
    y = F.max_pool2d(x, 1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((1, 1, 2, 2)))
    y.data[0, 0, 0, 0] = 7.0  # the output is a new array, not a view of x
    assert x.detach().numpy()[0, 0, 0, 0] == 1.0


def test_overlapping_windows_add_their_gradients():
    x = cr.tensor([[[0.0, 5.0, 1.0, 2.0, 0.0]]], requires_grad=True)  # 5.0 is the max of two windows
    F.max_pool1d(x, 3, stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [0, 2, 0, 1, 0])


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: F.max_pool2d(cr.randn(2, 3, 4), 5), ShapeError, ["max_pool2d", "(2, 3, 4)", "too small"]),
        (lambda: nn.MaxPool2d(2)(cr.randn(4, 4)), ShapeError, ["MaxPool2d", "3-D", "4-D", "(4, 4)"]),
        (lambda: nn.AvgPool1d(2)(cr.randn(2, 2, 2, 4)), ShapeError, ["AvgPool1d", "(N, C, L)", "(2, 2, 2, 4)"]),
        (lambda: F.max_pool2d(cr.randn(1, 1, 6, 6), 2, padding=2), ValueError, ["padding", "half", "(2, 2)"]),
        (lambda: F.avg_pool2d(cr.randn(1, 1, 6, 6), 0), ValueError, ["kernel_size", ">= 1"]),
        (lambda: F.max_pool1d(cr.randn(1, 1, 6), (2, 2)), ValueError, ["kernel_size", "1 ints"]),
        (lambda: F.max_pool2d(cr.ones(1, 1, 4, 4, dtype=cr.int64), 2), DTypeError, ["floating-point", "int64"]),
        (lambda: F.avg_pool2d(cr.randn(1, 1, 4, 4), 2, divisor_override=0), ValueError, ["divisor_override"]),
        (lambda: nn.AdaptiveAvgPool2d((2, 0))(cr.randn(1, 1, 4, 4)), ValueError, ["AdaptiveAvgPool2d", "(2, 0)"]),
        (lambda: F.adaptive_avg_pool2d(cr.randn(1, 0, 4, 4), 2), ShapeError, ["adaptive_avg_pool2d", "(1, 0, 4, 4)"]),
        (lambda: F.dropout2d(cr.randn(4, 5)), ShapeError, ["dropout2d", "(4, 5)"]),
        (lambda: nn.Dropout2d(1.5), ValueError, ["between 0 and 1", "1.5"]),
    ],
)
def test_bad_arguments_say_what_was_expected_and_found(call, error, words):
    with pytest.raises(error) as caught:
        call()
    for word in words:
        assert word in str(caught.value)


# ----------------------------------------------------------------- Dropout2d


def test_dropout2d_zeroes_whole_channels_at_rate_p_and_scales_the_rest():
    cr.manual_seed(0)
    x = cr.ones(64, 32, 3, 4, requires_grad=True)
    y = nn.Dropout2d(0.3)(x)
    maps = y.detach().numpy().reshape(64, 32, 12)
    assert np.all(maps == maps[:, :, :1])  # each (sample, channel) map is one value ...
    values = set(np.unique(maps).tolist())
    assert values == {0.0, np.float32(1 / 0.7).item()}  # ... 0 or 1/(1-p)
    dropped = float((maps[:, :, 0] == 0).mean())  # 2048 channels: standard error 0.01
    assert abs(dropped - 0.3) < 0.05
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # ∂y/∂x is the scaled mask


def test_dropout2d_unbatched_input_is_one_sample_of_channels():
    cr.manual_seed(1)
    y = F.dropout2d(cr.ones(200, 3, 3), p=0.5).numpy().reshape(200, 9)
    assert np.all(y == y[:, :1]) and set(np.unique(y).tolist()) == {0.0, 2.0}


def test_dropout2d_is_the_identity_in_eval_mode_and_for_p_zero():
    x = cr.randn(4, 3, 5, 5)
    drop = nn.Dropout2d(0.5).eval()
    assert drop(x) is x
    assert F.dropout2d(x, 0.5, training=False) is x
    assert F.dropout2d(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout2d(x, 1.0).numpy(), np.zeros((4, 3, 5, 5), np.float32))


def test_dropout2d_repeats_with_the_seed():
    cr.manual_seed(7)
    first = F.dropout2d(cr.ones(8, 6, 2, 2)).numpy()
    cr.manual_seed(7)
    np.testing.assert_array_equal(F.dropout2d(cr.ones(8, 6, 2, 2)).numpy(), first)
