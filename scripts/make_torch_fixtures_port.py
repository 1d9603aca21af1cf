"""Write tests/fixtures/torch_port.npz: a small PyTorch training program's trajectory, step by step.

The program (``train`` below, plain PyTorch) trains a 64-64-32-10 ReLU MLP on scikit-learn's digits
(features: pixels / 16 as float32) with ``nn.CrossEntropyLoss`` and ``optim.Adam(lr=1e-3)``, batch
32, 3 epochs over fixed permutations (drop the last partial batch): 3 x 56 = 168 steps.
tests/test_port_pytorch.py runs the same program ported to chainrule (imports changed) from the
same initial weights and asserts every loss and the final weights match.

Run it where PyTorch is installed (the tests never import torch). PyTorch's environment need not
have scikit-learn: pass the path of scikit-learn's bundled ``digits.csv.gz`` (the file
``sklearn.datasets.load_digits`` reads) when ``import sklearn`` fails here::

    CSV="$(python -c 'import os, sklearn.datasets as d; print(os.path.dirname(d.__file__))')/data/digits.csv.gz"
    /work/torchenv/bin/python scripts/make_torch_fixtures_port.py --digits-csv "$CSV"

(``python`` there is any interpreter with scikit-learn; with it installed next to PyTorch, just
``python scripts/make_torch_fixtures_port.py``.)

Arrays written (``{p}`` is ``f32/`` or ``f64/``: the same program run in float32 and in float64):

- ``data/x_sha256``, ``data/y_sha256``   SHA-256 of the float32 (1797, 64) features (C order)
  and of the int64 (1797,) labels the program trained on, to check the test loads the same data
- ``steps/indices``        (168, 32) int64: the rows of the data set in each step's batch
- ``init/{name}``          PyTorch's own initialisation (``torch.manual_seed(0)``), float32,
  keyed like ``model.state_dict()`` (``0.weight`` (64, 64), ``0.bias`` (64,), ...)
- ``{p}losses``            (168,) the loss of every step, in that precision
- ``{p}final/{name}``      the state dict after the last step, in that precision
  (the float64 run starts from the float32 initial weights, cast exactly to float64)
- ``meta/torch_version``, ``meta/lr``, ``meta/batch_size``, ``meta/epochs``
"""

import argparse
import gzip
import hashlib
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "torch_port.npz"

EPOCHS, BATCH_SIZE, LR = 3, 32, 1e-3


def load_digits_csv(path):
    """(1797, 64) float32 pixels / 16 and (1797,) int64 labels from scikit-learn's digits.csv.gz."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    if table.shape != (1797, 65):
        sys.exit(f"{path}: expected a (1797, 65) table (64 pixels and a label per row), found {table.shape}")
    return (table[:, :-1] / 16).astype(np.float32), table[:, -1].astype(np.int64)


def load_digits(csv_path):
    if csv_path is not None:
        return load_digits_csv(csv_path)
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        sys.exit(
            "scikit-learn is not importable here: pass --digits-csv PATH to its bundled digits.csv.gz "
            "(see this script's docstring for a one-line way to find it)"
        )
    digits = sklearn_load_digits()
    return (digits.data / 16).astype(np.float32), digits.target.astype(np.int64)


def sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def batch_indices(torch, n_samples):
    """(EPOCHS * (n_samples // BATCH_SIZE), BATCH_SIZE) row indices: a fresh permutation per epoch."""
    generator = torch.Generator().manual_seed(1)
    steps = []
    for _ in range(EPOCHS):
        order = torch.randperm(n_samples, generator=generator)
        for start in range(0, n_samples - BATCH_SIZE + 1, BATCH_SIZE):
            steps.append(order[start : start + BATCH_SIZE])
    return torch.stack(steps).numpy().astype(np.int64)


def train(torch, x_all, y_all, init_state, steps, dtype):
    """The PyTorch program the test ports: build, load the initial weights, train, return losses."""
    from torch import nn, optim

    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model = model.to(dtype)
    model.load_state_dict({name: torch.from_numpy(array) for name, array in init_state.items()})
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=LR)
    x_all = torch.from_numpy(x_all).to(dtype)
    y_all = torch.from_numpy(y_all)

    losses = []
    for indices in steps:
        x, y = x_all[indices], y_all[indices]
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    final = {name: value.detach().numpy().copy() for name, value in model.state_dict().items()}
    return np.array(losses), final


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits-csv", help="scikit-learn's datasets/data/digits.csv.gz (if sklearn is not here)")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit(
            "make_torch_fixtures_port.py needs PyTorch (pip install torch); the tests read the committed "
            f"fixture {OUTPUT.relative_to(ROOT)} and do not need it."
        )
    x_all, y_all = load_digits(args.digits_csv)
    store = {"data/x_sha256": np.array(sha256(x_all)), "data/y_sha256": np.array(sha256(y_all))}

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
    )
    init_state = {name: value.detach().numpy().copy() for name, value in model.state_dict().items()}
    steps = batch_indices(torch, len(x_all))
    store["steps/indices"] = steps
    store.update({f"init/{name}": array for name, array in init_state.items()})

    for prefix, dtype, np_dtype in (("f32/", torch.float32, np.float32), ("f64/", torch.float64, np.float64)):
        state = {name: array.astype(np_dtype) for name, array in init_state.items()}
        losses, final = train(torch, x_all, y_all, state, steps, dtype)
        store[f"{prefix}losses"] = losses.astype(np_dtype)
        store.update({f"{prefix}final/{name}": array for name, array in final.items()})
        assert all(array.dtype == np_dtype for array in final.values())

    # how far float32 round-off moves the trajectory: float32 run against the float64 run
    loss_gap = np.max(np.abs(store["f32/losses"] - store["f64/losses"]) / np.abs(store["f64/losses"]))
    param_gap = max(np.max(np.abs(store[f"f32/final/{name}"] - store[f"f64/final/{name}"])) for name in init_state)
    store["meta/torch_version"] = np.array(torch.__version__)
    store.update({"meta/lr": np.array(LR), "meta/batch_size": np.array(BATCH_SIZE), "meta/epochs": np.array(EPOCHS)})
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUTPUT, **store)
    print(
        f"wrote {OUTPUT.relative_to(ROOT)}: {len(steps)} steps, loss {store['f32/losses'][0]:.4f} -> "
        f"{store['f32/losses'][-1]:.4f}, {OUTPUT.stat().st_size / 1024:.1f} KiB, torch {torch.__version__}\n"
        f"float32 vs float64 run: max rel. loss gap {loss_gap:.1e}, max abs. final-weight gap {param_gap:.1e}"
    )


if __name__ == "__main__":
    main()
