"""BatchNorm1d/2d, LayerNorm, GroupNorm and F.batch_norm / layer_norm / group_norm against PyTorch
(tests/fixtures/torch_norm.npz, from scripts/make_torch_fixtures_norm.py, which also defines the
cases), and by float64 finite differences, first and second order. The tests never import torch."""

import functools
import json
import pathlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_norm.npz"
RTOL64, ATOL64 = 1e-10, 1e-12  # same formulas, different order of rounding
RTOL32, ATOL32 = 1e-5, 1e-5  # float32 round-off of sums over the reduced axes (values of order 1)


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def spec(key):
    return json.loads(str(reference()[key]))


CASES = {case[0]: case for case in spec("cases")}
SEQUENCES = {sequence[0]: sequence for sequence in spec("sequences")}
MODULES = {module[0]: module for module in spec("modules")}
DOUBLE = [name for name, *_, double in CASES.values() if double]


def build(layer, args, kwargs, dtype=None):
    args = [tuple(a) if isinstance(a, list) else a for a in args]
    return getattr(nn, layer)(*args, **kwargs, dtype=dtype)


def case_module(name, dtype):
    """The case's layer with the fixture's parameters and buffers, in the case's mode."""
    _, layer, args, kwargs, _, mode, _ = CASES[name]
    ref, prefix = reference(), f"layer/{name}"
    module = build(layer, args, kwargs, dtype)
    with cr.no_grad():
        for p, param in module.named_parameters():
            param.copy_(ref[f"{prefix}/param/{p}"])
        for b, buffer in module.named_buffers():
            buffer.copy_(ref[f"{prefix}/buffer/{b}"])
    return module.train(mode == "train")


def with_parameters(module, values):
    """The module as a function of x and tensors standing in for its parameters (same order)."""
    names = [name for name, _ in module.named_parameters()]

    def forward(x):
        originals = dict(module._parameters)
        module._parameters.update(zip(names, values))
        try:
            return module(x)
        finally:
            module._parameters.update(originals)

    return forward


PRECISIONS = [
    pytest.param(cr.float64, "", RTOL64, ATOL64, id="float64"),
    pytest.param(cr.float32, "_32", RTOL32, ATOL32, id="float32"),
]


# ----------------------------------------------------------------- every layer and option vs PyTorch


