"""Convolutions against PyTorch (tests/fixtures/torch_conv.npz, from scripts/make_torch_fixtures_conv.py),
by finite differences, and their layers' parameters, init and errors. The tests never import torch."""

import functools
import json
import math
import pathlib
import zlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_conv.npz"
RTOL64, ATOL64 = 1e-10, 1e-12  # same sums, different order of rounding
RTOL32, ATOL32 = 1e-5, 1e-5  # sums of up to 100 products of N(0, 1) values, rounded to float32


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def values(name, shape, part):
    """The fixture script's inputs: N(0, 1) from a seed made of the case's name and the array's part."""
    return np.random.default_rng([zlib.crc32(name.encode()), part]).standard_normal(shape)


CASES = json.loads(str(reference()["cases"]))
MODULES = json.loads(str(reference()["modules"]))
DOUBLE = [case for case in CASES if case[6]]
PRECISIONS = [
    pytest.param(cr.float64, "", RTOL64, ATOL64, id="float64"),
    pytest.param(cr.float32, "_32", RTOL32, ATOL32, id="float32"),
]


def case_inputs(case, dtype=cr.float64):
    name, function, x_shape, w_shape, has_bias, kwargs, _ = case
    arrays = {"x": values(name, x_shape, 0), "weight": values(name, w_shape, 1)}
    if has_bias:
        channels = w_shape[1] * kwargs.get("groups", 1) if "transpose" in function else w_shape[0]
        arrays["bias"] = values(name, (channels,), 2)
    return {key: cr.tensor(array, dtype=dtype, requires_grad=True) for key, array in arrays.items()}


def case_function(case):
    _, function, *_, kwargs, _ = case
    fn = getattr(F, function)
    return lambda x, weight, bias=None: fn(x, weight, bias, **kwargs)


@pytest.mark.parametrize("dtype, suffix, rtol, atol", PRECISIONS)
@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_functional_matches_pytorch(case, dtype, suffix, rtol, atol, kernel_threads):
    ref, prefix = reference(), f"fn/{case[0]}"
    inputs = case_inputs(case, dtype)
    out = case_function(case)(**inputs)
    assert out.dtype == dtype and out.shape == ref[f"{prefix}/out"].shape
    np.testing.assert_allclose(out.detach().numpy(), ref[f"{prefix}/out{suffix}"], rtol=rtol, atol=atol)
    v = cr.tensor(values(case[0], out.shape, 3), dtype=dtype)
    (out * v).sum().backward()
    for key, tensor in inputs.items():
        assert tensor.grad.dtype == dtype, key
        np.testing.assert_allclose(
            tensor.grad.numpy(), ref[f"{prefix}/grad_{key}{suffix}"], rtol=rtol, atol=atol, err_msg=key
        )


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_functional_gradcheck(case):
    inputs = case_inputs(case)
    assert cr.autograd.gradcheck(case_function(case), tuple(inputs.values()))


@pytest.mark.parametrize("case", DOUBLE, ids=[case[0] for case in DOUBLE])
def test_double_backward_matches_pytorch(case, kernel_threads):
    ref, prefix = reference(), f"fn/{case[0]}"
    inputs = case_inputs(case)
    out = case_function(case)(**inputs)
    v = cr.tensor(values(case[0], out.shape, 3))
    grads = cr.autograd.grad((out * v).sum(), list(inputs.values()), create_graph=True)
    grads = dict(zip(inputs, grads))
    second = sum(
        (grads[key] * cr.tensor(values(case[0], inputs[key].shape, 4 + i))).sum()
        for i, key in enumerate(("x", "weight"))
    )
    grad2_x, grad2_w = cr.autograd.grad(second, [inputs["x"], inputs["weight"]], allow_unused=True)
    for key, grad2 in (("x", grad2_x), ("weight", grad2_w)):
        got = np.zeros(inputs[key].shape) if grad2 is None else grad2.numpy()
        np.testing.assert_allclose(got, ref[f"{prefix}/grad2_{key}"], rtol=RTOL64, atol=ATOL64, err_msg=key)


