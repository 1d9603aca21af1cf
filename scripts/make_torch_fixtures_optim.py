"""Write tests/fixtures/torch_optim.npz: PyTorch's optimizer trajectories and learning-rate sequences.

Run it where PyTorch is installed (the tests themselves never import torch)::

    /work/torchenv/bin/python scripts/make_torch_fixtures_optim.py

Optimizers. Three parameters W (4, 3), b (3,), v (3,) minimise the convex, non-quadratic objective

    s = X[:, :3] @ v
    L = mean(√(1 + (X @ W + b − Y)²)) + mean(log1p(exp(s)) − t·s) + 0.05·Σ W⁴    (−L for ``maximize``)

(pseudo-Huber regression, logistic regression, a quartic penalty) on fixed data X (8, 4), Y (8, 3),
t (8,), far enough from the optimum that no coordinate reaches it in 50 steps. Each case runs 50
steps, gradients from PyTorch's autograd, in float64 and in float32 (default dtype float32, so
PyTorch's ``step`` state is float32). The script refuses a case whose float32 and float64 runs in
PyTorch itself differ by more than ROUND_OFF (relative): a trajectory that amplifies round-off
cannot test an update rule at float32 round-off.

- ``data/X``, ``data/Y``, ``data/t``, ``init/W``, ``init/b``, ``init/v``   float64 data, initial values
- ``optim/{case}/spec``       JSON: {"optimizer", "kwargs", "groups" (null or [[param indices], {overrides}]),
                               "negate"}
- ``optim/{case}/{dtype}/p{i}``  (10, *shape_i): parameter i after steps 5, 10, ..., 50

Schedulers. Each case builds an optimizer (SGD with momentum, or Adam) with two parameter groups
(lr 0.1 and 0.05) and a scheduler, then calls ``scheduler.step()`` 40 times:

- ``sched/{case}/spec``       JSON: {"scheduler", "kwargs", "optimizer", and for SequentialLR "children"}
- ``sched/{case}/lr``         (41, 2): ``get_last_lr()`` after construction and after each step
- ``sched/{case}/momentum``   (41, 2): momentum (or Adam's β₁) of each group, for OneCycleLR
- ``sched/{case}/metrics``    (40,): the metric fed to ReduceLROnPlateau.step
"""

import json
import pathlib

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "torch_optim.npz"
STEPS, EVERY = 50, 5
ROUND_OFF = 3e-6  # largest relative difference allowed between PyTorch's own float32 and float64 runs
SCHED_STEPS = 40

# name: (optimizer, kwargs, groups, negate)
OPTIM_CASES = {
    "sgd": ("SGD", {"lr": 0.05}, None, False),
    "sgd_momentum": ("SGD", {"lr": 0.05, "momentum": 0.9}, None, False),
    "sgd_dampening_wd": ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}, None, False),
    "sgd_nesterov_wd": ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, None, False),
    "sgd_maximize": ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}, None, True),
    "sgd_two_groups": ("SGD", {"lr": 0.05, "momentum": 0.9}, [[[0], {}], [[1, 2], {"lr": 0.01}]], False),
    "adam": ("Adam", {"lr": 0.01}, None, False),
    "adam_wd": ("Adam", {"lr": 0.01, "weight_decay": 0.05}, None, False),
    "adam_amsgrad": ("Adam", {"lr": 0.01, "amsgrad": True}, None, False),
    "adam_low_beta1": ("Adam", {"lr": 0.01, "betas": [0.3, 0.9], "eps": 1e-6}, None, False),
    "adam_maximize": ("Adam", {"lr": 0.01, "maximize": True, "weight_decay": 0.01}, None, True),
    "adam_two_groups": (
        "Adam",
        {"lr": 0.01},
        [[[0, 2], {"weight_decay": 0.02}], [[1], {"lr": 0.003, "amsgrad": True}]],
        False,
    ),
    "adamw": ("AdamW", {"lr": 0.005}, None, False),
    "adamw_amsgrad_wd": ("AdamW", {"lr": 0.005, "weight_decay": 0.1, "amsgrad": True}, None, False),
    "adagrad": ("Adagrad", {"lr": 0.05}, None, False),
    "adagrad_options": (
        "Adagrad",
        {"lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.01},
        None,
        False,
    ),
    "rmsprop": ("RMSprop", {"lr": 0.01}, None, False),
    "rmsprop_centered": ("RMSprop", {"lr": 0.01, "centered": True}, None, False),
    "rmsprop_centered_momentum": ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9}, None, False),
    "rmsprop_momentum_wd": ("RMSprop", {"lr": 0.005, "alpha": 0.9, "weight_decay": 0.01, "momentum": 0.5}, None, False),
    "adadelta": ("Adadelta", {}, None, False),
    "adadelta_options": ("Adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01}, None, False),
    "adamax": ("Adamax", {"lr": 0.02}, None, False),
    "adamax_wd": ("Adamax", {"lr": 0.02, "weight_decay": 0.01, "maximize": True}, None, True),
    "nadam": ("NAdam", {"lr": 0.01}, None, False),
    "nadam_wd": ("NAdam", {"lr": 0.01, "weight_decay": 0.01, "momentum_decay": 0.01}, None, False),
    "nadam_decoupled": ("NAdam", {"lr": 0.01, "weight_decay": 0.05, "decoupled_weight_decay": True}, None, False),
}

