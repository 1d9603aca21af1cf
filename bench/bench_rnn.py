"""chainrule against PyTorch (CPU): recurrent training steps (LSTM and GRU) through nn, losses and optim.

The measuring rules of bench_core.py, whose helpers this script imports: both frameworks in one
process, interleaved, the order reversed on every other repetition, medians over repetitions,
each thread count in its own child process with OMP/OPENBLAS/MKL_NUM_THREADS set before NumPy
loads its BLAS. Ratios are chainrule time / PyTorch time (below 1 means chainrule is faster).

    python bench/bench_rnn.py                            # 1 and 2 threads, 7 repetitions
    python bench/bench_rnn.py --threads 1 --reps 9 --json rnn.json
    python bench/bench_rnn.py --bench lstm_train --profile 50   # cProfile of chainrule's step

Benchmarks (sequence 28, batch 128, input 28, hidden 128, float32, batch_first: the row-by-row
MNIST-style classifier; a Linear(128, 10) head on the last time step's output, nn.CrossEntropyLoss;
the same initial weights, loaded with load_state_dict, and the same batch on every side):
  lstm_train  optimizer.zero_grad(); loss_fn(head(lstm(x)[0][:, -1]), y).backward(); optimizer.step()
              with optim.SGD(lr=0.01, momentum=0.9)                                  target <= 1.5x
  gru_train   the same step with nn.GRU                                              (reported)
  lstm_infer  the LSTM classifier's forward alone, under no_grad                     (reported)
The "numpy" column is a GEMM floor, not a full step: only the matrix products any implementation
of the step performs (the input projection, T recurrent GEMMs forward and T backward, the three
batched weight-gradient GEMMs, the head), on preallocated arrays. cr/numpy is then the time
chainrule spends above the GEMMs (gate nonlinearities, BPTT bookkeeping, the graph, the update).
"""

import importlib
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_core as core  # noqa: E402 - bench/ is a folder of scripts; reuse the measuring helpers

SEQUENCE, BATCH, INPUT, HIDDEN, CLASSES = 28, 128, 28, 128, 10
SGD = {"lr": 0.01, "momentum": 0.9}
BENCHES = ("lstm_train", "gru_train", "lstm_infer")
GATES = {"lstm": 4, "gru": 3}
TARGETS = {"lstm_train": 1.5}
SANITY_STEPS = 3


# --------------------------------------------------------------------------------------- parent
def main():
    core.layer_bench_main(
        __file__,
        __doc__,
        BENCHES,
        bench,
        seconds=0.5,
        alone="chainrule (and the GEMM floor)",
        profile="chainrule steps",
        profile_run=lambda cr, args: profile_chainrule(cr, args.bench.split(",")[0], args.profile),
    )


# ---------------------------------------------------------------------------------------- child
# ---------------------------------------------------------------------------- shared set-up
def initial_state(np, kind):
    """A PyTorch-layout state dict for ``rnn.*`` and ``head.*`` drawn like PyTorch's defaults
    (U(-1/√hidden, 1/√hidden) for the recurrent layer, U(-1/√in, 1/√in) for the head) with NumPy,
    and one batch: x (BATCH, SEQUENCE, INPUT) float32, y (BATCH,) int64."""
    rng = np.random.default_rng(1234)
    rows = GATES[kind] * HIDDEN
    bound = 1 / math.sqrt(HIDDEN)
    state = {
        "rnn.weight_ih_l0": rng.uniform(-bound, bound, (rows, INPUT)),
        "rnn.weight_hh_l0": rng.uniform(-bound, bound, (rows, HIDDEN)),
        "rnn.bias_ih_l0": rng.uniform(-bound, bound, rows),
        "rnn.bias_hh_l0": rng.uniform(-bound, bound, rows),
        "head.weight": rng.uniform(-bound, bound, (CLASSES, HIDDEN)),
        "head.bias": rng.uniform(-bound, bound, CLASSES),
    }
    state = {name: value.astype(np.float32) for name, value in state.items()}
    x = rng.standard_normal((BATCH, SEQUENCE, INPUT)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    return state, x, y


def build(lib, kind, state, x_array, y_array):
    """Classifier, loss, optimizer and batch in chainrule or PyTorch; the code is the same for both."""
    nn = importlib.import_module(f"{lib.__name__}.nn")
    optim = importlib.import_module(f"{lib.__name__}.optim")
    layer = nn.LSTM if kind == "lstm" else nn.GRU

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = layer(INPUT, HIDDEN, batch_first=True)
            self.head = nn.Linear(HIDDEN, CLASSES)

        def forward(self, x):  # (N, T, INPUT) -> (N, CLASSES)
            output, _ = self.rnn(x)
            return self.head(output[:, -1])

    model = Classifier()
    model.load_state_dict({name: lib.from_numpy(array.copy()) for name, array in state.items()})
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), **SGD)
    x, y = lib.from_numpy(x_array.copy()), lib.from_numpy(y_array.copy())

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    def infer():
        with lib.no_grad():
            return model(x)

    return step, infer


