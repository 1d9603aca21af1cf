"""chainrule against PyTorch (CPU): convolution layers and a LeNet-like training step.

The same measuring rules as bench_core.py, whose helpers this script imports: both frameworks in
one process, interleaved, the order reversed on every other repetition, medians over repetitions,
each thread count in its own child process with OMP/OPENBLAS/MKL_NUM_THREADS set before NumPy
loads its BLAS. Ratios are chainrule time / PyTorch time (below 1 means chainrule is faster).

    python bench/bench_cnn.py                            # 1 and 2 threads, 7 repetitions
    python bench/bench_cnn.py --threads 1 --bench conv1,conv2 --json cnn.json
    python bench/bench_cnn.py --profile 100              # cProfile of chainrule's LeNet step

Benchmarks (batch 128, float32, the same weights and data on every side):
  conv1        nn.Conv2d(1, 8, 3, padding=1) on (128, 1, 28, 28): forward, (y · v).sum(), backward
               (weight and bias gradients; the input needs none, as a network's first layer)
  conv2        nn.Conv2d(8, 16, 3, padding=1) on (128, 8, 14, 14): the same, with the input's gradient
  lenet_sgd    conv 1→8 3×3 pad 1, ReLU, MaxPool2d(2), conv 8→16 3×3 pad 1, ReLU, MaxPool2d(2),
               Flatten, Linear(784, 10); nn.CrossEntropyLoss; optim.SGD(lr=0.01, momentum=0.9):
               zero_grad, forward, loss, backward, step. Needs chainrule's nn.MaxPool2d (skipped,
               with a note, where chainrule has none yet)
  lenet_adam   the same step with optim.Adam(lr=1e-3)
  lenet_spool  lenet_sgd with both max-pools written as the maximum of four strided slices
               (x[:, :, 0::2, 0::2] ...; the same code in both frameworks), so that the whole step
               runs without nn.MaxPool2d
"""

import importlib
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_core as core  # noqa: E402 - bench/ is a folder of scripts; reuse the measuring helpers

BATCH = 128
SGD = {"lr": 0.01, "momentum": 0.9}
ADAM = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}
BENCHES = ("conv1", "conv2", "lenet_sgd", "lenet_adam", "lenet_spool")
TARGET = 1.5  # issue 4: a LeNet-like training step at most 1.5x PyTorch CPU
TARGETS = {"lenet_sgd": TARGET, "lenet_adam": TARGET, "lenet_spool": TARGET}
SANITY_STEPS = 3


# --------------------------------------------------------------------------------------- parent
def main():
    core.layer_bench_main(
        __file__,
        __doc__,
        BENCHES,
        lambda name, libs, args: BENCH_FUNCTIONS[name](libs, args),
        seconds=0.25,
        alone="chainrule",
        profile="chainrule LeNet SGD steps (MaxPool2d if chainrule has it)",
        profile_run=lambda cr, args: profile_chainrule(cr, args.profile),
    )


# ---------------------------------------------------------------------------------------- child
# ---------------------------------------------------------------------------- shared set-up
def uniform_state(np, rng, shapes):
    """Weights drawn like PyTorch's default conv/linear init, U(±1/√fan_in), fan_in = in·∏kernel."""
    state = {}
    for name, shape in shapes.items():
        weight_shape = shapes[name.replace("bias", "weight")]  # a bias takes its weight's fan_in
        bound = 1 / math.sqrt(math.prod(weight_shape[1:]))
        state[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return state


def lenet_shapes():
    return {
        "0.weight": (8, 1, 3, 3),
        "0.bias": (8,),
        "3.weight": (16, 8, 3, 3),
        "3.bias": (16,),
        "7.weight": (10, 784),
        "7.bias": (10,),
    }


def batch(np, rng):
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    return x, y


def slice_pool(lib, nn):
    """2×2 max-pooling as the maximum of four strided slices, written once for both libraries."""

    class SliceMaxPool2d(nn.Module):
        def forward(self, x):
            top = lib.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2])
            return lib.maximum(top, lib.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))

    return SliceMaxPool2d


def build_lenet(lib, state, x_array, y_array, optimizer_name, pool):
    """Model, loss, optimizer and batch in chainrule or PyTorch; the code is the same for both."""
    nn = importlib.import_module(f"{lib.__name__}.nn")
    optim = importlib.import_module(f"{lib.__name__}.optim")
    pooling = slice_pool(lib, nn) if pool == "slices" else (lambda: nn.MaxPool2d(2))
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        pooling(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        pooling(),
        nn.Flatten(),
        nn.Linear(784, 10),
    )
    model.load_state_dict({name: lib.from_numpy(array.copy()) for name, array in state.items()})
    loss_fn = nn.CrossEntropyLoss()
    optimizer = (
        optim.Adam(model.parameters(), **ADAM) if optimizer_name == "adam" else optim.SGD(model.parameters(), **SGD)
    )
    x, y = lib.from_numpy(x_array.copy()), lib.from_numpy(y_array.copy())

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def has_max_pool(cr):
    return hasattr(importlib.import_module("chainrule.nn"), "MaxPool2d")


