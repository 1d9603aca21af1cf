"""chainrule.optim against PyTorch's trajectories (tests/fixtures/torch_optim.npz), plus the API:
param groups, zero_grad, state dicts, errors, in-place updates, and the L1 penalty.

Regenerate the fixture with ``/work/torchenv/bin/python scripts/make_torch_fixtures_optim.py``.
"""

import copy
import json
import pathlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

FIXTURE = np.load(pathlib.Path(__file__).parent / "fixtures" / "torch_optim.npz", allow_pickle=False)
CASES = sorted(key.split("/")[1] for key in FIXTURE.files if key.startswith("optim/") and key.endswith("/spec"))
STEPS, EVERY = 50, 5
TOLERANCE = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}
ALL_OPTIMIZERS = [
    optim.SGD,
    optim.Adam,
    optim.AdamW,
    optim.Adagrad,
    optim.RMSprop,
    optim.Adadelta,
    optim.Adamax,
    optim.NAdam,
]


def spec_of(case):
    return json.loads(str(FIXTURE[f"optim/{case}/spec"]))


def objective(W, b, v, X, Y, t):
    """The fixture's objective: mean(√(1 + (X @ W + b − Y)²)) + mean(log1p(exp(s)) − t·s) + 0.05·Σ W⁴,
    s = X[:, :3] @ v."""
    s = X[:, :3] @ v
    return ((X @ W + b - Y) ** 2 + 1).sqrt().mean() + (s.exp().log1p() - t * s).mean() + 0.05 * (W**4).sum()


def data(dtype):
    return [cr.tensor(FIXTURE[key], dtype=dtype) for key in ("data/X", "data/Y", "data/t")]


def make_params(dtype, values=None):
    values = values or [FIXTURE[f"init/{name}"] for name in "Wbv"]
    return [cr.tensor(np.array(value), dtype=dtype, requires_grad=True) for value in values]


def make_optimizer(spec, params):
    if spec["groups"] is None:
        groups = params
    else:
        groups = [{"params": [params[i] for i in indices], **overrides} for indices, overrides in spec["groups"]]
    return getattr(optim, spec["optimizer"])(groups, **spec["kwargs"])


def run(spec, params, opt, steps, dtype):
    """``steps`` steps; returns the snapshots after every EVERY-th step (counting from 1)."""
    inputs = data(dtype)
    snapshots = [[] for _ in params]
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = objective(*params, *inputs)
        (-loss if spec["negate"] else loss).backward()
        opt.step()
        if step % EVERY == 0:
            for i, p in enumerate(params):
                snapshots[i].append(p.detach().numpy().astype(np.float64).copy())
    return [np.stack(s) if s else None for s in snapshots]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES)
def test_trajectory_matches_pytorch(case, dtype):
    spec = spec_of(case)
    params = make_params(getattr(cr, dtype))
    trajectories = run(spec, params, make_optimizer(spec, params), STEPS, getattr(cr, dtype))
    for i, trajectory in enumerate(trajectories):
        expected = FIXTURE[f"optim/{case}/{dtype}/p{i}"]
        assert not np.allclose(expected[-1], FIXTURE[f"init/{'Wbv'[i]}"], rtol=1e-3)  # the case moves the parameter
        np.testing.assert_allclose(trajectory, expected, **TOLERANCE[dtype], err_msg=f"{case} {dtype} param {i}")


@pytest.mark.parametrize("case", CASES)
def test_state_dict_round_trip_continues_the_trajectory(case):
    """Save after 20 steps, load into a fresh optimizer over fresh parameters, continue: equal to
    PyTorch's uninterrupted run."""
    spec = spec_of(case)
    params = make_params(cr.float64)
    opt = make_optimizer(spec, params)
    run(spec, params, opt, 20, cr.float64)
    saved = copy.deepcopy(opt.state_dict())
    assert set(saved) == {"state", "param_groups"}
    assert all(isinstance(key, int) for key in saved["state"])

    fresh = make_params(cr.float64, [p.detach().numpy().copy() for p in params])
    resumed = make_optimizer(spec, fresh)
    resumed.load_state_dict(saved)
    rest = run(spec, fresh, resumed, 30, cr.float64)
    for i, trajectory in enumerate(rest):
        expected = FIXTURE[f"optim/{case}/float64/p{i}"][4:]  # after steps 25, 30, ..., 50
        np.testing.assert_allclose(trajectory, expected, **TOLERANCE["float64"])


