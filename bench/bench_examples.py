"""chainrule against PyTorch (CPU): a training step of each example network, and its time per epoch.

The measuring rules of bench_core.py, whose helpers this script imports: both frameworks in one
process, interleaved, the order reversed on every other repetition, medians over repetitions,
each thread count in its own child process with OMP/OPENBLAS/MKL_NUM_THREADS set before NumPy
loads its BLAS. Ratios are chainrule time / PyTorch time (below 1 means chainrule is faster).

    python bench/bench_examples.py                       # 1 and 2 threads, 7 repetitions
    python bench/bench_examples.py --threads 2 --bench cnn --json examples.json

Each benchmark is one optimizer step of the network of an example script, built by the same code
in both frameworks from the same initial weights (chainrule's, copied into PyTorch with
load_state_dict), on one random batch of the example's shape; the step is the example's:
zero_grad, forward, loss, backward, clipping where the example clips, Adam's step. The summary
also gives the time of a whole epoch at that speed (steps per epoch × time per step; data
loading and evaluation, the same for both sides, are left out):
  cnn    examples/cnn_fashion_mnist.py: two conv blocks (Conv2d 3×3 no bias, BatchNorm2d, ReLU,
         MaxPool2d 2) of 32 and 64 channels, Dropout, Linear(3136, 128), ReLU, Dropout,
         Linear(128, 10); batch 128 of (1, 28, 28); Adam(lr=2e-3). Epoch: 60,000 images = 469 steps
  gru    examples/rnn_fashion_mnist.py: GRU(28, 128, batch_first) over the 28 rows of each image,
         Linear(128, 10) on the last output; batch 128; clip_grad_norm_(1.0); Adam(lr=2e-3). Epoch: 469 steps
  lstm   the same with --cell lstm
  char   examples/char_rnn.py: Embedding(155, 32), LSTM(32, 256, batch_first), Linear(256, 155) on every
         step; 32 rows of 64 characters; clip_grad_norm_(1.0); Adam(lr=3e-3). "Epoch": the example's
         whole run of 2,000 steps
"""

import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_core as core  # noqa: E402 - bench/ is a folder of scripts; reuse the measuring helpers

BENCHES = ("cnn", "gru", "lstm", "char")
STEPS_PER_EPOCH = {"cnn": 469, "gru": 469, "lstm": 469, "char": 2000}
EPOCH = {"cnn": "epoch", "gru": "epoch", "lstm": "epoch", "char": "2,000-step run"}
BATCH, VOCAB, CHAR_ROWS, CHAR_LENGTH = 128, 155, 32, 64  # VOCAB: the Jargon File's 155 characters
SANITY_STEPS = 3


# --------------------------------------------------------------------------------------- parent
def main():
    core.layer_bench_main(__file__, __doc__, BENCHES, bench, seconds=0.5)


# ---------------------------------------------------------------------------------------- child
# ------------------------------------------------------------------------------------- models
def make_model(lib, name):
    """The example's network in chainrule or PyTorch: the same code for both."""
    nn = importlib.import_module(f"{lib.__name__}.nn")
    if name == "cnn":

        def block(channels_in, channels_out):
            return [nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False), nn.BatchNorm2d(channels_out),
                    nn.ReLU(), nn.MaxPool2d(2)]  # fmt: skip

        return nn.Sequential(*block(1, 32), *block(32, 64), nn.Flatten(), nn.Dropout(0.25), nn.Linear(3136, 128),
                             nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))  # fmt: skip

    class RowReader(nn.Module):  # examples/rnn_fashion_mnist.py
        def __init__(self, layer):
            super().__init__()
            self.rnn = layer(28, 128, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):  # (N, 28, 28) -> (N, 10)
            return self.head(self.rnn(x)[0][:, -1])

    class CharModel(nn.Module):  # examples/char_rnn.py
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, 32)
            self.lstm = nn.LSTM(32, 256, batch_first=True)
            self.head = nn.Linear(256, VOCAB)

        def forward(self, x):  # (N, T) codes -> (N·T, VOCAB) scores
            return self.head(self.lstm(self.embed(x))[0]).reshape(-1, VOCAB)

    if name == "char":
        return CharModel()
    return RowReader(nn.GRU if name == "gru" else nn.LSTM)


