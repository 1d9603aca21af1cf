"""Every nn layer against PyTorch (tests/fixtures/torch_nn.npz, from scripts/make_torch_fixtures_nn.py),
by finite differences, and Dropout's statistics. The tests never import torch."""

import functools
import math
import pathlib
import warnings

import numpy as np
import pytest
from nn_models import LAYERS, layer_input

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_nn.npz"
RTOL64, ATOL64 = 1e-10, 1e-12  # same formulas, different order of rounding
RTOL32, ATOL32 = 1e-5, 1e-6


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _module_with_fixture_weights(layer, dtype):
    module = layer.build(nn).to(dtype)
    ref = reference()
    with cr.no_grad():
        for name, param in module.named_parameters():
            param.copy_(ref[f"layer/{layer.name}/param/{name}"])
    return module


PRECISIONS = [
    pytest.param(cr.float64, "", RTOL64, ATOL64, id="float64"),
    pytest.param(cr.float32, "_32", RTOL32, ATOL32, id="float32"),
]


@pytest.mark.parametrize("dtype, suffix, rtol, atol", PRECISIONS)
@pytest.mark.parametrize("layer", LAYERS, ids=[layer.name for layer in LAYERS])
def test_layer_matches_pytorch(layer, dtype, suffix, rtol, atol):
    ref = reference()
    prefix = f"layer/{layer.name}"
    np.testing.assert_array_equal(ref[f"{prefix}/x"], layer_input(layer))  # the fixture's input is ours
    module = _module_with_fixture_weights(layer, dtype)
    x = cr.tensor(ref[f"{prefix}/x"], dtype=dtype, requires_grad=True)
    out = module(x)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.detach().numpy(), ref[f"{prefix}/out{suffix}"], rtol=rtol, atol=atol)
    (out * cr.tensor(ref[f"{prefix}/v"], dtype=dtype)).sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.numpy(), ref[f"{prefix}/grad_x{suffix}"], rtol=rtol, atol=atol)
    names = [name for name, _ in module.named_parameters()]
    assert sorted(names) == sorted(k.split("/param/")[1] for k in ref if k.startswith(f"{prefix}/param/"))
    for name, param in module.named_parameters():
        assert param.grad is not None and param.grad.dtype == dtype, name
        np.testing.assert_allclose(
            param.grad.numpy(), ref[f"{prefix}/grad/{name}{suffix}"], rtol=rtol, atol=atol, err_msg=name
        )


@pytest.mark.parametrize("layer", LAYERS, ids=[layer.name for layer in LAYERS])
def test_layer_gradcheck(layer):
    module = _module_with_fixture_weights(layer, cr.float64)
    params = list(module.parameters())
    x = cr.tensor(layer_input(layer), dtype=cr.float64, requires_grad=True)

    assert cr.autograd.gradcheck(lambda x: module(x), (x,))  # the input gradient
    if params:  # and every parameter's
        assert cr.autograd.gradcheck(lambda *ws: _functional(module, ws)(x), params)


def _functional(module, weights):
    """The module as a function of tensors standing in for its parameters (same order)."""
    named = list(module.named_parameters())

    def forward(x):
        originals = {}
        for (name, _), weight in zip(named, weights):
            owner = module.get_submodule(name.rpartition(".")[0])
            leaf = name.rpartition(".")[2]
            originals[(owner, leaf)] = owner._parameters[leaf]
            owner._parameters[leaf] = weight
        try:
            return module(x)
        finally:
            for (owner, leaf), original in originals.items():
                owner._parameters[leaf] = original

    return forward


# ----------------------------------------------------------------- Linear specifics


def test_linear_default_init_is_pytorchs_distribution():
    cr.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    weight = layer.weight.detach().numpy()
    assert weight.shape == (300, 400) and layer.bias.shape == (300,)
    assert np.abs(weight).max() <= bound and np.abs(layer.bias.detach().numpy()).max() <= bound
    n = weight.size  # U(-b, b): mean 0, std b/√3; standard errors b/√(3n) and ≈ 0.45·std/√n
    std = bound / math.sqrt(3)
    assert abs(weight.mean()) < 5 * std / math.sqrt(n)
    assert abs(weight.std() - std) < 5 * 0.45 * std / math.sqrt(n)
    assert np.abs(weight).max() > 0.99 * bound  # it does fill the whole interval
    cr.manual_seed(0)
    again = nn.Linear(400, 300)
    np.testing.assert_array_equal(again.weight.detach().numpy(), weight)


def test_linear_dtype_device_and_no_bias():
    layer = nn.Linear(3, 2, bias=False, device="cpu", dtype=cr.float64)
    assert layer.weight.dtype == cr.float64 and layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.requires_grad


def test_linear_errors_name_the_layer_and_shapes():
    layer = nn.Linear(3, 2)
    with pytest.raises(cr.ShapeError, match=r"Linear\(in_features=3, out_features=2.*\(4, 5\)"):
        layer(cr.ones(4, 5))
    with pytest.raises(cr.DTypeError, match="float64"):
        layer(cr.ones(4, 3, dtype=cr.float64))
    with pytest.raises(cr.ShapeError, match="bias"):
        F.linear(cr.ones(4, 3), cr.ones(2, 3), cr.ones(3))
    with pytest.raises(cr.ShapeError, match="2-D"):
        F.linear(cr.ones(4, 3), cr.ones(3))
    with pytest.raises(TypeError):
        F.linear(np.ones((4, 3)), cr.ones(2, 3))