def test_state_dict_from_numpy_arrays_loads():
    """A state read back from a checkpoint file holds arrays, not Tensors: it loads the same."""
    spec = spec_of("adam_amsgrad")
    params = make_params(cr.float64)
    opt = make_optimizer(spec, params)
    run(spec, params, opt, 20, cr.float64)
    saved = opt.state_dict()
    as_arrays = {
        "state": {k: {name: np.array(t.numpy()) for name, t in entry.items()} for k, entry in saved["state"].items()},
        "param_groups": saved["param_groups"],
    }
    fresh = make_params(cr.float64, [p.detach().numpy().copy() for p in params])
    resumed = make_optimizer(spec, fresh)
    resumed.load_state_dict(as_arrays)
    rest = run(spec, fresh, resumed, 30, cr.float64)
    np.testing.assert_allclose(rest[0][-1], FIXTURE["optim/adam_amsgrad/float64/p0"][-1], **TOLERANCE["float64"])
    assert resumed.state[fresh[0]]["exp_avg"].dtype == cr.float64


def test_state_dict_format_is_pytorchs():
    w, b = cr.zeros(2, 3, requires_grad=True), cr.zeros(3, requires_grad=True)
    opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    (w.sum() + b.sum()).backward()
    opt.step()
    state = opt.state_dict()
    assert state["param_groups"][0]["params"] == [0] and state["param_groups"][1]["params"] == [1]
    assert state["param_groups"][1]["lr"] == 0.5 and state["param_groups"][0]["lr"] == 0.1
    assert set(state["state"]) == {0, 1}
    assert isinstance(state["state"][0]["momentum_buffer"], cr.Tensor)
    assert state["state"][0]["momentum_buffer"].shape == (2, 3)


def test_adam_state_has_pytorchs_keys_and_step():
    w = cr.ones(3, requires_grad=True)
    opt = optim.Adam([w], amsgrad=True)
    for _ in range(3):
        (w * w).sum().backward()
        opt.step()
    state = opt.state[w]
    assert list(state) == ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    assert state["step"].item() == 3.0 and state["step"].shape == ()


def test_load_state_dict_errors_name_the_mismatch():
    w, b = cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)
    opt = optim.Adam([w, b])
    (w.sum() + b.sum()).backward()
    opt.step()
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="number of parameter groups"):
        optim.Adam([{"params": [w]}, {"params": [b]}]).load_state_dict(saved)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam([w]).load_state_dict(saved)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        optim.Adam([w, b]).load_state_dict({"state": {}})
    swapped = optim.Adam([b, w])
    with pytest.raises(cr.ShapeError, match=r"shape \(2,\).*shape is \(3,\)"):
        swapped.load_state_dict(saved)