def batch(np, name):
    rng = np.random.default_rng(7)
    if name == "char":
        codes = rng.integers(0, VOCAB, (CHAR_ROWS, CHAR_LENGTH + 1))
        return codes[:, :-1], codes[:, 1:].reshape(-1)
    shape = (BATCH, 1, 28, 28) if name == "cnn" else (BATCH, 28, 28)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, BATCH)


def build_step(lib, name, state, x_array, y_array):
    """One training step of the example on (x, y), from the weights ``state``."""
    nn = importlib.import_module(f"{lib.__name__}.nn")
    optim = importlib.import_module(f"{lib.__name__}.optim")
    lib.manual_seed(0)  # the same dropout masks step by step (within each framework)
    model = make_model(lib, name)
    model.load_state_dict({key: lib.from_numpy(value.copy()) for key, value in state.items()})
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=3e-3 if name == "char" else 2e-3)
    x, y = lib.from_numpy(x_array.copy()), lib.from_numpy(y_array.copy())
    clip = name != "cnn"

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss

    return step


# --------------------------------------------------------------------------------- benchmarks
def bench(name, libs, args):
    import numpy as np

    cr = libs["chainrule"]
    cr.manual_seed(0)
    state = {key: value.numpy().copy() for key, value in make_model(cr, name).state_dict().items()}
    x, y = batch(np, name)
    present = {side: lib for side, lib in libs.items() if lib is not None}
    losses = {}
    for side, lib in present.items():
        step = build_step(lib, name, state, x, y)
        losses[side] = [float(step().item()) for _ in range(SANITY_STEPS)]
    check = first_loss_agreement(losses)
    sides = {side: build_step(lib, name, state, x, y) for side, lib in present.items()}
    stats, calls = core.run_interleaved(sides, args.reps, args.seconds, warmup=3)
    return report(name, stats, calls, args, check)


def first_loss_agreement(losses):
    """Dropout masks differ between the frameworks, so only the first loss (before any update, with
    dropout the only difference) is compared, loosely; later losses are shown."""
    shown = "; ".join(f"{side} " + " ".join(f"{v:.4f}" for v in values) for side, values in losses.items())
    if "pytorch" not in losses:
        return f"losses: {shown}"
    first = abs(losses["chainrule"][0] - losses["pytorch"][0]) / abs(losses["pytorch"][0])
    verdict = "sanity" if first < 0.05 else "SANITY FAILURE"
    return f"{verdict}: first losses within {first:.1%} (dropout masks differ): {shown}"


def report(name, stats, calls, args, check):
    """Print one benchmark's medians, ratio and time per epoch; return its row for the summary."""
    stats = {side: core.scaled(value, 1e3) for side, value in stats.items()}
    steps = STEPS_PER_EPOCH[name]
    print(f"[{name}] {args.reps} reps x {calls} calls, median (min-max) ms per step; {EPOCH[name]} = {steps} steps")
    for side, value in stats.items():
        seconds = value["median"] * steps / 1e3
        print(f"    {side:<12} {value['median']:8.2f}  ({value['min']:.2f}-{value['max']:.2f})"
              f"   {seconds:6.1f} s per {EPOCH[name]}")  # fmt: skip
    row = {"bench": name, "unit": "ms", **stats}
    if "pytorch" in stats:
        row["ratio_torch"] = stats["chainrule"]["median"] / stats["pytorch"]["median"]
        paired = [c / t for c, t in zip(stats["chainrule"]["all"], stats["pytorch"]["all"])]
        print(f"    ratio chainrule/pytorch  {row['ratio_torch']:.2f}x  (per-rep {min(paired):.2f}-{max(paired):.2f})")
    print(f"    {check}")
    return row


if __name__ == "__main__":
    sys.exit(main())