# --------------------------------------------------------------------------------- benchmarks
def bench_conv(libs, args, name, in_channels, out_channels, size, input_grad):
    import numpy as np

    rng = np.random.default_rng(4321)
    shapes = {"weight": (out_channels, in_channels, 3, 3), "bias": (out_channels,)}
    state = uniform_state(np, rng, shapes)
    x_array = rng.standard_normal((BATCH, in_channels, size, size)).astype(np.float32)
    v_array = rng.standard_normal((BATCH, out_channels, size, size)).astype(np.float32)
    present = {side: lib for side, lib in libs.items() if lib is not None}
    sides, grads = {}, {}
    for side, lib in present.items():
        nn = importlib.import_module(f"{lib.__name__}.nn")
        layer = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        layer.load_state_dict({key: lib.from_numpy(value.copy()) for key, value in state.items()})
        x = lib.from_numpy(x_array.copy()).requires_grad_(input_grad)
        v = lib.from_numpy(v_array.copy())

        def step(layer=layer, x=x, v=v):
            layer.weight.grad = layer.bias.grad = x.grad = None
            (layer(x) * v).sum().backward()

        step()
        grads[side] = [t.grad.numpy().copy() for t in (layer.weight, layer.bias) + ((x,) if input_grad else ())]
        sides[side] = step
    check = "sanity: chainrule alone, nothing to compare"
    if "pytorch" in grads:
        worst = max(core.rel_err(a, b) for a, b in zip(grads["chainrule"], grads["pytorch"]))
        what = "weight, bias and input gradients" if input_grad else "weight and bias gradients"
        check = f"sanity: {what} agree with PyTorch (max rel. error {worst:.1e})"
        if worst > 1e-4:
            check = f"SANITY FAILURE: gradients differ from PyTorch (max rel. error {worst:.1e})"
    stats, calls = core.run_interleaved(sides, args.reps, args.seconds, warmup=3)
    grad_x = ", input gradient" if input_grad else " (input needs no gradient)"
    title = (
        f"[{name}] nn.Conv2d({in_channels}, {out_channels}, 3, padding=1) on ({BATCH}, {in_channels}, {size}, {size}) "
        f"float32: forward, (y·v).sum(), backward{grad_x}"
    )
    return core.report(name, title, stats, calls, args, check, None)


def bench_conv1(libs, args):
    return bench_conv(libs, args, "conv1", 1, 8, 28, input_grad=False)


def bench_conv2(libs, args):
    return bench_conv(libs, args, "conv2", 8, 16, 14, input_grad=True)


def bench_lenet(libs, args, name, optimizer_name, pool):
    import numpy as np

    if pool == "max" and not has_max_pool(libs["chainrule"]):
        print(f"[{name}] skipped: chainrule has no nn.MaxPool2d yet (lenet_spool runs the step with a max of slices)\n")
        return None
    rng = np.random.default_rng(1234)
    state = uniform_state(np, rng, lenet_shapes())
    x, y = batch(np, rng)
    present = {side: lib for side, lib in libs.items() if lib is not None}
    losses = {}
    for side, lib in present.items():
        step = build_lenet(lib, state, x, y, optimizer_name, pool)
        losses[side] = [float(step().item()) for _ in range(SANITY_STEPS)]
    check = core.agreement(losses, f"losses over {SANITY_STEPS} steps")
    sides = {side: build_lenet(lib, state, x, y, optimizer_name, pool) for side, lib in present.items()}
    stats, calls = core.run_interleaved(sides, args.reps, args.seconds, warmup=3)
    what = "Adam(lr=1e-3)" if optimizer_name == "adam" else "SGD(lr=0.01, momentum=0.9)"
    pooling = "MaxPool2d(2)" if pool == "max" else "max of 4 slices 2x2 pool"
    title = (
        f"[{name}] LeNet-like (conv 1-8, ReLU, {pooling}, conv 8-16, ReLU, pool, Linear 784-10), batch {BATCH}, "
        f"float32, CrossEntropyLoss, {what}: zero_grad, forward, loss, backward, step"
    )
    return core.report(name, title, stats, calls, args, check, TARGETS[name])


BENCH_FUNCTIONS = {
    "conv1": bench_conv1,
    "conv2": bench_conv2,
    "lenet_sgd": lambda libs, args: bench_lenet(libs, args, "lenet_sgd", "sgd", "max"),
    "lenet_adam": lambda libs, args: bench_lenet(libs, args, "lenet_adam", "adam", "max"),
    "lenet_spool": lambda libs, args: bench_lenet(libs, args, "lenet_spool", "sgd", "slices"),
}


# ----------------------------------------------------------------------------------- profile
def profile_chainrule(cr, steps):
    """cProfile ``steps`` chainrule LeNet SGD steps (1 thread); print the top functions by own time
    and by cumulative time."""
    import cProfile
    import pstats

    import numpy as np

    rng = np.random.default_rng(1234)
    state = uniform_state(np, rng, lenet_shapes())
    x, y = batch(np, rng)
    pool = "max" if has_max_pool(cr) else "slices"
    step = build_lenet(cr, state, x, y, "sgd", pool)
    for _ in range(3):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(
        f"=== cProfile of {steps} chainrule LeNet SGD steps ({pool} pool), 1 thread: "
        f"{1e3 * stats.total_tt / steps:.3f} ms/step"
    )
    for key in ("tottime", "cumulative"):
        print(f"\n--- top 25 by {key}")
        stats.sort_stats(key).print_stats(25)


if __name__ == "__main__":
    main()