@pytest.mark.parametrize("name", ["2d_groups2_stride2", "t2d_k3_s2_p1_op1", "1d_k3_pad1"])
def test_double_backward_gradcheck(name):
    """The first derivatives (x, w) -> (∂L/∂x, ∂L/∂w) are differentiated by finite differences too."""
    case = next(case for case in CASES if case[0] == name)
    inputs = case_inputs(case)
    fn = case_function(case)
    v = cr.tensor(values(name, fn(**inputs).shape, 3))

    def first_derivatives(x, weight, bias):
        return cr.autograd.grad((fn(x, weight, bias) * v).sum(), (x, weight, bias), create_graph=True)

    assert cr.autograd.gradcheck(first_derivatives, (inputs["x"], inputs["weight"], inputs["bias"]))


# ----------------------------------------------------------------- layers


def build(case, dtype=cr.float64):
    name, cls, kwargs, _ = case
    module = getattr(nn, cls)(**kwargs).to(dtype)
    with cr.no_grad():
        for i, (pname, param) in enumerate(module.named_parameters()):
            param.copy_(values(f"{name}/{pname}", param.shape, 10 + i))
    return module


@pytest.mark.parametrize("case", MODULES, ids=[case[0] for case in MODULES])
def test_module_matches_pytorch(case, kernel_threads):
    ref, prefix = reference(), f"module/{case[0]}"
    module = build(case)
    state = module.state_dict()
    assert list(state) == list(ref[f"{prefix}/keys"])
    assert [str(tuple(t.shape)) for t in state.values()] == list(ref[f"{prefix}/shapes"])
    assert repr(module) == str(ref[f"{prefix}/repr"])
    x = cr.tensor(values(case[0], case[3], 0), requires_grad=True)
    out = module(x)
    np.testing.assert_allclose(out.detach().numpy(), ref[f"{prefix}/out"], rtol=RTOL64, atol=ATOL64)
    (out * cr.tensor(values(case[0], out.shape, 3))).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref[f"{prefix}/grad_x"], rtol=RTOL64, atol=ATOL64)
    for pname, param in module.named_parameters():
        np.testing.assert_allclose(
            param.grad.numpy(), ref[f"{prefix}/grad/{pname}"], rtol=RTOL64, atol=ATOL64, err_msg=pname
        )


@pytest.mark.parametrize("case", MODULES, ids=[case[0] for case in MODULES])
def test_module_gradcheck(case):
    module = build(case)
    x = cr.tensor(values(case[0], case[3], 0), requires_grad=True)
    assert cr.autograd.gradcheck(lambda x: module(x), (x,))


def test_conv_transpose_output_size_matches_pytorch():
    module = nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1, dtype=cr.float64)
    with cr.no_grad():
        module.weight.copy_(values("output_size", module.weight.shape, 1))
        module.bias.copy_(values("output_size", (3,), 2))
    out = module(cr.tensor(values("output_size", (1, 2, 4, 4), 0)), output_size=(1, 3, 11, 12))
    np.testing.assert_allclose(out.detach().numpy(), reference()["output_size/out"], rtol=RTOL64, atol=ATOL64)
    with pytest.raises(ValueError, match="valid sizes range from 10 to 12"):
        module(cr.ones(1, 2, 4, 4), output_size=(13, 12))


@pytest.mark.parametrize(
    "make, fan_in",
    [
        (lambda: nn.Conv2d(16, 32, 3), 16 * 9),
        (lambda: nn.Conv2d(16, 32, (3, 5), groups=4), 4 * 15),
        (lambda: nn.Conv1d(8, 64, 7), 8 * 7),
        (lambda: nn.ConvTranspose2d(32, 16, 4, groups=2), 8 * 16),
    ],
    ids=["conv2d", "conv2d_groups", "conv1d", "conv_transpose2d"],
)
def test_default_init_is_pytorchs_distribution(make, fan_in):
    """kaiming_uniform_(a=√5) gives U(±1/√fan_in) for the weight; the bias is U(±1/√fan_in) too."""
    cr.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for tensor in (layer.weight, layer.bias):
        values_ = tensor.detach().numpy()
        assert np.abs(values_).max() <= bound
        std = bound / math.sqrt(3)  # U(-b, b): mean 0, std b/√3
        assert abs(values_.mean()) < 5 * std / math.sqrt(values_.size)
    weight = layer.weight.detach().numpy()
    assert abs(weight.std() - std) < 5 * 0.45 * std / math.sqrt(weight.size)
    assert np.abs(weight).max() > 0.98 * bound
    cr.manual_seed(0)
    np.testing.assert_array_equal(make().weight.detach().numpy(), weight)


