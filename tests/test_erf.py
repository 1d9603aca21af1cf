"""chainrule.ops.special.erf (Cody's rational approximations) against Python's math.erf."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.special import erf, erf_array

EPS64 = np.finfo(np.float64).eps


def _points():
    return np.concatenate(
        [
            np.linspace(-30, 30, 60_001),
            np.geomspace(1e-300, 30, 4_001),
            -np.geomspace(1e-300, 30, 4_001),
            [0.0, -0.0, 0.46875, -0.46875, np.nextafter(0.46875, 1), 4.0, -4.0, np.nextafter(4.0, 5), 26.5, 27.0],
        ]
    )


def test_erf_float64_within_a_few_ulps_of_math_erf():
    x = _points()
    expected = np.array([math.erf(v) for v in x])
    got = erf_array(np, x)
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    worst = int(np.argmax(relative))
    assert relative[worst] <= 4 * EPS64, f"erf({x[worst]!r}) = {got[worst]!r}, math.erf gives {expected[worst]!r}"


def test_erf_complement_keeps_relative_accuracy_in_the_tail():
    # 1 - erf(x) is tiny for large x; the function must still round to the right float64 values
    x = np.linspace(0.5, 5.9, 500)
    np.testing.assert_allclose(1 - erf_array(np, x), [1 - math.erf(v) for v in x], rtol=0, atol=2 * EPS64)


def test_erf_special_values_symmetry_and_dtype():
    values = erf_array(np, np.array([np.inf, -np.inf, np.nan, 0.0]))
    assert values[0] == 1.0 and values[1] == -1.0 and np.isnan(values[2]) and values[3] == 0.0
    x = np.linspace(-6, 6, 1001)
    np.testing.assert_array_equal(erf_array(np, -x), -erf_array(np, x))
    x32 = x.astype(np.float32)
    got32 = erf_array(np, x32)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, [math.erf(v) for v in x32.astype(np.float64)], rtol=0, atol=3e-7)


def test_erf_op_gradients():
    x = cr.tensor(np.linspace(-3, 3, 13), requires_grad=True)
    assert cr.autograd.gradcheck(erf, (x,))
    (g,) = cr.autograd.grad(erf(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 2 / math.sqrt(math.pi) * np.exp(-(x.detach().numpy() ** 2)))
    assert cr.autograd.gradcheck(lambda t: cr.autograd.grad(erf(t).sum(), t, create_graph=True)[0], (x,))
    assert erf(cr.tensor([0, 1])).dtype == cr.float32  # integers are promoted
    with pytest.raises(TypeError):
        erf(np.zeros(3))