LAMBDAS = {  # the same table is in tests/test_lr_scheduler.py
    "exp095": lambda epoch: 0.95**epoch,
    "inverse": lambda epoch: 1.0 / (1.0 + 0.3 * epoch),
}


def sched(name, optimizer="SGD", **kwargs):
    return {"scheduler": name, "kwargs": kwargs, "optimizer": optimizer}


def sequential(children, milestones):
    return {"scheduler": "SequentialLR", "kwargs": {"milestones": milestones}, "optimizer": "SGD", "children": children}


SCHED_CASES = {
    "lambda": sched("LambdaLR", lr_lambda="exp095"),
    "lambda_per_group": sched("LambdaLR", lr_lambda=["exp095", "inverse"]),
    "step": sched("StepLR", step_size=7, gamma=0.5),
    "step_small": sched("StepLR", step_size=3, gamma=0.9),
    "multistep": sched("MultiStepLR", milestones=[5, 12, 12, 30], gamma=0.5),
    "exponential": sched("ExponentialLR", gamma=0.93),
    "linear": sched("LinearLR"),
    "linear_options": sched("LinearLR", start_factor=0.25, end_factor=0.75, total_iters=10),
    "linear_decay": sched("LinearLR", start_factor=1.0, end_factor=0.1, total_iters=30),
    "cosine_short": sched("CosineAnnealingLR", T_max=10, eta_min=0.001),
    "cosine_long": sched("CosineAnnealingLR", T_max=40),
    "cosine_odd": sched("CosineAnnealingLR", T_max=7, eta_min=0.01),
    "plateau": sched("ReduceLROnPlateau", patience=3),
    "plateau_max_abs": sched(
        "ReduceLROnPlateau", mode="max", threshold_mode="abs", threshold=0.05, cooldown=2, patience=1,
        min_lr=[0.02, 0.001], factor=0.5,
    ),
    "plateau_eager": sched("ReduceLROnPlateau", factor=0.5, patience=0, threshold=0.01, eps=1e-3),
    "onecycle_cos": sched("OneCycleLR", max_lr=0.5, total_steps=40),
    "onecycle_linear_three_phase_adam": sched(
        "OneCycleLR", optimizer="Adam", max_lr=[0.3, 0.1], total_steps=40, anneal_strategy="linear", three_phase=True
    ),
    "onecycle_epochs": sched(
        "OneCycleLR", max_lr=0.2, epochs=4, steps_per_epoch=10, pct_start=0.25, div_factor=10.0,
        final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9,
    ),
    "onecycle_no_momentum": sched("OneCycleLR", max_lr=0.4, total_steps=45, cycle_momentum=False),
    "sequential_warmup_cosine": sequential(
        [sched("LinearLR", start_factor=0.1, total_iters=5), sched("CosineAnnealingLR", T_max=30)], [5]
    ),
    "sequential_three": sequential(
        [
            sched("ExponentialLR", gamma=0.9),
            sched("StepLR", step_size=5, gamma=0.5),
            sched("LambdaLR", lr_lambda="inverse"),
        ],
        [10, 25],
    ),
}  # fmt: skip


def plateau_metrics():
    """A loss that falls, then stalls with small wiggles, then falls again (a fixed sequence)."""
    epochs = np.arange(SCHED_STEPS)
    wiggle = 0.01 * np.sin(1.7 * epochs)
    return np.where(epochs < 12, 1.0 / (1 + epochs), 1.0 / 13 + wiggle) - np.where(epochs > 28, 0.01 * (epochs - 28), 0)