def test_parameter_shapes_and_attributes_are_pytorchs():
    conv = nn.Conv2d(6, 12, (3, 5), stride=2, padding=1, groups=3, bias=False, dtype=cr.float64)
    assert conv.weight.shape == (12, 2, 3, 5) and conv.bias is None and conv.weight.dtype == cr.float64
    assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation) == ((3, 5), (2, 2), (1, 1), (1, 1))
    assert [name for name, _ in conv.named_parameters()] == ["weight"]
    up = nn.ConvTranspose2d(6, 12, 3, groups=3)
    assert up.weight.shape == (6, 4, 3, 3) and up.bias.shape == (12,)
    assert nn.Conv1d(4, 2, 3).weight.shape == (2, 4, 3)
    assert nn.Conv2d(2, 2, 3, padding="same").padding == "same"


def test_load_state_dict_from_pytorch_layout_arrays():
    conv = nn.Conv2d(3, 4, 3)
    state = {"weight": np.ones((4, 3, 3, 3), np.float32), "bias": np.zeros(4, np.float32)}
    conv.load_state_dict(state)
    np.testing.assert_array_equal(conv(cr.ones(1, 3, 3, 3)).detach().numpy(), np.full((1, 4, 1, 1), 27.0))
    with pytest.raises(Exception, match=r"weight.*\(4, 3, 3, 3\)"):
        conv.load_state_dict({"weight": np.ones((4, 3, 5, 5), np.float32), "bias": np.zeros(4, np.float32)})


# ----------------------------------------------------------------- behaviour beyond the fixtures


def test_non_contiguous_input_gives_the_same_result():
    x = cr.randn(2, 7, 7, 3, dtype=cr.float64)
    w = cr.randn(4, 3, 3, 3, dtype=cr.float64)
    strided = x.permute(0, 3, 1, 2)  # (2, 3, 7, 7), not contiguous
    contiguous = cr.tensor(np.ascontiguousarray(strided.numpy()))
    for padding in (0, 1):
        np.testing.assert_allclose(
            F.conv2d(strided, w, padding=padding).numpy(), F.conv2d(contiguous, w, padding=padding).numpy(), rtol=1e-12
        )


def test_backward_skips_unneeded_gradients_and_matches_explicit_sum():
    x = cr.randn(2, 3, 5, 5, dtype=cr.float64)
    w = cr.randn(4, 3, 3, 3, dtype=cr.float64, requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None
    # ∂/∂w[o, c, i, j] of Σ y = Σ over samples and positions of the input window's (i, j) entry
    windows = np.lib.stride_tricks.sliding_window_view(x.numpy(), (3, 3), axis=(2, 3))  # (2, 3, 3, 3, 3, 3)
    expected = np.broadcast_to(windows.sum(axis=(0, 2, 3)), (4, 3, 3, 3))
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12)


def test_lenet_shapes_train_one_step():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, padding=1, stride=2))
    x = cr.randn(4, 1, 28, 28)
    loss = model(x).pow(2).mean()
    loss.backward()
    assert model(x).shape == (4, 4, 14, 14)
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


# ----------------------------------------------------------------- errors


def test_layer_errors_name_the_layer_and_shapes():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(cr.ShapeError, match=r"Conv2d expected input with 3 channels, got \(N=8, C=1, 28, 28\)"):
        conv(cr.ones(8, 1, 28, 28))
    with pytest.raises(cr.ShapeError, match=r"Conv2d expected input with 3 channels, got \(C=1, 28, 28\)"):
        conv(cr.ones(1, 28, 28))
    with pytest.raises(
        cr.ShapeError, match=r"Conv2d expected 3-D \(unbatched\) or 4-D \(batched\) input, got shape \(8, 784\)"
    ):
        conv(cr.ones(8, 784))
    with pytest.raises(cr.ShapeError, match=r"ConvTranspose2d expected input with 4 channels, got \(N=2, C=3, 5, 5\)"):
        nn.ConvTranspose2d(4, 2, 3)(cr.ones(2, 3, 5, 5))
    with pytest.raises(cr.ShapeError, match="smaller than the dilated kernel"):
        nn.Conv2d(1, 1, 5)(cr.ones(1, 1, 3, 3))
    with pytest.raises(cr.DTypeError, match="float64"):
        conv(cr.ones(1, 3, 5, 5, dtype=cr.float64))
    model = nn.Sequential(nn.Sequential(nn.Identity(), conv))  # inside a model: the layer's dotted name too
    with pytest.raises(cr.ShapeError, match=r"^Conv2d '0.1' expected input with 3 channels, got \(N=8, C=1, 28, 28\)"):
        model(cr.ones(8, 1, 28, 28))


