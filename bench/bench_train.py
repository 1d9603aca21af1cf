"""chainrule against PyTorch (CPU): full training steps written with nn, losses and optim.

The same measuring rules as bench_core.py, whose helpers this script imports: both frameworks in
one process, interleaved, the order reversed on every other repetition, medians over repetitions,
each thread count in its own child process with OMP/OPENBLAS/MKL_NUM_THREADS set before NumPy
loads its BLAS. Ratios are chainrule time / PyTorch time (below 1 means chainrule is faster).

    python bench/bench_train.py                          # 1 and 2 threads, 7 repetitions
    python bench/bench_train.py --threads 1 --reps 9 --json train.json
    python bench/bench_train.py --bench adam_step --threads 1
    python bench/bench_train.py --profile 300            # cProfile of chainrule's mlp_train step

Benchmarks (784-256-128-10 ReLU ``nn.Sequential``, batch 128, float32, ``nn.CrossEntropyLoss``;
the same initial weights, loaded with ``load_state_dict``, and the same batch on every side):
  mlp_train  optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step() with
             optim.Adam(lr=1e-3)
  mlp_sgd    the same step with optim.SGD(lr=0.01, momentum=0.9)
  adam_step  optimizer.step() alone (Adam over the model's 6 parameters, gradients fixed)
Each has a hand-written NumPy floor (forward, backward and the update rule in place, the arrays
preallocated), so that "time above the GEMMs" can be read off.
"""

import importlib
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_core as core  # noqa: E402 - bench/ is a folder of scripts; reuse the measuring helpers

SIZES = (784, 256, 128, 10)
BATCH = 128
ADAM = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}
SGD = {"lr": 0.01, "momentum": 0.9}
BENCHES = ("mlp_train", "mlp_sgd", "adam_step")
TARGETS = {"mlp_train": 0.9, "mlp_sgd": 0.9}  # as bench_core's mlp step; adam_step has none
SANITY_STEPS = 3


# --------------------------------------------------------------------------------------- parent
def main():
    core.layer_bench_main(
        __file__,
        __doc__,
        BENCHES,
        lambda name, libs, args: BENCH_FUNCTIONS[name](libs, args),
        seconds=0.25,
        alone="chainrule (and NumPy)",
        profile="chainrule mlp_train steps",
        profile_run=lambda cr, args: profile_chainrule(cr, args.profile),
    )


# ---------------------------------------------------------------------------------------- child
# ---------------------------------------------------------------------------- shared set-up
def initial_state(np):
    """A PyTorch-layout state dict (``0.weight`` (256, 784), ...) drawn like PyTorch's default Linear
    init (U(-1/sqrt(in), 1/sqrt(in))) with NumPy, and one batch: x (128, 784) float32, y (128,) int64."""
    rng = np.random.default_rng(1234)
    state = {}
    for layer, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        bound = 1 / math.sqrt(fan_in)
        state[f"{2 * layer}.weight"] = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        state[f"{2 * layer}.bias"] = rng.uniform(-bound, bound, fan_out).astype(np.float32)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH).astype(np.int64)
    return state, x, y


def build(lib, state, x_array, y_array, optimizer_name):
    """Model, loss, optimizer and batch in chainrule or PyTorch; the code is the same for both."""
    nn = importlib.import_module(f"{lib.__name__}.nn")
    optim = importlib.import_module(f"{lib.__name__}.optim")
    model = nn.Sequential(
        nn.Linear(SIZES[0], SIZES[1]),
        nn.ReLU(),
        nn.Linear(SIZES[1], SIZES[2]),
        nn.ReLU(),
        nn.Linear(SIZES[2], SIZES[3]),
    )
    model.load_state_dict({name: lib.from_numpy(array.copy()) for name, array in state.items()})
    loss_fn = nn.CrossEntropyLoss()
    if optimizer_name == "adam":
        optimizer = optim.Adam(model.parameters(), **ADAM)
    else:
        optimizer = optim.SGD(model.parameters(), **SGD)
    x, y = lib.from_numpy(x_array.copy()), lib.from_numpy(y_array.copy())

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step, model, optimizer