def test_param_groups_get_defaults_and_overrides():
    w, b = cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)
    opt = optim.SGD([{"params": [w]}, {"params": b, "lr": 0.5, "momentum": 0.1}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.1
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    assert opt.defaults["lr"] == 0.1 and opt.defaults["l1_decay"] == 0.0


def test_add_param_group_errors():
    w = cr.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    non_leaf = w * 2
    with pytest.raises(ValueError, match="non-leaf"):
        opt.add_param_group({"params": [non_leaf]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {cr.zeros(1, requires_grad=True)}})
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(2)])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.Adam(w)
    v = cr.zeros(4, requires_grad=True)
    opt.add_param_group({"params": [v], "lr": 0.2})
    assert opt.param_groups[1]["lr"] == 0.2 and opt.param_groups[1]["momentum"] == 0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
        (lambda p: optim.SGD(p, momentum=-0.5), "Invalid momentum value: -0.5"),
        (lambda p: optim.SGD(p, weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
        (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
        (lambda p: optim.Adam(p, eps=-1.0), "Invalid epsilon value: -1.0"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
        (lambda p: optim.AdamW(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
        (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
        (lambda p: optim.Adadelta(p, rho=1.5), "Invalid rho value: 1.5"),
        (lambda p: optim.NAdam(p, momentum_decay=-1), "Invalid momentum_decay value: -1"),
        (lambda p: optim.Adamax(p, l1_decay=-0.1), "Invalid l1_decay value: -0.1"),
    ],
)
def test_invalid_hyperparameters_raise_like_pytorch(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make([cr.zeros(2, requires_grad=True)])


def test_non_number_hyperparameter_is_a_type_error():
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        optim.SGD([cr.zeros(2, requires_grad=True)], lr="0.1")


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS)
def test_defaults_are_pytorchs(cls):
    expected = {
        optim.SGD: {"lr": 1e-3, "momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False},
        optim.Adam: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False},
        optim.AdamW: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
        optim.Adagrad: {"lr": 1e-2, "lr_decay": 0, "weight_decay": 0, "initial_accumulator_value": 0, "eps": 1e-10},
        optim.RMSprop: {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0, "momentum": 0, "centered": False},
        optim.Adadelta: {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0},
        optim.Adamax: {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0},
        optim.NAdam: {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "momentum_decay": 4e-3},
    }[cls]
    opt = cls([cr.zeros(2, requires_grad=True)])
    for key, value in expected.items():
        assert opt.defaults[key] == value, key
    assert opt.defaults["maximize"] is False and opt.defaults["l1_decay"] == 0.0


def test_zero_grad_sets_to_none_or_zeros_in_place():
    w = cr.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad()
    assert w.grad is None
    (w * 2).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and np.array_equal(grad.numpy(), np.zeros(3))


def test_step_skips_parameters_without_grad_and_returns_closure_loss():
    w, unused = cr.ones(3, requires_grad=True), cr.ones(2, requires_grad=True)
    opt = optim.Adam([w, unused], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 3.0
    assert np.array_equal(unused.detach().numpy(), np.ones(2)) and unused not in opt.state
    assert np.all(w.detach().numpy() < 1.0)


def test_step_updates_in_place_and_bumps_the_version():
    w = cr.ones(4, requires_grad=True)
    array, version = w._data, w._version
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert w._data is array and w._version == version + 1
    exp_avg = opt.state[w]["exp_avg"]._data
    (w * w).sum().backward()
    opt.step()
    assert opt.state[w]["exp_avg"]._data is exp_avg


def test_step_after_an_op_saved_the_parameter_is_caught_by_autograd():
    """The bumped version counter tells backward that an input it saved was changed in place."""
    w = cr.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    loss = (w * w).sum()  # saves w for backward
    opt.step()
    with pytest.raises(cr.GraphError):
        loss.backward()


def test_grad_of_wrong_shape_is_a_shape_error():
    w = cr.ones(3, requires_grad=True)
    w.grad = cr.ones(1)
    with pytest.raises(cr.ShapeError, match=r"shape \(3,\) has a .grad of shape \(1,\)"):
        optim.SGD([w], lr=0.1).step()


def test_step_does_not_change_the_grad():
    w = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64, requires_grad=True)
    for cls in ALL_OPTIMIZERS:
        opt = cls([w], weight_decay=0.1, l1_decay=0.1, maximize=True)
        (w**3).sum().backward()
        before = w.grad.numpy().copy()
        opt.step()
        opt.step()
        assert np.array_equal(w.grad.numpy(), before), cls.__name__
        opt.zero_grad()


def test_repr_lists_each_group_like_pytorch():
    a, b = cr.zeros(1, requires_grad=True), cr.zeros(1, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1}])
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n    dampening: 0\n")
    assert "Parameter Group 1\n" in text and "    lr: 1\n" in text and text.endswith("\n)")


# ---------------------------------------------------------------------- L1 decay (chainrule's addition)
def test_sgd_l1_decay_equals_sgd_on_the_l1_penalised_loss():
    """grad + l1·sign(w) is the gradient of loss + l1·Σ|w|: the two runs agree step for step."""
    l1 = 0.03
    inputs = data(cr.float64)
    with_option = make_params(cr.float64)
    with_penalty = make_params(cr.float64)
    opt_option = optim.SGD(with_option, lr=0.05, momentum=0.9, l1_decay=l1)
    opt_penalty = optim.SGD(with_penalty, lr=0.05, momentum=0.9)
    for _ in range(30):
        opt_option.zero_grad()
        objective(*with_option, *inputs).backward()
        opt_option.step()
        opt_penalty.zero_grad()
        (objective(*with_penalty, *inputs) + l1 * sum(p.abs().sum() for p in with_penalty)).backward()
        opt_penalty.step()
    for a, b in zip(with_option, with_penalty):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    plain = make_params(cr.float64)
    assert not np.allclose(plain[0].detach().numpy(), with_option[0].detach().numpy())


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS)
def test_l1_decay_drives_small_weights_to_and_through_zero(cls):
    """With no loss gradient, the L1 term alone pulls every weight toward 0, until it crosses (and
    then oscillates near 0); a weight at exactly 0 stays there (sign(0) = 0)."""
    start = np.array([0.02, -0.015, 0.0, 0.01])
    w = cr.tensor(start, dtype=cr.float64, requires_grad=True)
    lr = 1.0 if cls is optim.Adadelta else 1e-3
    opt = cls([w], lr=lr, l1_decay=0.5, weight_decay=0.0)
    history = [start]
    for _ in range(300):
        w.grad = cr.zeros(4, dtype=cr.float64)
        opt.step()
        history.append(w.detach().numpy().copy())
    history = np.array(history)
    assert np.all(history[:, 2] == 0.0)
    for i in (0, 1, 3):
        crossed = np.flatnonzero(np.sign(history[:, i]) != np.sign(start[i]))
        assert crossed.size > 0, f"{cls.__name__}: weight {i} never reached zero"
        before = history[: crossed[0], i]
        assert np.all(np.diff(np.abs(before)) < 0), f"{cls.__name__}: |w| must shrink until it crosses zero"
        assert np.max(np.abs(history[crossed[0] :, i])) < abs(start[i]), f"{cls.__name__}: stays near zero"


def test_sgd_l1_step_is_lr_times_l1_decay_times_sign():
    w = cr.tensor([0.5, -0.25, 0.0], dtype=cr.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, l1_decay=0.2)
    w.grad = cr.tensor([1.0, 1.0, 1.0], dtype=cr.float64)
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.5 - 0.1 * 1.2, -0.25 - 0.1 * 0.8, 0.0 - 0.1], rtol=1e-15)


