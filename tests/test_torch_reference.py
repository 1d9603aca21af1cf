"""Every row of the op table against PyTorch's values, read from tests/fixtures/torch_ops.npz.

The fixture is written by ``scripts/make_torch_fixtures.py`` (where PyTorch is installed); these
tests never import torch. For each row: the forward output, the gradients of L = sum(out · v) for
a stored upstream gradient v, the second-order gradients of Σᵢ sum(∂L/∂xᵢ · wᵢ) for rows marked
``double``, and all of it again in float32.
"""

import functools
import pathlib

import numpy as np
import pytest
from op_cases import CASES, make_inputs

import chainrule as cr

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_ops.npz"
REGENERATE = "regenerate it with `python scripts/make_torch_fixtures.py` where PyTorch is installed"

# float64: both libraries evaluate the same formulas; only the order of floating-point operations
# (sums, fused rules) differs, a few ulps of relative error.
RTOL64, ATOL64 = 1e-10, 1e-12
# float32: ulp is 6e-8, and a few roundings of different orders add up to ~1e-6 relative.
RTOL32, ATOL32 = 1e-5, 1e-6


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def stored(key):
    ref = reference()
    if key not in ref:
        pytest.fail(f"{FIXTURE.name} has no {key!r}: {REGENERATE}")
    return ref[key]


def leaves(case, dtype):
    return [cr.tensor(a, dtype=dtype, requires_grad=True) for a in make_inputs(case)]


def check(actual, expected, what, dtype, rtol, atol):
    actual = actual.detach().numpy() if isinstance(actual, cr.Tensor) else np.asarray(actual)
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, PyTorch's {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def check_grads(grads, case, key, none_key, dtype, rtol, atol):
    """Each gradient equals PyTorch's; where PyTorch's is None, so is chainrule's."""
    nones = stored(f"{case.name}/{none_key}")
    assert len(nones) == len(grads), f"{case.name}: {len(grads)} inputs, fixture has {len(nones)}: {REGENERATE}"
    for i, (gradient, is_none) in enumerate(zip(grads, nones)):
        what = f"{case.name}: {key.format(i)}"
        if is_none:
            assert gradient is None, f"{what}: PyTorch leaves it None (input unused), chainrule gave a gradient"
        else:
            assert gradient is not None, f"{what}: chainrule gave None, PyTorch a gradient"
            check(gradient, stored(f"{case.name}/{key.format(i)}"), what, dtype, rtol, atol)


def test_fixture_has_every_case():
    missing = [case.name for case in CASES if f"{case.name}/out" not in reference()]
    assert not missing, f"{FIXTURE.name} lacks cases {missing}: {REGENERATE}"
    double = [c.name for c in CASES if c.double and f"{c.name}/gg_none" not in reference()]
    assert not double, f"{FIXTURE.name} lacks second-order values for {double}: {REGENERATE}"
    assert str(stored("meta/torch_version"))


# dtype, fixture key suffix, tolerances
PRECISIONS = [
    pytest.param(cr.float64, np.float64, "", RTOL64, ATOL64, id="float64"),
    pytest.param(cr.float32, np.float32, "_32", RTOL32, ATOL32, id="float32"),
]


@pytest.mark.parametrize("dtype, numpy_dtype, suffix, rtol, atol", PRECISIONS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_forward_and_backward(case, dtype, numpy_dtype, suffix, rtol, atol):
    xs = leaves(case, dtype)
    out = case.fn(cr, *xs)
    out_key = "out32" if suffix else "out"
    check(out, stored(f"{case.name}/{out_key}"), f"{case.name}: {dtype.name} forward", numpy_dtype, rtol, atol)
    v = cr.tensor(stored(f"{case.name}/v"), dtype=dtype)
    (out * v).sum().backward()
    check_grads([x.grad for x in xs], case, "grad{}" + suffix, "grad_none", numpy_dtype, rtol, atol)


@pytest.mark.parametrize("case", [c for c in CASES if c.double], ids=lambda c: c.name)
def test_double_backward_float64(case):
    xs = leaves(case, cr.float64)
    out = case.fn(cr, *xs)
    v = cr.tensor(stored(f"{case.name}/v"), dtype=cr.float64)
    grads = cr.autograd.grad((out * v).sum(), xs, create_graph=True, allow_unused=True)
    m = None
    for i, g in enumerate(grads):
        if g is not None:
            term = (g * cr.tensor(stored(f"{case.name}/w{i}"), dtype=cr.float64)).sum()
            m = term if m is None else m + term
    if m is None or not m.requires_grad:  # the gradient does not depend on the inputs
        second = [None] * len(xs)
    else:
        second = cr.autograd.grad(m, xs, allow_unused=True)
    check_grads(second, case, "gg{}", "gg_none", np.float64, RTOL64, ATOL64)


def mlp_loss(x, target, w1, b1, w2):
    """The generator's two-layer tanh MLP: mean over rows of the squared error."""
    prediction = (x @ w1 + b1).tanh() @ w2
    return ((prediction - target) ** 2).sum() / x.shape[0]


def test_mlp_hessian_vector_product():
    prefix = "extra/mlp_hvp"
    names = ("w1", "b1", "w2")
    weights = [cr.tensor(stored(f"{prefix}/{n}"), requires_grad=True) for n in names]
    x, target = cr.tensor(stored(f"{prefix}/x")), cr.tensor(stored(f"{prefix}/target"))
    loss = mlp_loss(x, target, *weights)
    check(loss, stored(f"{prefix}/loss"), "loss", np.float64, RTOL64, ATOL64)
    grads = cr.autograd.grad(loss, weights, create_graph=True)
    dot = sum((g * cr.tensor(stored(f"{prefix}/{n}_vector"))).sum() for g, n in zip(grads, names))
    hvp = cr.autograd.grad(dot, weights)
    for name, g, h in zip(names, grads, hvp):
        check(g, stored(f"{prefix}/{name}_grad"), f"d loss/d {name}", np.float64, RTOL64, ATOL64)
        check(h, stored(f"{prefix}/{name}_hvp"), f"(H v) for {name}", np.float64, RTOL64, ATOL64)


def test_grad_of_grad_of_cube():
    x_values = stored("extra/cube/x")
    x = cr.tensor(x_values, requires_grad=True)
    (g1,) = cr.autograd.grad((x**3).sum(), x, create_graph=True)
    (g2,) = cr.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = cr.autograd.grad((g2 * cr.tensor(x_values)).sum(), x)
    for k, g in enumerate((g1, g2, g3), start=1):
        check(g, stored(f"extra/cube/grad{k}"), f"order {k}", np.float64, RTOL64, ATOL64)
    np.testing.assert_allclose(g1.detach().numpy(), 3 * x_values**2)
    np.testing.assert_allclose(g2.detach().numpy(), 6 * x_values)
    np.testing.assert_allclose(g3.detach().numpy(), 6 * x_values)