@pytest.mark.parametrize("dtype, suffix, rtol, atol", PRECISIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_layer_matches_pytorch(name, dtype, suffix, rtol, atol):
    ref, prefix = reference(), f"layer/{name}"
    module = case_module(name, dtype)
    x = cr.tensor(ref[f"{prefix}/x"], dtype=dtype, requires_grad=True)
    out = module(x)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(out.detach().numpy(), ref[f"{prefix}/out{suffix}"], rtol=rtol, atol=atol)
    (out * cr.tensor(ref[f"{prefix}/v"], dtype=dtype)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref[f"{prefix}/grad_x{suffix}"], rtol=rtol, atol=atol)
    names = [p for p, _ in module.named_parameters()]
    assert sorted(names) == sorted(k.split("/param/")[1] for k in ref if k.startswith(f"{prefix}/param/"))
    for p, param in module.named_parameters():
        assert param.grad.dtype == dtype
        np.testing.assert_allclose(param.grad.numpy(), ref[f"{prefix}/grad/{p}{suffix}"], rtol, atol, err_msg=p)
    buffers = dict(module.named_buffers())
    after = {k.split("/after/")[1].removesuffix("_32") for k in ref if k.startswith(f"{prefix}/after/")}
    assert set(buffers) == after
    for b, buffer in buffers.items():  # running statistics after the call (unchanged in eval mode)
        expected = ref[f"{prefix}/after/{b}{suffix}"]
        assert buffer.numpy().dtype == expected.dtype, b
        np.testing.assert_allclose(buffer.numpy(), expected, rtol=rtol, atol=atol, err_msg=b)


@pytest.mark.parametrize("name", DOUBLE)
def test_double_backward_matches_pytorch(name):
    ref, prefix = reference(), f"layer/{name}"
    module = case_module(name, cr.float64)
    x = cr.tensor(ref[f"{prefix}/x"], dtype=cr.float64, requires_grad=True)
    params = list(module.parameters())
    loss = (module(x) * cr.tensor(ref[f"{prefix}/v"])).sum()
    first = cr.autograd.grad(loss, [x] + params, create_graph=True)
    names = ["x"] + [p for p, _ in module.named_parameters()]
    for p, grad in zip(names, first):  # the differentiable rule gives the first derivatives too
        expected = ref[f"{prefix}/grad_x" if p == "x" else f"{prefix}/grad/{p}"]
        np.testing.assert_allclose(grad.detach().numpy(), expected, rtol=RTOL64, atol=ATOL64, err_msg=p)
    grad_x = first[0]
    assert grad_x.requires_grad
    second = cr.autograd.grad((grad_x * cr.tensor(ref[f"{prefix}/u"])).sum(), [x] + params, allow_unused=True)
    for p, grad in zip(names, second):
        expected = ref[f"{prefix}/gg_x" if p == "x" else f"{prefix}/gg/{p}"]
        actual = np.zeros_like(expected) if grad is None else grad.numpy()
        np.testing.assert_allclose(actual, expected, rtol=RTOL64, atol=1e-11, err_msg=p)


# ----------------------------------------------------------------- finite differences (float64)


@pytest.mark.parametrize("name", list(CASES))
def test_layer_gradcheck(name):
    module = case_module(name, cr.float64)
    x = cr.tensor(reference()[f"layer/{name}/x"], requires_grad=True)
    assert cr.autograd.gradcheck(lambda x: module(x), (x,))
    params = list(module.parameters())
    if params:
        assert cr.autograd.gradcheck(lambda x, *ws: with_parameters(module, ws)(x), (x, *params))


@pytest.mark.parametrize("name", ["bn1d_nc", "bn2d", "bn2d_eval", "bn1d_one_channel", "ln_two_dims", "gn", "gn_ncl"])
def test_double_backward_gradcheck(name):
    """The first derivatives (computed with create_graph) differentiated by finite differences."""
    module = case_module(name, cr.float64)
    ref = reference()
    v = cr.tensor(ref[f"layer/{name}/v"])
    x = cr.tensor(ref[f"layer/{name}/x"], requires_grad=True)
    params = list(module.parameters())

    def first_derivatives(x, *ws):
        loss = (with_parameters(module, ws)(x) * v).sum()
        return cr.autograd.grad(loss, (x, *ws), create_graph=True)

    assert cr.autograd.gradcheck(first_derivatives, (x, *params))


def test_gradcheck_non_contiguous_input_and_functional_forms():
    base = cr.randn(5, 4, 3, dtype=cr.float64)
    x = base.permute(2, 1, 0).detach().requires_grad_()  # (3, 4, 5), not contiguous
    w, b = cr.randn(4, dtype=cr.float64, requires_grad=True), cr.randn(4, dtype=cr.float64, requires_grad=True)
    rm, rv = cr.zeros(4, dtype=cr.float64), cr.ones(4, dtype=cr.float64)
    assert cr.autograd.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=True), (x, w, b))
    assert cr.autograd.gradcheck(lambda x, b: F.batch_norm(x, rm, rv, None, b, training=False), (x, b))
    assert cr.autograd.gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x,))
    lw = cr.randn(4, 5, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda x, lw: F.layer_norm(x, (4, 5), lw), (x, lw))
    assert cr.autograd.gradcheck(lambda x, w: F.group_norm(x, 2, w), (x, w))
    np.testing.assert_allclose(
        F.group_norm(x, 4).detach().numpy(), F.group_norm(x.contiguous(), 4).detach().numpy(), rtol=1e-14
    )