@pytest.mark.parametrize(
    "cls, temporaries",
    [
        (optim.SGD, 1),
        (optim.Adam, 1),
        (optim.AdamW, 1),
        (optim.Adagrad, 1),
        (optim.RMSprop, 1),
        (optim.Adamax, 1),
        (optim.Adadelta, 2),
        (optim.NAdam, 2),
    ],
)
def test_step_allocates_at_most_the_rules_temporaries(cls, temporaries):
    """Updates run in place: a step's peak extra memory (NumPy reports to tracemalloc) is that of
    the rule's temporaries (one parameter-sized array; two for Adadelta's std and Δ and NAdam's
    shared denominator), not a copy of every buffer."""
    import tracemalloc

    w = cr.zeros(500, 200, dtype=cr.float64, requires_grad=True)
    w.grad = cr.ones(500, 200, dtype=cr.float64)
    opt = cls([w], lr=1e-3, momentum=0.9) if cls in (optim.SGD, optim.RMSprop) else cls([w], lr=1e-3)
    opt.step()  # makes the state
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        opt.step()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    nbytes = w.numel() * 8
    assert peak <= temporaries * nbytes + 64 * 1024, f"{cls.__name__}: {peak / nbytes:.2f} parameter-sized arrays"
    assert peak >= nbytes // 2  # the measurement sees NumPy's allocations at all
