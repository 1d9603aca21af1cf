"""A recurrent network reads Fashion-MNIST images one row at a time: 28 time steps of 28 pixels,
a GRU with 128 hidden units, and a linear layer on its last output. About 88% of the 10,000 test
images classified right after 3 epochs. Prints the time of each epoch.

    (N, 28, 28) = 28 rows of 28 pixels -> GRU(28, 128), h_t = GRU(row_t, h_{t-1})
                -> h_28 (N, 128), what the network remembers of the whole image -> Linear 10

Nothing here knows that the rows are neighbours in a picture: the network must carry what matters
from row 3 to row 28 in its state, which is the job a GRU's update gate (or an LSTM's cell)
does. Backpropagation through time runs the 28 steps backwards, so the gradients are clipped to a
joint norm of 1 (nn.utils.clip_grad_norm_) in case a step makes them explode. A CNN reads the
same images better (cnn_fashion_mnist.py): the point is the sequence model, used in text next.

Run:  python examples/rnn_fashion_mnist.py [--cell lstm]
The same network from a config: chainrule train examples/configs/rnn_fashion_mnist.toml
"""

import argparse
import time

import numpy as np

import chainrule as cr
from chainrule import data, datasets, nn, optim

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}


def as_sequences(images, mean=None, std=None, limit=None):
    """(N, 28, 28) uint8 images and labels -> TensorDataset of standardized float32 (N, 28, 28),
    each image 28 steps of 28 features, and int64 (N,) labels; with the mean and std used."""
    pixels = np.asarray(images.data[:limit], dtype=np.float32) / 255.0
    mean = pixels.mean() if mean is None else mean
    std = pixels.std() if std is None else std
    labels = np.asarray(images.targets[:limit], dtype=np.int64)
    return data.TensorDataset((pixels - mean) / std, labels), mean, std


class RowReader(nn.Module):
    """(N, T, F) sequences -> (N, classes) scores from the recurrent network's last output."""

    def __init__(self, cell="gru", features=28, hidden_size=128, classes=10):
        super().__init__()
        self.rnn = CELLS[cell](features, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, classes)

    def forward(self, x):
        output, _ = self.rnn(x)  # (N, T, H): the state after every step
        return self.head(output[:, -1])  # the last one has read every row


def evaluate(model, dataset, batch_size=500):
    """Accuracy of ``model`` on ``dataset``, in evaluation mode and without a graph."""
    model.eval()
    correct = 0
    with cr.no_grad():
        for x, y in data.DataLoader(dataset, batch_size=batch_size):
            correct += (model(x).argmax(dim=1) == y).sum().item()
    model.train()
    return correct / len(dataset)


def main(epochs=3, batch_size=128, lr=2e-3, cell="gru", hidden_size=128, clip=1.0, root=None,
         train_limit=None, test_limit=None):  # fmt: skip
    """Train; returns {"test_accuracy": float, "epoch_seconds": [float, ...]}. ``train_limit`` and
    ``test_limit`` take the first images only, for a quick run."""
    cr.manual_seed(0)
    train, mean, std = as_sequences(datasets.FashionMNIST(root=root, train=True), limit=train_limit)
    test, _, _ = as_sequences(datasets.FashionMNIST(root=root, train=False), mean, std, limit=test_limit)
    model = RowReader(cell, hidden_size=hidden_size)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loader = data.DataLoader(train, batch_size=batch_size, shuffle=True, seed=0)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))

    epoch_seconds = []
    for epoch in range(1, epochs + 1):
        start, total = time.perf_counter(), 0.0
        for x, y in loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            schedule.step()
            total += loss.item() * len(x)
        epoch_seconds.append(time.perf_counter() - start)
        test_accuracy = evaluate(model, test)
        print(
            f"epoch {epoch}/{epochs}  loss {total / len(train):.4f}  test accuracy {test_accuracy:.2%}"
            f"  {epoch_seconds[-1]:.1f} s/epoch",
            flush=True,
        )
    return {"test_accuracy": test_accuracy, "epoch_seconds": epoch_seconds}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", choices=sorted(CELLS), default="gru")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    main(epochs=args.epochs, cell=args.cell)
