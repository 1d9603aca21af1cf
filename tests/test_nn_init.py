"""chainrule.nn.init: fans and gains equal PyTorch's (fixture), and every initialiser's samples have
the bounds and moments its formula promises, within tolerances set by the sample size."""

import functools
import math
import pathlib

import numpy as np
import pytest
from nn_models import GAINS, INIT_SHAPES

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_nn.npz"
Z = 5  # tolerances are 5 standard errors


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _check_moments(sample, mean, std, kurtosis=3.0):
    """Sample mean and std against the distribution's, within Z standard errors: SE(mean) = σ/√n and
    SE(std) ≈ σ·√((κ - 1)/(4n)) for a distribution of kurtosis κ (3 normal, 1.8 uniform)."""
    n = sample.size
    assert abs(sample.mean() - mean) < Z * std / math.sqrt(n), f"mean {sample.mean()} vs {mean}"
    assert abs(sample.std() - std) < Z * std * math.sqrt((kurtosis - 1) / (4 * n)), f"std {sample.std()} vs {std}"


def test_fans_equal_pytorchs():
    expected = reference()["init/fans"]
    for shape, (fan_in, fan_out) in zip(INIT_SHAPES, expected):
        assert init._calculate_fan_in_and_fan_out(cr.empty(*shape)) == (fan_in, fan_out), shape
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(cr.empty(5))


def test_gains_equal_pytorchs():
    for (name, param), expected in zip(GAINS, reference()["init/gains"]):
        assert init.calculate_gain(name, param) == pytest.approx(expected, rel=1e-15), (name, param)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", INIT_SHAPES[-3:])
def test_kaiming_and_xavier_bounds_follow_the_fans(shape):
    fan_in, fan_out = reference()["init/fans"][INIT_SHAPES.index(shape)]
    w = cr.empty(*shape, dtype=cr.float64)
    init.kaiming_uniform_(w, a=math.sqrt(5))
    assert np.abs(w.numpy()).max() <= 1 / math.sqrt(fan_in)
    init.xavier_uniform_(w, gain=2.0)
    assert np.abs(w.numpy()).max() <= 2.0 * math.sqrt(6 / (fan_in + fan_out))
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    assert np.abs(w.numpy()).max() <= math.sqrt(2) * math.sqrt(3 / fan_out)


def test_uniform_and_normal():
    cr.manual_seed(0)
    w = init.uniform_(cr.empty(400, 500, dtype=cr.float64), -2.0, 3.0)
    a = w.numpy()
    assert a.min() >= -2.0 and a.max() < 3.0 and a.min() < -1.99 and a.max() > 2.99
    _check_moments(a, 0.5, 5 / math.sqrt(12), kurtosis=1.8)
    b = init.normal_(cr.empty(400, 500), mean=1.5, std=0.2).numpy()
    assert b.dtype == np.float32
    _check_moments(b.astype(np.float64), 1.5, 0.2)


def test_xavier():
    w = cr.empty(300, 700, dtype=cr.float64)
    bound = math.sqrt(6 / (300 + 700))
    a = init.xavier_uniform_(w).numpy()
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.99 * bound
    _check_moments(a, 0.0, bound / math.sqrt(3), kurtosis=1.8)
    _check_moments(init.xavier_normal_(w, gain=3.0).numpy(), 0.0, 3.0 * math.sqrt(2 / 1000))


def test_kaiming():
    w = cr.empty(300, 50, 2, 2, dtype=cr.float64)  # fan_in 200, fan_out 1200
    a = init.kaiming_uniform_(w, nonlinearity="relu").numpy()
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(a).max() <= bound
    _check_moments(a, 0.0, bound / math.sqrt(3), kurtosis=1.8)
    _check_moments(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu").numpy(), 0.0, math.sqrt(2 / 1200))
    gain = math.sqrt(2 / (1 + 0.2**2))
    _check_moments(init.kaiming_normal_(w, a=0.2).numpy(), 0.0, gain / math.sqrt(200))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(w, mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(cr.empty(0, 3))


def test_trunc_normal():
    cr.manual_seed(1)
    mean, std, a, b = 0.5, 2.0, -1.0, 4.0
    sample = init.trunc_normal_(cr.empty(300, 300, dtype=cr.float64), mean, std, a, b).numpy()
    assert sample.min() >= a and sample.max() <= b
    # moments of N(mean, std²) truncated to [a, b] (the textbook formulas)
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    mass = cdf(beta) - cdf(alpha)
    expected_mean = mean + std * (pdf(alpha) - pdf(beta)) / mass
    variance = std**2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - ((pdf(alpha) - pdf(beta)) / mass) ** 2)
    _check_moments(sample, expected_mean, math.sqrt(variance), kurtosis=2.5)  # lighter tails than normal
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(cr.empty(3), a=1.0, b=0.0)


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (3, 2, 5)])
def test_orthogonal(shape):
    w = init.orthogonal_(cr.empty(*shape, dtype=cr.float64), gain=2.0).numpy().reshape(shape[0], -1)
    rows, cols = w.shape
    product = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(product, 4.0 * np.eye(min(rows, cols)), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(cr.empty(4))


def test_constant_eye_and_in_place_on_parameters():
    layer = nn.Linear(3, 4)
    weight, storage = layer.weight, layer.weight._data
    assert init.ones_(layer.weight) is weight and layer.weight._data is storage  # in place, same tensor
    assert np.all(storage == 1)
    init.zeros_(layer.bias)
    assert np.all(layer.bias.numpy(force=True) == 0)
    init.constant_(layer.weight, 0.25)
    assert np.all(storage == 0.25)
    np.testing.assert_array_equal(init.eye_(cr.empty(3, 4)).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(cr.empty(2, 2, 2))
    assert layer.weight.requires_grad and layer.weight.grad_fn is None  # still a leaf, no graph recorded


def test_generators_repeat():
    cr.manual_seed(42)
    first = init.normal_(cr.empty(5, 5)).numpy().copy()
    cr.manual_seed(42)
    np.testing.assert_array_equal(init.normal_(cr.empty(5, 5)).numpy(), first)
    a = init.xavier_uniform_(cr.empty(5, 5), generator=cr.Generator(3)).numpy()
    b = init.xavier_uniform_(cr.empty(5, 5), generator=cr.Generator(3)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, first)