def objective(W, b, v, X, Y, t):
    s = X[:, :3] @ v
    return ((X @ W + b - Y) ** 2 + 1).sqrt().mean() + (s.exp().log1p() - t * s).mean() + 0.05 * (W**4).sum()


def make_data():
    rng = np.random.default_rng(20240613)
    return {
        "data/X": rng.standard_normal((8, 4)),
        "data/Y": 2.5 + rng.standard_normal((8, 3)),
        "data/t": rng.uniform(0.9, 0.98, 8),
        "init/W": 0.7 * rng.standard_normal((4, 3)),
        "init/b": 0.3 * rng.standard_normal(3),
        "init/v": rng.standard_normal(3),
    }


def run_optim_case(spec, data, dtype):
    params = [torch.tensor(data[f"init/{n}"], dtype=dtype, requires_grad=True) for n in "Wbv"]
    X, Y, t = (torch.tensor(data[k], dtype=dtype) for k in ("data/X", "data/Y", "data/t"))
    kwargs = dict(spec["kwargs"])
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    if spec["groups"] is None:
        groups = params
    else:
        groups = [{"params": [params[i] for i in indices], **overrides} for indices, overrides in spec["groups"]]
    opt = getattr(torch.optim, spec["optimizer"])(groups, foreach=False, **kwargs)
    snapshots = [[] for _ in params]
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        loss = objective(*params, X, Y, t)
        (-loss if spec["negate"] else loss).backward()
        opt.step()
        if step % EVERY == 0:
            for i, p in enumerate(params):
                snapshots[i].append(p.detach().numpy().astype(np.float64).copy())
    return [np.stack(s) for s in snapshots]


def make_scheduler(spec, opt):
    kwargs = dict(spec["kwargs"])
    name = spec["scheduler"]
    if name == "LambdaLR":
        fn = kwargs["lr_lambda"]
        kwargs["lr_lambda"] = [LAMBDAS[f] for f in fn] if isinstance(fn, list) else LAMBDAS[fn]
    if name == "SequentialLR":
        kwargs["schedulers"] = [make_scheduler(child, opt) for child in spec["children"]]
    return getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)


def run_sched_case(spec, metrics):
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if spec["optimizer"] == "Adam":
        opt = torch.optim.Adam(groups, lr=0.1)
    else:
        opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    scheduler = make_scheduler(spec, opt)

    def momenta():
        return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]

    lrs, moms = [scheduler.get_last_lr()], [momenta()]
    for epoch in range(SCHED_STEPS):
        opt.step()
        if spec["scheduler"] == "ReduceLROnPlateau":
            scheduler.step(float(metrics[epoch]))
        else:
            scheduler.step()
        lrs.append(scheduler.get_last_lr())
        moms.append(momenta())
    return np.array(lrs, dtype=np.float64), np.array(moms, dtype=np.float64)


def main():
    torch.set_default_dtype(torch.float32)
    data = make_data()
    store = dict(data)
    for name, (optimizer, kwargs, groups, negate) in OPTIM_CASES.items():
        spec = {"optimizer": optimizer, "kwargs": kwargs, "groups": groups, "negate": negate}
        store[f"optim/{name}/spec"] = np.array(json.dumps(spec))
        runs = {
            "float64": run_optim_case(spec, data, torch.float64),
            "float32": run_optim_case(spec, data, torch.float32),
        }
        for label, trajectories in runs.items():
            for i, trajectory in enumerate(trajectories):
                store[f"optim/{name}/{label}/p{i}"] = trajectory
        sensitivity = max(
            float(np.max(np.abs(a - b) / (np.abs(a) + 0.1))) for a, b in zip(runs["float64"], runs["float32"])
        )
        if sensitivity > ROUND_OFF:
            raise SystemExit(f"{name}: PyTorch's float32 run differs from its float64 run by {sensitivity:.1e}")
    metrics = plateau_metrics()
    for name, spec in SCHED_CASES.items():
        store[f"sched/{name}/spec"] = np.array(json.dumps(spec))
        lrs, moms = run_sched_case(spec, metrics)
        store[f"sched/{name}/lr"] = lrs
        if spec["scheduler"] == "OneCycleLR":
            store[f"sched/{name}/momentum"] = moms
        if spec["scheduler"] == "ReduceLROnPlateau":
            store[f"sched/{name}/metrics"] = metrics
    store["meta/torch_version"] = np.array(torch.__version__)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUTPUT, **store)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1024:.0f} KiB, {len(store)} arrays)")


if __name__ == "__main__":
    main()
