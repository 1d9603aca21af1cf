"""The losses of ``nn.functional`` and ``nn`` against PyTorch, finite differences, bad input and
extreme logits.

PyTorch's values come from tests/fixtures/torch_loss.npz, written by
``scripts/make_torch_fixtures_loss.py``; each case there says which call it is (function, options,
inputs), so every case runs here as the same call. These tests never import torch.
"""

import functools
import json
import math
import pathlib
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.errors import DTypeError, ShapeError

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_loss.npz"
REGENERATE = "regenerate it with `/work/torchenv/bin/python scripts/make_torch_fixtures_loss.py`"

# As in test_torch_reference: the same formulas, summed in another order.
RTOL64, ATOL64 = 1e-10, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-6

FUSED = ("cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits")


@functools.cache
def fixture():
    with np.load(FIXTURE, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return arrays, json.loads(str(arrays["meta/specs"]))


def specs():
    return fixture()[1]


def unpack(case, bits):
    """The case's packed float64 or float32 results as {name: array}."""
    arrays, all_specs = fixture()
    flat, layout = arrays[f"{case}/{bits}"], all_specs[case][f"layout{bits}"]
    result, start = {}, 0
    for name, shape in layout:
        size = math.prod(shape)
        result[name] = flat[start : start + size].reshape(shape)
        start += size
    assert start == flat.size, f"{case}: packed values do not fit the layout: {REGENERATE}"
    return result


def make_call(case, dtype, target_grad=True):
    """(loss function of (input, target), input leaf, target) as the fixture case describes it."""
    arrays, all_specs = fixture()
    spec = all_specs[case]
    x = cr.tensor(arrays[f"data/{spec['input']}"], dtype=dtype, requires_grad=True)
    target_values = arrays[f"data/{spec['target']}"]
    if target_values.dtype.kind == "f":
        target = cr.tensor(target_values, dtype=dtype, requires_grad=target_grad)
    else:
        target = cr.tensor(target_values)
        assert target.dtype == cr.int64
    extra = {key: cr.tensor(arrays[f"data/{value}"], dtype=dtype) for key, value in spec["arrays"].items()}
    function = getattr(F, spec["fn"])
    return (lambda a, b: function(a, b, **extra, **spec["kwargs"])), x, target


def quiet(call):
    """Run ``call`` with kl_div's 'mean' warning (which PyTorch also gives) silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
        return call()


def check(actual, expected, what, rtol, atol):
    actual = actual.detach().numpy() if isinstance(actual, cr.Tensor) else np.asarray(actual)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, PyTorch's {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, PyTorch's {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


CASES = sorted(specs())
PRECISIONS = [
    pytest.param(cr.float64, "64", "", RTOL64, ATOL64, id="float64"),
    pytest.param(cr.float32, "32", "32", RTOL32, ATOL32, id="float32"),
]


# ----------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("dtype, bits, suffix, rtol, atol", PRECISIONS)
@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_pytorch(case, dtype, bits, suffix, rtol, atol):
    expected = unpack(case, bits)
    v = unpack(case, "64")["v"]
    loss, x, target = make_call(case, dtype)
    out = quiet(lambda: loss(x, target))
    check(out, expected[f"out{suffix}"], f"{case}: {dtype.name} value", rtol, atol)
    (out * cr.tensor(v, dtype=dtype)).sum().backward()
    check(x.grad, expected[f"grad_input{suffix}"], f"{case}: {dtype.name} d/d input", rtol, atol)
    if f"grad_target{suffix}" in expected:
        check(target.grad, expected[f"grad_target{suffix}"], f"{case}: {dtype.name} d/d target", rtol, atol)
    else:
        assert target.grad is None


@pytest.mark.parametrize("case", [c for c in CASES if specs()[c]["module"]])
def test_module_form_matches_pytorch(case):
    arrays, all_specs = fixture()
    spec = all_specs[case]
    extra = {key: cr.tensor(arrays[f"data/{value}"]) for key, value in spec["arrays"].items()}
    module = getattr(nn, spec["module"])(**extra, **spec["kwargs"])
    assert isinstance(module, nn.Module) and not list(module.parameters())
    _, x, target = make_call(case, cr.float64, target_grad=False)
    out = quiet(lambda: module(x, target))
    check(out, unpack(case, "64")["out"], f"{case}: {spec['module']}", RTOL64, ATOL64)


def test_fixture_covers_every_loss_and_option():
    all_specs = specs().values()
    assert {s["fn"] for s in all_specs} == set(F.__all__) & {
        "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
        "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    }  # fmt: skip
    arrays = fixture()[0]

    def some(fn, predicate=lambda spec: True):
        return any(s["fn"] == fn and predicate(s) for s in all_specs)

    for fn in {s["fn"] for s in all_specs}:
        for reduction in ("none", "mean", "sum"):
            assert some(fn, lambda s, r=reduction: s["kwargs"]["reduction"] == r), (fn, reduction)
    assert some("kl_div", lambda s: s["kwargs"]["reduction"] == "batchmean")
    assert some("kl_div", lambda s: s["kwargs"].get("log_target"))
    assert some("huber_loss", lambda s: s["kwargs"].get("delta", 1.0) != 1.0)
    assert some("smooth_l1_loss", lambda s: s["kwargs"].get("beta") == 0.0)
    assert some("binary_cross_entropy_with_logits", lambda s: "pos_weight" in s["arrays"])
    for fn in ("cross_entropy", "nll_loss", "binary_cross_entropy", "mse_loss", "l1_loss", "huber_loss"):
        assert some(fn, lambda s: "weight" in s["arrays"]), fn

    def target(s):
        return arrays[f"data/{s['target']}"]

    def x(s):
        return arrays[f"data/{s['input']}"]

    for fn in ("cross_entropy", "nll_loss"):
        assert some(fn, lambda s: (target(s) == -100).any()), f"{fn}: ignore_index"
        for ndim in (1, 2, 3, 4):
            assert some(fn, lambda s, n=ndim: x(s).ndim == n and target(s).dtype.kind == "i"), (fn, ndim)
    assert some("cross_entropy", lambda s: s["kwargs"].get("ignore_index", -100) != -100)
    assert some("cross_entropy", lambda s: s["kwargs"].get("label_smoothing") and "weight" in s["arrays"])
    assert some("cross_entropy", lambda s: target(s).dtype.kind == "f" and s["kwargs"].get("label_smoothing"))
    assert some("cross_entropy", lambda s: target(s).dtype.kind == "f" and x(s).ndim == 3)
    assert str(arrays["meta/torch_version"])


# ----------------------------------------------------------------- finite differences (float64)


@pytest.mark.parametrize("case", CASES)
def test_gradcheck(case):
    loss, x, target = make_call(case, cr.float64)
    inputs = (x, target) if target.requires_grad else (x,)
    assert quiet(lambda: cr.autograd.gradcheck(lambda *t: loss(*t) if len(t) == 2 else loss(t[0], target), inputs))


def _first_gradients(loss, target):
    """x -> d(sum(loss · v))/dx with create_graph, for checking the second derivative."""

    def gradients(x):
        out = loss(x, target)
        v = cr.from_numpy(np.random.default_rng(3).standard_normal(out.shape))
        (g,) = cr.autograd.grad((out * v).sum(), x, create_graph=True)
        return g

    return gradients


@pytest.mark.parametrize("case", [c for c in CASES if specs()[c]["fn"] in FUSED and not c.startswith("nll")])
def test_fused_losses_double_backward_gradcheck(case):
    """The fused rules are written with xp, so create_graph differentiates them again (NLL is linear
    in its input: its second derivative is 0, checked below)."""
    loss, x, target = make_call(case, cr.float64, target_grad=False)
    assert _first_gradients(loss, target)(x).requires_grad
    assert cr.autograd.gradcheck(_first_gradients(loss, target), (x,))


def test_bce_with_logits_double_backward_through_the_target():
    rng = np.random.default_rng(0)
    x = cr.from_numpy(rng.standard_normal((3, 2))).requires_grad_()
    t = cr.from_numpy(rng.uniform(0, 1, (3, 2))).requires_grad_()
    pos_weight = cr.tensor([0.5, 2.0], dtype=cr.float64)

    def gradients(a, b):
        loss = F.binary_cross_entropy_with_logits(a, b, pos_weight=pos_weight, reduction="sum")
        return cr.autograd.grad(loss, (a, b), create_graph=True)

    assert cr.autograd.gradcheck(gradients, (x, t))


def test_nll_loss_second_derivative_is_zero():
    x = cr.from_numpy(np.random.default_rng(0).standard_normal((4, 3))).requires_grad_()
    (g,) = cr.autograd.grad(F.nll_loss(x, cr.tensor([0, 2, 1, 2])), x, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), np.array([[-1, 0, 0], [0, 0, -1], [0, -1, 0], [0, 0, -1]]) / 4)
    assert not g.requires_grad  # constant in x: nothing to differentiate


# ----------------------------------------------------------------- extreme inputs


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64], ids=["float32", "float64"])
def test_cross_entropy_with_huge_logits_is_finite_and_exact(dtype):
    x = cr.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [1e4, -1e4, -1e4]], dtype=dtype, requires_grad=True)
    target = cr.tensor([0, 1, 1])
    losses = F.cross_entropy(x, target, reduction="none")
    # row 0: the target dominates -> 0; row 1: two equal maxima -> ln 2; row 2: 2e4 below the max
    np.testing.assert_allclose(losses.detach().numpy(), [0.0, math.log(2), 2e4], rtol=1e-6)
    F.cross_entropy(x, target).backward()
    expected = np.array([[0, 0, 0], [0, -0.5, 0.5], [1, -1, 0]]) / 3  # (softmax - one-hot) / N
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64], ids=["float32", "float64"])
def test_bce_with_logits_at_plus_minus_100_is_finite_and_exact(dtype):
    x = cr.tensor([100.0, -100.0, 100.0, -100.0], dtype=dtype, requires_grad=True)
    t = cr.tensor([0.0, 1.0, 1.0, 0.0], dtype=dtype, requires_grad=True)
    losses = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    # softplus(-100) = ln(1 + e^-100) = e^-100, rounded to the dtype (a subnormal in float32)
    tiny = float(np.exp(np.array(-100.0, dtype=x.detach().numpy().dtype)))
    spacing = float(np.finfo(x.detach().numpy().dtype).smallest_subnormal)
    np.testing.assert_allclose(losses.detach().numpy(), [100, 100, tiny, tiny], rtol=1e-6, atol=spacing)
    assert (losses.detach().numpy()[2:] > 0).all()  # not rounded away to 0
    losses.sum().backward()
    grad = x.grad.numpy()  # σ(x) - t
    np.testing.assert_allclose(grad[[0, 1, 3]], [1, -1, tiny], rtol=1e-6, atol=spacing)
    assert -tiny <= grad[2] <= 0  # σ(100) - 1 = -e^-100, and σ(100) rounds to 1 (in PyTorch too)
    np.testing.assert_allclose(t.grad.numpy(), [-100, 100, -100, 100], rtol=1e-6)  # -x
    pos = F.binary_cross_entropy_with_logits(x, t, reduction="sum", pos_weight=cr.tensor(3.0, dtype=dtype))
    assert math.isfinite(pos.item())
    np.testing.assert_allclose(pos.item(), 100 + 3 * 100 + 3 * tiny + tiny, rtol=1e-6)


def test_bce_clamps_its_logs_at_minus_100_and_keeps_pytorchs_gradient():
    x = cr.tensor([0.0, 1.0, 0.5], requires_grad=True)
    t = cr.tensor([1.0, 0.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(x, t, reduction="sum")
    np.testing.assert_allclose(loss.item(), 200 + math.log(2), rtol=1e-6)
    loss.backward()
    # PyTorch's values for these inputs: (x - t) / max(x(1 - x), 1e-12), and ln(1 - x) - ln x
    np.testing.assert_allclose(x.grad.numpy(), [-1e12, 1e12, -2.0], rtol=1e-6)
    assert t.grad.numpy()[0] == np.inf and t.grad.numpy()[1] == -np.inf and t.grad.numpy()[2] == 0


def test_cross_entropy_mean_over_only_ignored_targets_is_nan_as_in_pytorch():
    x = cr.randn(2, 3, requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor([-100, -100]))
    assert math.isnan(loss.item())
    assert F.cross_entropy(x, cr.tensor([-100, -100]), reduction="sum").item() == 0


# ----------------------------------------------------------------- errors at the boundary


def _logits(*shape):
    return cr.randn(*shape, requires_grad=True)


ERRORS = [
    # call, exception, words the message must hold (what was expected, what was found)
    (lambda: F.cross_entropy(_logits(4, 3), cr.tensor([0.0, 1.0, 2.0, 1.0])), DTypeError,
     ["integer dtype", "(4,)", "float32 target"]),
    (lambda: F.nll_loss(_logits(4, 3), cr.tensor([0.0, 1.0, 2.0, 1.0])), DTypeError, ["integer dtype", "float32"]),
    (lambda: F.cross_entropy(_logits(4, 3), cr.tensor([0, 1, 3, 1])), IndexError, ["target 3", "[0, 3)"]),
    (lambda: F.cross_entropy(_logits(4, 3), cr.tensor([0, -1, 2, 1])), IndexError, ["target -1", "ignore_index=-100"]),
    (lambda: F.nll_loss(_logits(2, 3, 5), cr.tensor([[0, 1, 9, 1, 1], [0] * 5])), IndexError, ["target 9", "[0, 3)"]),
    (lambda: F.cross_entropy(_logits(4, 3), cr.tensor([0, 1, 2])), ShapeError,
     ["input batch_size (4)", "target batch_size (3)"]),
    (lambda: F.nll_loss(_logits(2, 3, 5), cr.tensor([[0, 1, 1, 1, 1]])), ShapeError,
     ["batch_size (2)", "batch_size (1)"]),
    (lambda: F.cross_entropy(_logits(2, 3, 5), cr.tensor([0, 1])), ShapeError, ["(2, 5)", "got (2,)"]),
    (lambda: F.cross_entropy(_logits(3), cr.tensor([0, 1])), ShapeError, ["target of shape ()", "got (2,)"]),
    (lambda: F.cross_entropy(_logits(4, 3), cr.rand(4, 2)), DTypeError, ["(4, 3)", "float32 target of shape (4, 2)"]),
    (lambda: F.cross_entropy(_logits(4, 3), cr.tensor([0, 1, 2, 1]), weight=cr.ones(4)), ShapeError,
     ["(3,)", "got (4,)"]),
    (lambda: F.cross_entropy(_logits(4, 3), cr.tensor([0, 1, 2, 1]), weight=cr.ones(3, dtype=cr.float64)), DTypeError,
     ["float32", "float64"]),
    (lambda: F.cross_entropy(_logits(4, 3), cr.rand(4, 3), ignore_index=1), ValueError,
     ["negative ignore_index", "got 1"]),
    (lambda: F.cross_entropy(_logits(4, 3), cr.tensor([0, 1, 2, 1]), label_smoothing=1.5), ValueError,
     ["[0, 1]", "1.5"]),
    (lambda: F.mse_loss(_logits(4, 1), cr.randn(4)), ShapeError, ["(4, 1)", "got (4,)"]),
    (lambda: F.l1_loss(_logits(4), cr.randn(4, 4)), ShapeError, ["(4,)", "(4, 4)"]),
    (lambda: F.binary_cross_entropy(cr.rand(3), cr.rand(2)), ShapeError, ["(3,)", "(2,)"]),
    (lambda: F.binary_cross_entropy_with_logits(_logits(3, 2), cr.rand(3)), ShapeError, ["(3, 2)", "(3,)"]),
    (lambda: F.binary_cross_entropy_with_logits(_logits(3, 2), cr.rand(3, 2), pos_weight=cr.ones(3)), ShapeError,
     ["pos_weight", "(3, 2)", "(3,)"]),
    (lambda: F.kl_div(_logits(3, 2), cr.rand(2, 3)), ShapeError, ["(3, 2)", "(2, 3)"]),
    (lambda: F.binary_cross_entropy(cr.tensor([0.5, 1.5, -0.2]), cr.tensor([1.0, 0.0, 1.0])), ValueError,
     ["[0, 1]", "found 2 outside", "1.5", "with_logits"]),
    (lambda: F.binary_cross_entropy(cr.tensor([0.5, float("nan")]), cr.tensor([1.0, 0.0])), ValueError,
     ["[0, 1]", "nan"]),
    (lambda: F.mse_loss(_logits(3), cr.randn(3), reduction="avg"), ValueError, ["'none', 'mean' or 'sum'", "'avg'"]),
    (lambda: F.cross_entropy(_logits(2, 3), cr.tensor([0, 1]), reduction="batchmean"), ValueError,
     ["'none', 'mean' or 'sum'", "'batchmean'"]),
    (lambda: F.binary_cross_entropy_with_logits(_logits(3), cr.rand(3), reduction=None), ValueError, ["got None"]),
    (lambda: F.kl_div(_logits(3), cr.rand(3), reduction="max"), ValueError, ["'batchmean'", "'max'"]),
    (lambda: nn.CrossEntropyLoss(reduction="mena")(_logits(2, 3), cr.tensor([0, 1])), ValueError,
     ["'mean'", "'mena'"]),
    (lambda: F.huber_loss(_logits(3), cr.randn(3), delta=0), ValueError, ["delta > 0", "got 0"]),
    (lambda: F.smooth_l1_loss(_logits(3), cr.randn(3), beta=-1.0), ValueError, ["beta >= 0", "got -1.0"]),
    (lambda: nn.HuberLoss(delta="1"), TypeError, ["float or int", "str"]),
    (lambda: F.mse_loss(_logits(3), [1.0, 2.0, 3.0]), TypeError, ["target to be a Tensor", "list"]),
    (lambda: F.cross_entropy(cr.tensor(1.0), cr.tensor(0)), ShapeError, ["(N, C)", "0-d"]),
]  # fmt: skip


@pytest.mark.parametrize("call, error, words", ERRORS, ids=[f"error{i}" for i in range(len(ERRORS))])
def test_bad_input_gets_an_error_naming_what_was_expected_and_found(call, error, words):
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# ----------------------------------------------------------------- modules


def test_loss_modules_have_pytorchs_defaults_and_buffers():
    assert nn.MSELoss().reduction == "mean" and nn.L1Loss(reduction="sum").reduction == "sum"
    ce = nn.CrossEntropyLoss()
    assert (ce.ignore_index, ce.label_smoothing, ce.weight) == (-100, 0.0, None)
    assert nn.HuberLoss().delta == 1.0 and nn.SmoothL1Loss().beta == 1.0 and nn.KLDivLoss().log_target is False
    weight = cr.tensor([1.0, 2.0, 3.0])
    assert list(nn.CrossEntropyLoss(weight=weight).state_dict()) == ["weight"]
    assert list(nn.NLLLoss(weight=weight).state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=weight).state_dict()) == ["pos_weight"]
    assert list(nn.BCELoss().state_dict()) == []
    assert nn.BCEWithLogitsLoss(weight=weight).weight is weight


def test_deprecated_size_average_and_reduce_map_to_reduction_as_in_pytorch():
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.CrossEntropyLoss(reduce=False).reduction == "none"
    x, y = cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.0])
    with pytest.warns(UserWarning):
        assert F.mse_loss(x, y, size_average=False).item() == 5.0


def test_kl_div_mean_warns_as_pytorch_does():
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(cr.randn(2, 3), cr.rand(2, 3), reduction="mean")


def test_cross_entropy_and_bce_with_logits_are_single_fused_nodes():
    x = _logits(4, 3)
    loss = F.cross_entropy(x, cr.tensor([0, 1, 2, 1]), weight=cr.ones(3), label_smoothing=0.1)
    assert loss.grad_fn.name == "CrossEntropyBackward0"
    assert loss.grad_fn.next_functions == ((x, 0),)
    loss = F.binary_cross_entropy_with_logits(x, cr.rand(4, 3), pos_weight=cr.ones(3))
    assert loss.grad_fn.name == "BinaryCrossEntropyWithLogitsBackward0"
    assert loss.grad_fn.next_functions == ((x, 0), (None, 0))
