"""Fashion-MNIST MLP end to end: chainrule's ``examples/fashion_mnist_mlp.py`` next to the same
program in PyTorch, in one process: seconds per epoch and test accuracy after 5 epochs.

Both sides train 784-256-128-10 (ReLU) with Adam (lr 1e-3, cosine decay per batch), batch 64, on
the same standardized images; each run is a whole training run, the order of the two sides
alternating between repetitions. Medians over repetitions; the ratio is chainrule / PyTorch.

    python bench/bench_fashion_mnist.py                   # 2 repetitions, threads as the machine sets
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/bench_fashion_mnist.py --threads 1

Needs the Fashion-MNIST files (see ``chainrule.datasets.FashionMNIST``) and PyTorch.
"""

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples"))

import fashion_mnist_mlp  # noqa: E402

from chainrule import datasets  # noqa: E402


def torch_run(torch, train, test, epochs=5, batch_size=64, lr=1e-3):
    """The example's program written in PyTorch; returns {"test_accuracy", "epoch_seconds"}."""
    nn = torch.nn
    torch.manual_seed(0)
    x_train, y_train = (torch.from_numpy(a) for a in train)
    x_test, y_test = (torch.from_numpy(a) for a in test)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = (len(x_train) + batch_size - 1) // batch_size
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps)
    epoch_seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x_train))
        for first in range(0, len(x_train), batch_size):
            batch = order[first : first + batch_size]
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            loss.item()  # as the chainrule side does, to total the epoch's loss
        epoch_seconds.append(time.perf_counter() - start)
    with torch.no_grad():
        accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
    return {"test_accuracy": accuracy, "epoch_seconds": epoch_seconds}


def arrays(split, mean=None, std=None):
    pixels = np.asarray(split.data, dtype=np.float32).reshape(len(split.data), 784) / 255.0
    mean = pixels.mean() if mean is None else mean
    std = pixels.std() if std is None else std
    return ((pixels - mean) / std, np.asarray(split.targets, dtype=np.int64)), mean, std


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (set the BLAS env too)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    train, mean, std = arrays(datasets.FashionMNIST(train=True))
    test, _, _ = arrays(datasets.FashionMNIST(train=False), mean, std)
    sides = {
        "chainrule": lambda: fashion_mnist_mlp.main(),
        "pytorch": lambda: torch_run(torch, train, test),
    }
    results = {name: [] for name in sides}
    for rep in range(args.reps):
        order = list(sides) if rep % 2 == 0 else list(reversed(sides))
        for name in order:
            results[name].append(sides[name]())
    print(f"\n{'side':10} {'s/epoch (median)':>17} {'test accuracy':>14}")
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(s for run in runs for s in run["epoch_seconds"])
        accuracy = ", ".join(f"{run['test_accuracy']:.2%}" for run in runs)
        print(f"{name:10} {medians[name]:17.2f} {accuracy:>14}")
    print(f"chainrule / pytorch time per epoch: {medians['chainrule'] / medians['pytorch']:.2f}x")


if __name__ == "__main__":
    main()