# ----------------------------------------------------------------- running statistics and modes


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_running_statistics_over_train_and_eval_steps(name):
    """Train steps on fresh batches, eval in between and at the end: every output and every buffer
    after every step as in PyTorch (float32)."""
    _, layer, args, kwargs, _ = SEQUENCES[name]
    ref, prefix = reference(), f"seq/{name}"
    module = build(layer, args, kwargs)
    with cr.no_grad():
        for p, param in module.named_parameters():
            param.copy_(ref[f"{prefix}/param/{p}"])
    for i, mode in enumerate(reference()["steps"]):
        module.train(str(mode) == "train")
        assert module.training == (str(mode) == "train")
        out = module(cr.tensor(ref[f"{prefix}/x{i}"]))
        np.testing.assert_allclose(out.detach().numpy(), ref[f"{prefix}/out{i}"], rtol=RTOL32, atol=ATOL32)
        buffers = dict(module.named_buffers())
        assert sorted(buffers) == sorted(b for b in ("running_mean", "running_var", "num_batches_tracked")
                                         if f"{prefix}/{b}{i}" in ref)  # fmt: skip
        for b, buffer in buffers.items():
            np.testing.assert_allclose(buffer.numpy(), ref[f"{prefix}/{b}{i}"], rtol=RTOL32, atol=1e-6, err_msg=b)
            assert buffer.numpy().dtype == ref[f"{prefix}/{b}{i}"].dtype