def gemm_floor(np, kind, state, x):
    """The matrix products of one training step alone, on preallocated float32 arrays."""
    rows = GATES[kind] * HIDDEN
    w_ih, w_hh, w_head = state["rnn.weight_ih_l0"], state["rnn.weight_hh_l0"], state["head.weight"]
    x_rows = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(SEQUENCE * BATCH, INPUT)
    projected = np.empty((SEQUENCE * BATCH, rows), np.float32)
    gates = np.empty((BATCH, rows), np.float32)
    h = np.full((BATCH, HIDDEN), 0.1, np.float32)
    delta = np.full((SEQUENCE * BATCH, rows), 0.01, np.float32)
    states = np.full((SEQUENCE * BATCH, HIDDEN), 0.1, np.float32)
    carried = np.empty((BATCH, HIDDEN), np.float32)
    logits = np.empty((BATCH, CLASSES), np.float32)
    grad_logits = np.full((BATCH, CLASSES), 0.01, np.float32)

    def step():
        np.matmul(x_rows, w_ih.T, out=projected)
        for _ in range(SEQUENCE):
            np.matmul(h, w_hh.T, out=gates)
        np.matmul(h, w_head.T, out=logits)
        grad_w_head = grad_logits.T @ h
        carried_head = grad_logits @ w_head
        for t in range(SEQUENCE):
            np.matmul(delta[t * BATCH : (t + 1) * BATCH], w_hh, out=carried)
        grad_w_ih = delta.T @ x_rows
        grad_w_hh = delta.T @ states
        del grad_w_head, carried_head, grad_w_ih, grad_w_hh

    def infer():
        np.matmul(x_rows, w_ih.T, out=projected)
        for _ in range(SEQUENCE):
            np.matmul(h, w_hh.T, out=gates)
        np.matmul(h, w_head.T, out=logits)

    return step, infer


# --------------------------------------------------------------------------------- benchmarks
def bench(name, libs, args):
    import numpy as np

    kind = "gru" if name.startswith("gru") else "lstm"
    training = name.endswith("train")
    state, x, y = initial_state(np, kind)
    present = {side: lib for side, lib in libs.items() if lib is not None}

    # sanity: the same first losses (training) or logits (inference) on every side
    if training:
        losses = {}
        for side, lib in present.items():
            step = build(lib, kind, state, x, y)[0]
            losses[side] = [float(step().item()) for _ in range(SANITY_STEPS)]
        check = core.agreement(losses, f"losses over {SANITY_STEPS} steps")
    else:
        logits = {side: build(lib, kind, state, x, y)[1]().numpy() for side, lib in present.items()}
        worst = max(core.rel_err(value, logits["chainrule"]) for value in logits.values())
        verdict = "sanity" if worst < 1e-4 else "SANITY FAILURE"
        check = f"{verdict}: logits agree across sides (max rel. error {worst:.1e})"

    sides = {side: build(lib, kind, state, x, y)[0 if training else 1] for side, lib in present.items()}
    sides["numpy"] = gemm_floor(np, kind, state, x)[0 if training else 1]
    stats, calls = core.run_interleaved(sides, args.reps, args.seconds, warmup=3)
    what = (
        "zero_grad, forward, loss, backward, SGD(lr=0.01, momentum=0.9) step" if training else "forward under no_grad"
    )
    title = (
        f"[{name}] nn.{kind.upper()}({INPUT}, {HIDDEN}, batch_first=True) + Linear({HIDDEN}, {CLASSES}) on the last "
        f"step, sequence {SEQUENCE}, batch {BATCH}, float32, CrossEntropyLoss: {what}"
    )
    return core.report(name, title, stats, calls, args, check, TARGETS.get(name), floor="GEMM floor")


# ----------------------------------------------------------------------------------- profile
def profile_chainrule(cr, name, steps):
    """cProfile ``steps`` chainrule steps of benchmark ``name`` (1 thread): top functions by own time."""
    import cProfile
    import pstats

    import numpy as np

    kind = "gru" if name.startswith("gru") else "lstm"
    state, x, y = initial_state(np, kind)
    step, infer = build(cr, kind, state, x, y)
    fn = step if name.endswith("train") else infer
    for _ in range(3):
        fn()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        fn()
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"=== cProfile of {steps} chainrule {name} calls, 1 thread: {1e3 * stats.total_tt / steps:.3f} ms/call")
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
