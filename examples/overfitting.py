"""Overfitting, and four ways to fight it, on real handwritten digits.

A network with far more weights than training samples can memorise its training set: the training
loss goes to zero while the loss on samples it has never seen stops falling and climbs again.
Here the same MLP (64 -> 256 -> 256 -> 10, ReLU, about 85,000 weights) learns from only 250 of
scikit-learn's 1,797 8x8 digits; 773 others are the validation set that watches it, and the last
774 a test set that nothing is tuned on. It is trained five times, with the same seed:

- plain:          SGD with momentum, nothing else;
- L2:             weight decay, the gradient of (λ/2)·Σw² is added to every gradient: g ← g + λ·w;
- L1:             the gradient of λ·Σ|w| is added: g ← g + λ·sign(w) (chainrule's ``l1_decay``);
- dropout:        each input pixel is zeroed with probability 0.2 and each hidden unit with 0.5 while
                  training, the rest scaled up by 1/(1-p) (the identity at test time);
- early stopping: stop when the validation loss has not improved for a few epochs and go back to
                  the weights of the best epoch (train.callbacks.EarlyStopping).

It prints a table of the final losses and accuracies and writes one PNG with the training and
validation curves of every variant. The training-set columns are measured like the validation
ones, after each epoch in eval mode (so without dropout), which makes the gap a fair comparison.

Needs scikit-learn and matplotlib (pip install 'chainrule[datasets,plot]').
Run:  python examples/overfitting.py [--out DIR] [--quick]
"""

import argparse
import os
from dataclasses import dataclass, field

import chainrule as cr
from chainrule import data, datasets, nn, optim
from chainrule.train import Callback, EarlyStopping, Trainer

TRAIN_SIZE = 250  # of 1,797 digits; the other 1,547 are split into validation and test halves
HIDDEN = 256
LR, MOMENTUM, BATCH_SIZE = 0.05, 0.9, 25

# name -> what the variant changes; the values were chosen once for this data set and model
VARIANTS = {
    "plain": {},
    "L2": {"weight_decay": 5e-3},
    "L1": {"l1_decay": 3e-4},
    "dropout": {"input_dropout": 0.2, "dropout": 0.5},
    "early stopping": {"patience": 8},
}


@dataclass
class Result:
    """One variant's run: per-epoch curves and the final model's numbers."""

    name: str
    curves: dict  # "train_loss", "train_accuracy", "val_loss", "val_accuracy": one value per epoch run
    final: dict  # "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_accuracy"
    best_epoch: int  # 1-based epoch of the lowest validation loss
    epochs_run: int
    stopped_epoch: int = None  # 1-based epoch at which early stopping ended training, else None
    extra: dict = field(default_factory=dict)

    @property
    def loss_gap(self):
        """Validation loss minus training loss of the final model: how much worse it does on unseen data."""
        return self.final["val_loss"] - self.final["train_loss"]

    @property
    def accuracy_gap(self):
        """Training accuracy minus validation accuracy of the final model."""
        return self.final["train_accuracy"] - self.final["val_accuracy"]


def load_splits(train_size=TRAIN_SIZE, seed=0):
    """The digits as (train, validation, test) TensorDatasets of x: (N, 64) float32 in [0, 1] and
    y: (N,) int64: ``train_size`` stratified training samples, the rest halved into validation and test."""
    rest = 1797 - train_size
    train = datasets.load_digits(split="train", test_size=rest, seed=seed)
    x, y = datasets.load_digits(split="test", test_size=rest, seed=seed).tensors  # already shuffled
    half = rest // 2
    return train, data.TensorDataset(x[:half], y[:half]), data.TensorDataset(x[half:], y[half:])


def make_model(dropout=0.0, input_dropout=0.0, hidden=HIDDEN):
    """The MLP every variant trains: (N, 64) pixels -> (N, 10) class scores, with
    ``nn.Dropout(input_dropout)`` on the pixels and ``nn.Dropout(dropout)`` after each hidden ReLU
    when they are > 0."""
    layers = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
    for fan_in in (64, hidden):
        layers += [nn.Linear(fan_in, hidden), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(hidden, 10))


class TrainSetEvaluation(Callback):
    """After each epoch, evaluate the model on ``train`` as on validation data (eval mode, no
    gradients) and log ``train_loss`` and ``train_accuracy``.

    The Trainer's own ``loss`` is the mean over the epoch's batches while the weights were still
    changing and, with dropout, with units switched off; this is the model's loss as it stands."""

    def __init__(self, train):
        super().__init__()
        self.train = train

    def on_epoch_end(self, epoch, logs=None):
        measured = self.trainer.evaluate(self.train, batch_size=500)
        logs["train_loss"], logs["train_accuracy"] = measured["loss"], measured["accuracy"]