def test_constructor_errors():
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups \\(2\\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels \\(3\\) must be divisible by groups \\(2\\)"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="invalid padding string 'full'"):
        nn.Conv1d(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="only 'zeros' padding mode"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="kernel_size must be an int or a tuple of 2 ints"):
        nn.Conv2d(1, 1, (3, 3, 3))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        nn.Conv2d(1, 1, 3, stride=0)


def test_functional_errors():
    x, w = cr.ones(2, 4, 6, 6), cr.ones(6, 2, 3, 3)
    with pytest.raises(cr.ShapeError, match=r"expected input with 4 channels \(groups=2 x weight's 2 per group"):
        F.conv2d(cr.ones(2, 3, 6, 6), w, groups=2)
    with pytest.raises(cr.ShapeError, match="not divisible by groups=4"):
        F.conv2d(x, w, groups=4)
    with pytest.raises(cr.ShapeError, match=r"expected bias of shape \(6,\), got \(4,\)"):
        F.conv2d(x, w, cr.ones(4), groups=2)
    with pytest.raises(cr.ShapeError, match=r"3-D \(unbatched\) or 4-D \(batched\) input"):
        F.conv2d(cr.ones(6, 6), w)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        F.conv1d(cr.ones(1, 1, 8), cr.ones(1, 1, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be >= 0"):
        F.conv2d(x, w, padding=-1, groups=2)
    with pytest.raises(ValueError, match="output_padding \\(2, 2\\) must be smaller than either stride"):
        F.conv_transpose2d(cr.ones(1, 6, 3, 3), w, stride=2, output_padding=2)
    with pytest.raises(cr.DTypeError, match="floating-point"):
        F.conv1d(cr.ones(1, 1, 8, dtype=cr.int64), cr.ones(1, 1, 3, dtype=cr.int64))
    with pytest.raises(TypeError, match="weight to be a Tensor"):
        F.conv2d(x, np.ones((6, 2, 3, 3)))


@pytest.mark.parametrize("kernel, padding, stride", [(3, 1, 1), (1, 1, 1), (1, 0, 1), (3, 2, 2)])
def test_reused_scratch_arrays_leave_results_independent(kernel, padding, stride):
    """The kernels reuse scratch arrays between calls: results and saved values must not share them."""
    from chainrule.ops import conv_scratch

    rng = np.random.default_rng(0)
    w = cr.tensor(rng.standard_normal((4, 3, kernel, kernel)), requires_grad=True)
    xs = [cr.tensor(rng.standard_normal((2, 3, 6, 7)), requires_grad=True) for _ in range(2)]
    outs = [F.conv2d(x, w, padding=padding, stride=stride) for x in xs]  # both graphs alive at once
    first = outs[0].detach().numpy().copy()
    grads = [cr.autograd.grad(out.sum(), (x, w)) for out, x in zip(outs, xs)]
    np.testing.assert_array_equal(outs[0].detach().numpy(), first)
    for x, out, (grad_x, grad_w) in zip(xs, outs, grads):
        conv_scratch.clear()  # the same computation from fresh arrays
        fresh = F.conv2d(x, w, padding=padding, stride=stride)
        fresh_x, fresh_w = cr.autograd.grad(fresh.sum(), (x, w))
        np.testing.assert_array_equal(out.detach().numpy(), fresh.detach().numpy())
        np.testing.assert_array_equal(grad_x.numpy(), fresh_x.numpy())
        np.testing.assert_array_equal(grad_w.numpy(), fresh_w.numpy())


def test_a_workspace_is_one_buffer_per_role_that_grows_to_the_largest_request():
    from chainrule.backend import numpy_namespace
    from chainrule.ops import conv_scratch

    conv_scratch.clear()
    small = conv_scratch.workspace(numpy_namespace, "columns", (2, 3), np.float32)
    large = conv_scratch.workspace(numpy_namespace, "columns", (4, 5), np.float32)
    again = conv_scratch.workspace(numpy_namespace, "columns", (3, 2), np.float32)
    assert (small.shape, large.shape, again.shape) == ((2, 3), (4, 5), (3, 2))
    assert np.shares_memory(again, large) and not np.shares_memory(small, large)  # grown once, then reused
    other = conv_scratch.workspace(numpy_namespace, "column gradient", (3, 2), np.float32)
    assert not np.shares_memory(other, again)


def test_a_convolution_keeps_only_its_input_and_weight_for_the_backward():
    """The im2col columns (∏k times the input's size) are made again in the backward, never kept."""
    x = cr.randn(4, 3, 10, 10, requires_grad=True)
    w = cr.randn(5, 3, 3, 3, requires_grad=True)
    out = F.conv2d(x, w, cr.zeros(5, requires_grad=True), padding=1)
    assert [a.shape for a in out.grad_fn.saved] == [(4, 3, 10, 10), (5, 3, 3, 3)]


@pytest.mark.parametrize(
    "first, second",
    [
        # the same padded-buffer size (16·16 + 16): no padding and 1-padding, different zeros
        ({"size": (16, 16), "kernel": 3, "padding": 0}, {"size": (14, 14), "kernel": 3, "padding": 1}),
        # the same widened gradient (14, 16): valid columns 14 and 12
        ({"size": (14, 14), "kernel": 3, "padding": 1}, {"size": (14, 12), "kernel": (3, 5), "padding": (1, 2)}),
    ],
)
def test_scratch_arrays_of_one_shape_but_different_zeros_are_not_shared(first, second):
    """Scratch arrays keep zeros that the kernels never write; two geometries whose arrays have
    one shape but zeros in different places must each get their own."""
    from chainrule.ops import conv_scratch

    rng = np.random.default_rng(1)

    def gradients(spec):
        kernel = spec["kernel"] if isinstance(spec["kernel"], tuple) else (spec["kernel"],) * 2
        x = cr.tensor(rng.standard_normal((1, 1) + spec["size"]), requires_grad=True)
        w = cr.tensor(rng.standard_normal((1, 1) + kernel), requires_grad=True)
        out = F.conv2d(x, w, padding=spec["padding"])
        v = cr.tensor(rng.standard_normal(out.shape))
        return lambda: (
            [g.numpy() for g in cr.autograd.grad((out * v).sum(), (x, w), retain_graph=True)]
            + [F.conv2d(x, w, padding=spec["padding"]).detach().numpy()]
        )

    run_first, run_second = gradients(first), gradients(second)
    conv_scratch.clear()
    expected = run_second()
    conv_scratch.clear()
    run_first()
    for got, want in zip(run_second(), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "kernel, padding, dilation, groups",
    [((3, 3), ((1, 1), (1, 1)), (1, 1), 1), ((2, 3), ((0, 1), (2, 0)), (2, 1), 2), ((5,), ((2, 3),), (1,), 3)],
)
def test_stride_one_input_gradient_as_a_convolution_equals_col2im(kernel, padding, dilation, groups):
    """With strides of 1 the input gradient is conv(G, w̃) (Geometry.adjoint); for strides above 1
    and for padding beyond the kernel's reach it is col2im. Both must give the same ∂L/∂x."""
    from chainrule.backend import numpy_namespace
    from chainrule.ops import conv_im2col

    rng = np.random.default_rng(3)
    size = (7, 8)[: len(kernel)]
    geometry = conv_im2col.Geometry(size, kernel, (1,) * len(kernel), padding, dilation, groups)
    weight = rng.standard_normal((6, 6 // groups) + kernel)
    grad = rng.standard_normal((2, 6) + geometry.out)
    input_shape = (2, 6) + size
    assert geometry.adjoint() is not None
    by_convolution, _ = conv_im2col.conv_backward(numpy_namespace, grad, geometry, weight, input_shape)
    by_col2im, _ = conv_im2col._col2im_backward(numpy_namespace, grad, geometry, weight, input_shape, None)
    np.testing.assert_allclose(by_convolution, by_col2im, rtol=1e-12, atol=1e-12)
    too_wide = conv_im2col.Geometry(size, kernel, (1,) * len(kernel), ((9, 9),) * len(kernel), dilation, groups)
    assert too_wide.adjoint() is None