# ------------------------------------------------------------------------------- NumPy floor
class NumpyAdam:
    """torch.optim.Adam's rule (single-tensor form) in place, one preallocated temporary per parameter."""

    def __init__(self, np, params, lr, betas, eps):
        self.np, self.params, self.lr, (self.beta1, self.beta2), self.eps = np, params, lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        np = self.np
        self.t += 1
        step_size = self.lr / (1 - self.beta1**self.t)
        bias_correction2_sqrt = math.sqrt(1 - self.beta2**self.t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            m *= self.beta1  # m = β1 m + (1 - β1) g
            np.multiply(g, 1 - self.beta1, out=tmp)
            m += tmp
            v *= self.beta2  # v = β2 v + (1 - β2) g²
            np.multiply(g, g, out=tmp)
            tmp *= 1 - self.beta2
            v += tmp
            np.sqrt(v, out=tmp)  # p -= step_size m / (sqrt(v) / sqrt(1 - β2^t) + eps)
            tmp /= bias_correction2_sqrt
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp


class NumpySGD:
    """torch.optim.SGD's momentum rule in place: buf = g on the first step, then buf = μ buf + g; p -= lr buf."""

    def __init__(self, np, params, lr, momentum):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.bufs = None

    def step(self, grads):
        if self.bufs is None:
            self.bufs = [g.copy() for g in grads]
        else:
            for buf, g in zip(self.bufs, grads):
                buf *= self.momentum
                buf += g
        for p, buf in zip(self.params, self.bufs):
            p -= self.lr * buf


def numpy_step(np, state, x, y, optimizer_name):
    """The same training step by hand: forward, backward (the three GEMMs per layer), the update."""
    params = [state[name].copy() for name in state]  # w1 (256, 784), b1, w2, b2, w3, b3
    w1, b1, w2, b2, w3, b3 = params
    rows = np.arange(BATCH)
    if optimizer_name == "adam":
        optimizer = NumpyAdam(np, params, **ADAM)
    else:
        optimizer = NumpySGD(np, params, **SGD)

    def step():
        z1 = x @ w1.T + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2.T + b2
        h2 = np.maximum(z2, 0)
        logits = h2 @ w3.T + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = -(shifted[rows, y] - np.log(total[:, 0])).mean()
        g = e / total  # d loss / d logits = (softmax - onehot) / N
        g[rows, y] -= 1
        g /= BATCH
        gw3, gb3 = g.T @ h2, g.sum(axis=0)
        g = (g @ w3) * (z2 > 0)
        gw2, gb2 = g.T @ h1, g.sum(axis=0)
        g = (g @ w2) * (z1 > 0)
        gw1, gb1 = g.T @ x, g.sum(axis=0)
        optimizer.step([gw1, gb1, gw2, gb2, gw3, gb3])
        return loss

    return step, params, optimizer


# --------------------------------------------------------------------------------- benchmarks
def bench_train_step(libs, args, name, optimizer_name):
    import numpy as np

    state, x, y = initial_state(np)
    present = {side: lib for side, lib in libs.items() if lib is not None}

    # sanity: SANITY_STEPS steps from the same start give the same losses on every side
    losses = {}
    for side, lib in present.items():
        step = build(lib, state, x, y, optimizer_name)[0]
        losses[side] = [float(step().item()) for _ in range(SANITY_STEPS)]
    floor = numpy_step(np, state, x, y, optimizer_name)[0]
    losses["numpy"] = [float(floor()) for _ in range(SANITY_STEPS)]
    check = core.agreement(losses, f"losses over {SANITY_STEPS} steps", reference="numpy")

    sides = {side: build(lib, state, x, y, optimizer_name)[0] for side, lib in present.items()}
    sides["numpy"] = numpy_step(np, state, x, y, optimizer_name)[0]
    stats, calls = core.run_interleaved(sides, args.reps, args.seconds, warmup=3)
    what = "Adam(lr=1e-3)" if optimizer_name == "adam" else "SGD(lr=0.01, momentum=0.9)"
    title = (
        f"[{name}] {'-'.join(map(str, SIZES))} ReLU nn.Sequential, batch {BATCH}, float32, CrossEntropyLoss, "
        f"{what}: zero_grad, forward, loss, backward, step"
    )
    return core.report(name, title, stats, calls, args, check, TARGETS.get(name))


def bench_mlp_train(libs, args):
    return bench_train_step(libs, args, "mlp_train", "adam")


def bench_mlp_sgd(libs, args):
    return bench_train_step(libs, args, "mlp_sgd", "sgd")


def bench_adam_step(libs, args):
    """optimizer.step() alone: every side gets the same gradients (from one backward), then only the
    update is timed; the gradients stay in place, so every call updates with them again."""
    import numpy as np

    state, x, y = initial_state(np)
    present = {side: lib for side, lib in libs.items() if lib is not None}
    sides, params = {}, {}
    for side, lib in present.items():
        _, model, optimizer = build(lib, state, x, y, "adam")
        sides[side], params[side] = optimizer.step, list(model.parameters())
    # gradients of the first side's loss, given to every side: the update rule alone is compared
    # (Adam's first steps turn round-off-sized gradient differences into differences of size lr)
    lib = next(iter(present.values()))
    loss_fn = importlib.import_module(f"{lib.__name__}.nn").CrossEntropyLoss()
    model = build(lib, state, x, y, "adam")[1]
    loss_fn(model(lib.from_numpy(x.copy())), lib.from_numpy(y.copy())).backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    for side, lib in present.items():
        for p, g in zip(params[side], grads):
            p.grad = lib.from_numpy(g.copy())
    numpy_params = [state[name].copy() for name in state]
    numpy_adam = NumpyAdam(np, numpy_params, **ADAM)
    sides["numpy"] = lambda: numpy_adam.step(grads)
    params["numpy"] = numpy_params

    # sanity: SANITY_STEPS updates from the same gradients move the weights alike
    for fn in sides.values():
        for _ in range(SANITY_STEPS):
            fn()
    as_numpy = {
        side: [p if isinstance(p, np.ndarray) else p.detach().numpy() for p in ps] for side, ps in params.items()
    }
    worst = max(
        core.rel_err(a, b) for side in as_numpy for a, b in zip(as_numpy[side], as_numpy["numpy"]) if side != "numpy"
    )
    check = (
        f"sanity: weights after {SANITY_STEPS} Adam steps agree with the NumPy rule (max rel. error {worst:.1e})"
        if worst < 1e-5
        else f"SANITY FAILURE: weights after {SANITY_STEPS} Adam steps differ (max rel. error {worst:.1e})"
    )

    stats, calls = core.run_interleaved(sides, args.reps, args.seconds, warmup=10)
    n_values = sum(p.size for p in numpy_params)
    title = f"[adam_step] optimizer.step() alone: Adam(lr=1e-3) over 6 tensors, {n_values} float32 values"
    return core.report("adam_step", title, stats, calls, args, check, None)


BENCH_FUNCTIONS = {"mlp_train": bench_mlp_train, "mlp_sgd": bench_mlp_sgd, "adam_step": bench_adam_step}


# ----------------------------------------------------------------------------------- profile
def profile_chainrule(cr, steps):
    """cProfile ``steps`` chainrule mlp_train steps (1 thread); print the top functions by own time
    and by cumulative time, and the share of the step spent inside NumPy's matmul."""
    import cProfile
    import pstats

    import numpy as np

    state, x, y = initial_state(np)
    step = build(cr, state, x, y, "adam")[0]
    for _ in range(5):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"=== cProfile of {steps} chainrule mlp_train steps (Adam), 1 thread: {1e3 * total / steps:.3f} ms/step")
    for key in ("tottime", "cumulative"):
        print(f"\n--- top 30 by {key}")
        stats.sort_stats(key).print_stats(30)


if __name__ == "__main__":
    main()