def train_variant(name, splits, epochs, seed=0):
    """Train a fresh model as variant ``name`` (a key of VARIANTS) for at most ``epochs`` epochs.
    ``splits``: (train, validation, test) from :func:`load_splits`. Returns a :class:`Result`."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; expected one of {list(VARIANTS)}")
    settings = VARIANTS[name]
    train, validation, test = splits
    cr.manual_seed(seed)  # every variant starts from the same weights (up to dropout's layers) and data order
    model = make_model(dropout=settings.get("dropout", 0.0), input_dropout=settings.get("input_dropout", 0.0))
    optimizer = optim.SGD(
        model.parameters(),
        lr=LR,
        momentum=MOMENTUM,
        weight_decay=settings.get("weight_decay", 0.0),
        l1_decay=settings.get("l1_decay", 0.0),
    )
    callbacks = [TrainSetEvaluation(train)]
    stop = None
    if "patience" in settings:
        stop = EarlyStopping(monitor="val_loss", patience=settings["patience"], restore_best_weights=True)
        callbacks.append(stop)  # after TrainSetEvaluation: it restores the weights at the end of training
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, metrics=["accuracy"], callbacks=callbacks)
    history = trainer.fit(train, epochs=epochs, batch_size=BATCH_SIZE, validation=validation, seed=seed, verbose=False)

    curves = {key: history.history[key] for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")}
    on_train = trainer.evaluate(train, batch_size=500)
    on_validation = trainer.evaluate(validation, batch_size=500)
    final = {
        "train_loss": on_train["loss"],
        "train_accuracy": on_train["accuracy"],
        "val_loss": on_validation["loss"],
        "val_accuracy": on_validation["accuracy"],
        "test_accuracy": trainer.evaluate(test, batch_size=500)["accuracy"],
    }
    val_loss = curves["val_loss"]
    return Result(
        name=name,
        curves=curves,
        final=final,
        best_epoch=val_loss.index(min(val_loss)) + 1,
        epochs_run=len(val_loss),
        stopped_epoch=None if stop is None or stop.stopped_epoch is None else stop.stopped_epoch + 1,
    )


def run(epochs=100, names=tuple(VARIANTS), train_size=TRAIN_SIZE, seed=0):
    """Train every variant in ``names`` on the same splits; returns {name: Result}."""
    splits = load_splits(train_size, seed)
    return {name: train_variant(name, splits, epochs, seed) for name in names}


def format_table(results):
    """The results as a text table, one row per variant."""
    lines = [
        f"{'variant':<15} {'train acc':>9} {'train loss':>10} {'val acc':>8} {'val loss':>8} "
        f"{'test acc':>8} {'best ep':>7} {'epochs':>6} {'acc gap':>7} {'loss gap':>8}"
    ]
    for result in results.values():
        final = result.final
        lines.append(
            f"{result.name:<15} {final['train_accuracy']:>9.1%} {final['train_loss']:>10.4f} "
            f"{final['val_accuracy']:>8.1%} {final['val_loss']:>8.4f} {final['test_accuracy']:>8.1%} "
            f"{result.best_epoch:>7d} {result.epochs_run:>6d} {result.accuracy_gap:>7.1%} {result.loss_gap:>8.4f}"
        )
    return "\n".join(lines)


def plot_curves(results, path, train_size=TRAIN_SIZE):
    """Write a PNG to ``path`` (its folder is created): one column per variant, the loss (top) and
    the accuracy (bottom) of the training and validation sets over the epochs, the epoch of the
    lowest validation loss dotted. Needs matplotlib (pip install 'chainrule[plot]'). Returns ``path``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("plot_curves needs matplotlib: install it with pip install 'chainrule[plot]'") from error
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure = Figure(figsize=(3.2 * len(results), 5.6), layout="constrained")
    FigureCanvasAgg(figure)  # render with Agg, without touching pyplot's global backend
    panels = figure.subplots(2, len(results), squeeze=False, sharex=True, sharey="row")
    top_loss = max(max(result.curves["val_loss"]) for result in results.values())
    for column, result in enumerate(results.values()):
        epochs = range(1, result.epochs_run + 1)
        for row, quantity in enumerate(("loss", "accuracy")):
            panel = panels[row][column]
            panel.plot(epochs, result.curves[f"train_{quantity}"], label="train", color="tab:blue")
            panel.plot(epochs, result.curves[f"val_{quantity}"], label="validation", color="tab:orange")
            panel.axvline(result.best_epoch, color="gray", linestyle=":", linewidth=1, label="lowest val loss")
            panel.grid(alpha=0.3)
        if result.stopped_epoch is not None:
            panels[0][column].annotate(
                f"stopped at {result.stopped_epoch},\nweights of {result.best_epoch}",
                xy=(result.stopped_epoch, result.curves["val_loss"][-1]), xytext=(0.45, 0.6),
                textcoords="axes fraction", fontsize=8, arrowprops={"arrowstyle": "->", "color": "gray"},
            )  # fmt: skip
        final = result.final
        panels[0][column].set_title(f"{result.name}\nloss: val - train = {result.loss_gap:.3f}", fontsize=10)
        panels[1][column].set_title(
            f"accuracy: train {final['train_accuracy']:.1%}, val {final['val_accuracy']:.1%}", fontsize=9
        )
        panels[1][column].set_xlabel("epoch")
    panels[0][0].set_ylim(0, min(top_loss * 1.05, 2.5))
    panels[1][0].set_ylim(0.5, 1.01)
    panels[0][0].set_ylabel("cross-entropy loss")
    panels[1][0].set_ylabel("accuracy")
    panels[0][0].legend(fontsize=8)
    figure.suptitle(f"The same MLP on {train_size} digits: training vs validation curves", fontsize=11)
    figure.savefig(path, format="png", dpi=100)
    return path


def main(out="overfitting-demo", quick=False):
    """Run the five variants (``quick``: fewer epochs, for tests), print the table and write
    ``out/overfitting.png``. Returns {name: Result}."""
    epochs = 40 if quick else 100
    results = run(epochs=epochs)
    print(format_table(results))
    path = plot_curves(results, os.path.join(out, "overfitting.png"))
    print(f"curves: {path}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="overfitting-demo", help="folder for the PNG (default: overfitting-demo)")
    parser.add_argument("--quick", action="store_true", help="fewer epochs: seconds instead of about a minute")
    arguments = parser.parse_args()
    main(out=arguments.out, quick=arguments.quick)
