"""chainrule.optim.lr_scheduler against PyTorch's learning-rate sequences
(tests/fixtures/torch_optim.npz, ``sched/*``), state dict round trips, and errors.

Regenerate the fixture with ``/work/torchenv/bin/python scripts/make_torch_fixtures_optim.py``.
"""

import json
import pathlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler

FIXTURE = np.load(pathlib.Path(__file__).parent / "fixtures" / "torch_optim.npz", allow_pickle=False)
CASES = sorted(key.split("/")[1] for key in FIXTURE.files if key.startswith("sched/") and key.endswith("/spec"))
STEPS = 40

LAMBDAS = {  # the same table is in scripts/make_torch_fixtures_optim.py
    "exp095": lambda epoch: 0.95**epoch,
    "inverse": lambda epoch: 1.0 / (1.0 + 0.3 * epoch),
}


def spec_of(case):
    return json.loads(str(FIXTURE[f"sched/{case}/spec"]))


def make_optimizer(spec):
    a, b = cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if spec["optimizer"] == "Adam":
        return optim.Adam(groups, lr=0.1)
    return optim.SGD(groups, lr=0.1, momentum=0.9)


def make_scheduler(spec, opt):
    kwargs = dict(spec["kwargs"])
    if spec["scheduler"] == "LambdaLR":
        fn = kwargs["lr_lambda"]
        kwargs["lr_lambda"] = [LAMBDAS[f] for f in fn] if isinstance(fn, list) else LAMBDAS[fn]
    if spec["scheduler"] == "SequentialLR":
        kwargs["schedulers"] = [make_scheduler(child, opt) for child in spec["children"]]
    return getattr(lr_scheduler, spec["scheduler"])(opt, **kwargs)


def momenta(opt):
    return [group["betas"][0] if "betas" in group else group["momentum"] for group in opt.param_groups]


def advance(spec, opt, scheduler, epochs, lrs, moms, case):
    for epoch in epochs:
        opt.step()
        if spec["scheduler"] == "ReduceLROnPlateau":
            scheduler.step(FIXTURE[f"sched/{case}/metrics"][epoch])
        else:
            scheduler.step()
        lrs.append(scheduler.get_last_lr())
        moms.append(momenta(opt))