def test_eval_uses_running_statistics_and_changes_nothing():
    bn = nn.BatchNorm1d(2, dtype=cr.float64)
    with cr.no_grad():
        bn.running_mean.copy_(np.array([1.0, -2.0]))
        bn.running_var.copy_(np.array([4.0, 0.25]))
    bn.eval()
    x = cr.tensor([[3.0, -1.0], [1.0, -2.0]], dtype=cr.float64)
    expected = (x.numpy() - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5)
    np.testing.assert_allclose(bn(x).detach().numpy(), expected, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 0 and bn.running_mean.tolist() == [1.0, -2.0]
    assert bn(cr.ones(1, 2, dtype=cr.float64)).shape == (1, 2)  # a batch of one is fine in eval mode
    bn.train()
    bn(x)
    assert bn.num_batches_tracked.item() == 1 and bn.num_batches_tracked.dtype == cr.int64


def test_untracked_batchnorm_has_no_buffers_and_always_uses_the_batch():
    bn = nn.BatchNorm2d(3, track_running_stats=False, affine=False).eval()
    assert bn.running_mean is None and list(bn.buffers()) == [] and list(bn.state_dict()) == []
    x = cr.randn(4, 3, 2, 2, dtype=cr.float64) * 3 + 1
    y = bn(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1 / (1 + 1e-5 / x.numpy().var(axis=(0, 2, 3))), rtol=1e-10)


def test_functional_forms_match_pytorch():
    ref = reference()
    options = spec("functional")["bn_train"]
    x = cr.tensor(ref["func/bn_train/x"])
    rm, rv = cr.tensor(ref["func/bn_train/rm"]), cr.tensor(ref["func/bn_train/rv"])
    w, b = cr.tensor(ref["func/bn_train/w"]), cr.tensor(ref["func/bn_eval/b"])
    out = F.batch_norm(x, rm, rv, w, None, True, options["momentum"], options["eps"])
    np.testing.assert_allclose(out.numpy(), ref["func/bn_train/out"], rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(rm.numpy(), ref["func/bn_train/rm_after"], rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(rv.numpy(), ref["func/bn_train/rv_after"], rtol=RTOL64, atol=ATOL64)
    rm, rv = cr.tensor(ref["func/bn_train/rm"]), cr.tensor(ref["func/bn_train/rv"])
    eval_out = F.batch_norm(x, rm, rv, None, b)  # training=False by default
    np.testing.assert_allclose(eval_out.numpy(), ref["func/bn_eval/out"], rtol=RTOL64, atol=ATOL64)
    assert rm.numpy().tolist() == ref["func/bn_train/rm"].tolist()
    batch_only = F.batch_norm(x, None, None, training=True)
    np.testing.assert_allclose(batch_only.numpy(), ref["func/bn_batch_only/out"], rtol=RTOL64, atol=ATOL64)
    y = cr.tensor(ref["func/y"])
    ln = F.layer_norm(y, (6, 3), cr.tensor(ref["func/ln/w"]), cr.tensor(ref["func/ln/b"]), 1e-3)
    np.testing.assert_allclose(ln.numpy(), ref["func/ln/out"], rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(F.layer_norm(y, [3]).numpy(), ref["func/ln_plain/out"], rtol=RTOL64, atol=ATOL64)
    gn = F.group_norm(y, 3, cr.tensor(ref["func/gn/w"]), cr.tensor(ref["func/gn/b"]), 1e-4)
    np.testing.assert_allclose(gn.numpy(), ref["func/gn/out"], rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(F.group_norm(y, 2).numpy(), ref["func/gn_plain/out"], rtol=RTOL64, atol=ATOL64)


# ----------------------------------------------------------------- state dict, repr, construction


@pytest.mark.parametrize("name", list(MODULES))
def test_state_dict_layout_and_repr_match_pytorch(name):
    _, layer, args, kwargs = MODULES[name]
    ref, prefix = reference(), f"module/{name}"
    module = build(layer, args, kwargs)
    state = module.state_dict()
    assert list(state) == ref[f"{prefix}/keys"].tolist()
    assert [str(tuple(t.shape)) for t in state.values()] == ref[f"{prefix}/shapes"].tolist()
    assert [t.dtype.name for t in state.values()] == ref[f"{prefix}/dtypes"].tolist()
    assert repr(module) == str(ref[f"{prefix}/repr"])


def test_initial_values_and_state_dict_round_trip():
    bn = nn.BatchNorm1d(3)
    assert bn.weight.tolist() == [1.0] * 3 and bn.bias.tolist() == [0.0] * 3
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.running_var.tolist() == [1.0] * 3
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.item() == 0
    for _ in range(2):
        bn(cr.randn(5, 3))
    other = nn.BatchNorm1d(3)
    other.load_state_dict({k: v.numpy() for k, v in bn.state_dict().items()})
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), bn.state_dict()[key].numpy(), err_msg=key)
    assert other.num_batches_tracked.item() == 2
    old = {k: v.numpy() for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    assert nn.BatchNorm1d(3).load_state_dict(old) == ([], [])  # as PyTorch: old state dicts lack the count
    with pytest.raises(RuntimeError, match="size mismatch for running_var"):
        nn.BatchNorm1d(3).load_state_dict({**old, "running_var": np.ones(4, np.float32)})
    double = nn.LayerNorm((2, 3), dtype=cr.float64)
    assert double.weight.dtype == cr.float64 and double.weight.shape == (2, 3)
    assert nn.BatchNorm2d(4).to(cr.float64).num_batches_tracked.dtype == cr.int64


def test_backward_graph_node_names():
    x = cr.randn(4, 3, requires_grad=True)
    assert nn.BatchNorm1d(3)(x).grad_fn.name == "BatchNormBackward0"
    assert nn.LayerNorm(3)(x).grad_fn.name == "LayerNormBackward0"
    assert nn.GroupNorm(1, 3)(x).grad_fn.name == "GroupNormBackward0"


def test_output_changed_in_place_does_not_change_the_gradient():
    """Without affine parameters the output is a copy of the saved x̂, so changing it is harmless."""
    x = cr.randn(4, 3, dtype=cr.float64, requires_grad=True)
    v = cr.randn(3, dtype=cr.float64)
    (F.layer_norm(x, (3,)).sum(dim=0) * v).sum().backward()  # sum(dim=0) saves nothing of the output
    expected = x.grad.numpy().copy()
    x.grad = None
    y = F.layer_norm(x, (3,))
    loss = (y.sum(dim=0) * v).sum()
    with cr.no_grad():
        y.fill_(5.0)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    assert np.abs(expected).max() > 0.01


# ----------------------------------------------------------------- errors


def test_batch_of_one_in_training_is_refused_as_in_pytorch():
    expected = str(reference()["errors/batch_of_one"])
    prefix = expected.split(", got")[0]
    assert prefix == "Expected more than 1 value per channel when training"
    with pytest.raises(ValueError, match=f"^{prefix}, got input size \\(1, 3\\)$"):
        nn.BatchNorm1d(3)(cr.randn(1, 3))
    with pytest.raises(ValueError, match=prefix):
        nn.BatchNorm2d(3)(cr.randn(1, 3, 1, 1))
    assert nn.BatchNorm1d(3)(cr.randn(1, 3, 2)).shape == (1, 3, 2)  # two values per channel: fine


def test_errors_name_the_layer_and_what_was_expected():
    with pytest.raises(
        cr.ShapeError, match=r"^BatchNorm2d\(16\) expected 16 channels, got input of shape \(8, 3, 28, 28\)$"
    ):
        nn.BatchNorm2d(16)(cr.randn(8, 3, 28, 28))
    with pytest.raises(cr.ShapeError, match=r"BatchNorm1d\(4\) expected 4 channels, got input of shape \(2, 3\)"):
        nn.BatchNorm1d(4)(cr.randn(2, 3))
    with pytest.raises(cr.ShapeError, match=r"BatchNorm1d\(4\): expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(4)(cr.randn(2, 4, 3, 3))
    with pytest.raises(cr.ShapeError, match=r"BatchNorm2d\(4\): expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(4)(cr.randn(2, 4, 3))
    with pytest.raises(cr.ShapeError, match=r"LayerNorm\(\(5,\).*normalized_shape=\(5,\).*\(\*, 5\).*\(3, 4\)"):
        nn.LayerNorm(5)(cr.randn(3, 4))
    with pytest.raises(cr.ShapeError, match=r"GroupNorm\(2, 6\) expected 6 channels, got input of shape \(2, 4, 3\)"):
        nn.GroupNorm(2, 6)(cr.randn(2, 4, 3))
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(cr.ShapeError, match=r"divisible by num_groups.*\(2, 6, 3\).*num_groups=4"):
        F.group_norm(cr.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match="running_mean and running_var must be defined in evaluation mode"):
        F.batch_norm(cr.randn(4, 3), None, None)
    with pytest.raises(cr.ShapeError, match=r"running_mean must have shape \(3,\).*got \(4,\)"):
        F.batch_norm(cr.randn(4, 3), cr.zeros(4), cr.ones(4), training=True)
    with pytest.raises(cr.ShapeError, match=r"weight must have shape \(3,\), got \(4,\)"):
        F.batch_norm(cr.randn(4, 3), None, None, cr.ones(4), training=True)
    with pytest.raises(cr.DTypeError, match="weight is float64 but the input is float32"):
        F.layer_norm(cr.randn(4, 3), (3,), cr.ones(3, dtype=cr.float64))
    with pytest.raises(cr.DTypeError, match="floating-point"):
        F.layer_norm(cr.tensor([[1, 2, 3]]), (3,))
    with pytest.raises(TypeError, match="expected a Tensor"):
        F.group_norm(np.ones((2, 4)), 2)


def test_a_small_network_with_normalisation_trains():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 1))
    assert len(list(model.parameters())) == 8
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    x = cr.randn(64, 4)
    y = (x[:, :1] * 2 - x[:, 1:2]).detach()
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    model.eval()
    assert F.mse_loss(model(x), y).item() < 0.5 * losses[0]  # the running statistics serve in eval mode too