def test_linear_backward_skips_unneeded_gradients():
    x = cr.randn(4, 3)
    w = cr.randn(2, 3, requires_grad=True)
    F.linear(x, w).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), np.ones((4, 2)).T @ x.numpy(), rtol=1e-6)


def test_linear_module_matches_explicit_math():
    layer = nn.Linear(5, 4, dtype=cr.float64)
    x = cr.randn(2, 3, 5, dtype=cr.float64)
    expected = x.numpy() @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-12)


# ----------------------------------------------------------------- activations: arguments


def test_activation_arguments():
    x = cr.tensor([-2.0, -0.5, 0.5, 30.0])
    assert nn.ReLU(inplace=True)(x).tolist() == [0.0, 0.0, 0.5, 30.0]  # accepted, out of place
    assert x.tolist() == [-2.0, -0.5, 0.5, 30.0]
    np.testing.assert_allclose(nn.LeakyReLU(0.1, inplace=True)(x).numpy(), [-0.2, -0.05, 0.5, 30.0], rtol=1e-6)
    np.testing.assert_allclose(F.elu(x, alpha=2.0).numpy(), [2 * math.expm1(-2), 2 * math.expm1(-0.5), 0.5, 30.0])
    np.testing.assert_allclose(F.softplus(x, beta=1, threshold=20).numpy()[-1], 30.0)  # linear tail
    np.testing.assert_allclose(F.softplus(x).numpy()[0], math.log1p(math.exp(-2)), rtol=1e-6)
    np.testing.assert_allclose(F.gelu(x).numpy()[1], -0.5 * 0.5 * (1 + math.erf(-0.5 / math.sqrt(2))), rtol=1e-6)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU(approximate="fast")
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(TypeError, match="floating-point"):
        F.silu(cr.tensor([1, 2]))


def test_softmax_without_dim_warns_and_uses_pytorchs_legacy_dim():
    x = cr.randn(3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = nn.Softmax()(x)
    np.testing.assert_allclose(y.sum(dim=1).numpy(), np.ones(3), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LogSoftmax(dim=0)(x)


def test_flatten_unflatten_errors():
    with pytest.raises(cr.ShapeError, match=r"\(4, 6\)"):
        nn.Unflatten(1, (4, 2))(cr.ones(4, 6))
    with pytest.raises(TypeError):
        nn.Unflatten(1, 6)
    assert nn.Unflatten(-1, (2, -1))(cr.ones(4, 6)).shape == (4, 2, 3)
    assert nn.Flatten(0)(cr.ones(2, 3, 4)).shape == (24,)


# ----------------------------------------------------------------- Dropout


def test_dropout_statistics():
    p, n = 0.3, 200_000
    cr.manual_seed(0)
    y = nn.Dropout(p)(cr.ones(n)).numpy()
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / (1 - p)], rtol=1e-6)  # survivors scaled by 1/(1-p)
    assert abs(y.mean() - 1.0) < 5 * math.sqrt(p / (1 - p) / n)  # expectation preserved


def test_dropout_gradient_is_the_mask_and_seed_repeats():
    x = cr.randn(50, 40, dtype=cr.float64, requires_grad=True)
    cr.manual_seed(3)
    y = F.dropout(x, p=0.5)
    y.sum().backward()
    mask = y.detach().numpy() / x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-12)
    assert set(np.round(np.unique(mask), 12)) == {0.0, 2.0}
    cr.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, p=0.5).detach().numpy(), y.detach().numpy())
    assert y.dtype == cr.float64
    g = cr.Generator(5)
    a = F.dropout(cr.ones(100), 0.5, generator=g).numpy()
    b = F.dropout(cr.ones(100), 0.5, generator=cr.Generator(5)).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_modes_and_edge_probabilities():
    x = cr.randn(10, 10, requires_grad=True)
    drop = nn.Dropout(0.5)
    drop.eval()
    assert drop(x) is x  # identity in eval mode
    assert not drop.training
    drop.train()
    assert drop.training
    assert nn.Dropout(0.0)(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    zeros = nn.Dropout(1.0)(x)
    assert np.all(zeros.detach().numpy() == 0)
    zeros.sum().backward()
    assert np.all(x.grad.numpy() == 0)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, bad)
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2, inplace=False)"


def test_dropout_float32_mask_and_gradcheck_with_fixed_seed():
    assert F.dropout(cr.ones(3, 3), 0.5).dtype == cr.float32
    x = cr.randn(4, 5, dtype=cr.float64, requires_grad=True)

    def seeded_dropout(x):
        cr.manual_seed(11)  # the same mask at every evaluation
        return F.dropout(x, 0.4)

    assert cr.autograd.gradcheck(seeded_dropout, (x,))