def check(case, lrs, moms, start=0):
    expected = FIXTURE[f"sched/{case}/lr"][start:]
    np.testing.assert_allclose(np.array(lrs, dtype=np.float64), expected, rtol=1e-13, atol=1e-16)
    if f"sched/{case}/momentum" in FIXTURE.files:
        expected = FIXTURE[f"sched/{case}/momentum"][start:]
        np.testing.assert_allclose(np.array(moms, dtype=np.float64), expected, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("case", CASES)
def test_sequence_matches_pytorch(case):
    spec = spec_of(case)
    opt = make_optimizer(spec)
    scheduler = make_scheduler(spec, opt)
    lrs, moms = [scheduler.get_last_lr()], [momenta(opt)]
    advance(spec, opt, scheduler, range(STEPS), lrs, moms, case)
    assert len(set(map(tuple, lrs))) > 2  # the schedule changes the lr
    assert [group["lr"] for group in opt.param_groups] == lrs[-1]
    check(case, lrs, moms)


@pytest.mark.parametrize("case", CASES)
def test_state_dict_round_trip_mid_way(case):
    """Save optimizer and scheduler after 20 epochs; a fresh pair loads them (scheduler made
    first, as PyTorch prescribes) and continues with PyTorch's sequence."""
    spec = spec_of(case)
    opt = make_optimizer(spec)
    scheduler = make_scheduler(spec, opt)
    advance(spec, opt, scheduler, range(20), [], [], case)
    saved_optimizer, saved_scheduler = opt.state_dict(), scheduler.state_dict()
    assert "optimizer" not in saved_scheduler

    fresh_opt = make_optimizer(spec)
    fresh = make_scheduler(spec, fresh_opt)
    fresh_opt.load_state_dict(saved_optimizer)
    fresh.load_state_dict(saved_scheduler)
    assert fresh.get_last_lr() == scheduler.get_last_lr() and fresh.last_epoch == scheduler.last_epoch
    lrs, moms = [], []
    advance(spec, fresh_opt, fresh, range(20, STEPS), lrs, moms, case)
    check(case, lrs, moms, start=21)


def test_scheduler_sets_initial_lr_and_base_lrs():
    opt = make_optimizer({"optimizer": "SGD"})
    scheduler = lr_scheduler.StepLR(opt, step_size=2)
    assert [group["initial_lr"] for group in opt.param_groups] == [0.1, 0.05]
    assert scheduler.base_lrs == [0.1, 0.05] and scheduler.last_epoch == 0
    assert scheduler.get_last_lr() == [0.1, 0.05]


def test_resuming_with_last_epoch_needs_initial_lr():
    opt = make_optimizer({"optimizer": "SGD"})
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(opt, gamma=0.9, last_epoch=5)


def test_lambda_functions_are_not_saved_but_callable_objects_are():
    class Warmup:
        def __init__(self):
            self.scale = 2.0

        def __call__(self, epoch):
            return self.scale * epoch

    opt = make_optimizer({"optimizer": "SGD"})
    objects = [Warmup(), Warmup()]
    scheduler = lr_scheduler.LambdaLR(opt, [lambda epoch: 1.0, objects[1]])
    objects[1].scale = 3.0
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [None, {"scale": 3.0}]
    other = lr_scheduler.LambdaLR(make_optimizer({"optimizer": "SGD"}), [lambda epoch: 1.0, objects[0]])
    other.load_state_dict(state)
    assert objects[0].scale == 3.0 and callable(other.lr_lambdas[0])


def test_plateau_state_dict_keeps_best_and_counters():
    opt = make_optimizer({"optimizer": "SGD"})
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for metric in (1.0, 0.5, 0.6, 0.7):
        scheduler.step(metric)
    state = scheduler.state_dict()
    assert state["best"] == 0.5 and state["num_bad_epochs"] == 0 and scheduler.get_last_lr() == [0.05, 0.025]
    scheduler.step(cr.tensor(0.8))  # a one-element Tensor is a metric too
    assert scheduler.num_bad_epochs == 1


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda opt: lr_scheduler.StepLR(object(), step_size=1), TypeError, "object is not an Optimizer"),
        (lambda opt: lr_scheduler.LambdaLR(opt, [lambda e: 1.0]), ValueError, "Expected 2 lr_lambdas, but got 1"),
        (lambda opt: lr_scheduler.LinearLR(opt, start_factor=0), ValueError, "Starting multiplicative factor"),
        (lambda opt: lr_scheduler.LinearLR(opt, end_factor=1.5), ValueError, "Ending multiplicative factor"),
        (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=1.0), ValueError, "Factor should be < 1.0"),
        (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode="up"), ValueError, "mode 'up' is unknown"),
        (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1]), ValueError, "expected 2 min_lrs, got 1"),
        (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.1), ValueError, "total_steps OR"),
        (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=0), ValueError, "positive integer"),
        (lambda opt: lr_scheduler.OneCycleLR(opt, 0.1, 10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
        (lambda opt: lr_scheduler.OneCycleLR(opt, [0.1], 10), ValueError, "max_lr must have the same length"),
        (lambda opt: lr_scheduler.SequentialLR(opt, [], []), ValueError, "at least one scheduler"),
        (
            lambda opt: lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2)], [3]),
            ValueError,
            "number of schedulers provided to be one more",
        ),
    ],
)
def test_bad_arguments_raise(make, error, message):
    with pytest.raises(error, match=message):
        make(make_optimizer({"optimizer": "SGD"}))


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = make_optimizer({"optimizer": "SGD"})
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        scheduler.step()


def test_one_cycle_momentum_needs_an_optimizer_with_momentum():
    opt = optim.Adagrad([cr.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False)


def test_sequential_refuses_plateau_and_foreign_optimizers():
    opt, other = make_optimizer({"optimizer": "SGD"}), make_optimizer({"optimizer": "SGD"})
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2), lr_scheduler.ReduceLROnPlateau(opt)], [3])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2), lr_scheduler.StepLR(other, 2)], [3])


def test_schedules_drive_a_real_optimizer_step():
    """The lr a scheduler sets is the one the next optimizer step uses."""
    w = cr.zeros(1, dtype=cr.float64, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    scheduler = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        w.grad = cr.ones(1, dtype=cr.float64)
        opt.step()
        scheduler.step()
    assert w.item() == -(1.0 + 0.5 + 0.25)
