"""``History``: what ``Trainer.fit`` returns, one list per logged quantity, and its learning curves."""

from .callbacks import Callback


class History(Callback):
    """The per-epoch logs of a ``fit`` run.

    ``history`` maps each quantity to its values, one per epoch: ``{"loss": [...],
    "accuracy": [...], "val_loss": [...], "val_accuracy": [...], "lr": [...]}``; ``epoch`` lists
    the epochs run (0-based, as the callbacks see them).

    Example::

        >>> history = trainer.fit((x, y), epochs=3, validation=(x_val, y_val))
        >>> history.epoch, len(history.history["val_loss"])
        ([0, 1, 2], 3)
        >>> history.plot("curves.png")
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            # a quantity that first appears late is padded, so every list lines up with self.epoch
            self.history.setdefault(key, [None] * (len(self.epoch) - 1)).append(value)
        for values in self.history.values():
            if len(values) < len(self.epoch):
                values.append(None)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"

    def plot(self, path, keys=None):
        """Write the learning curves as a PNG to ``path``: one panel per quantity (training and
        ``val_`` curves together), the learning rate on a log scale. ``keys`` picks the
        quantities (default: all). Needs matplotlib (``pip install 'chainrule[plot]'``).
        Returns ``path``.
        """
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            from matplotlib.ticker import MaxNLocator
        except ImportError as error:
            raise ImportError("History.plot needs matplotlib: install it with pip install 'chainrule[plot]'") from error
        if not self.epoch:
            raise ValueError("History.plot: there is nothing to plot, no epoch has finished")
        names = [key for key in self.history if not key.startswith("val_")]
        names += [key[4:] for key in self.history if key.startswith("val_") and key[4:] not in self.history]
        if keys is not None:
            unknown = [key for key in keys if key not in names]
            if unknown:
                raise ValueError(f"History.plot: no quantity named {unknown}; the history has {names}")
            names = list(keys)
        figure = Figure(figsize=(4.5 * len(names), 3.5), layout="constrained")
        FigureCanvasAgg(figure)  # render with Agg, without touching pyplot's global backend
        epochs = [epoch + 1 for epoch in self.epoch]
        for panel, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names):
            for key, label in ((name, "train"), (f"val_{name}", "validation")):
                if key in self.history:
                    points = [(e, v) for e, v in zip(epochs, self.history[key]) if v is not None]
                    panel.plot([e for e, _ in points], [v for _, v in points], marker="o", markersize=3, label=label)
            if name == "lr":
                panel.set_yscale("log")
            panel.set_title(name)
            panel.set_xlabel("epoch")
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
            panel.grid(alpha=0.3)
            if name != "lr":
                panel.legend()
        figure.savefig(path, format="png", dpi=100)
        return path
