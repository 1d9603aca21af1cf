"""What ``fit`` prints: a tqdm bar per epoch on a terminal, one plain line per epoch elsewhere.

On a terminal the bar shows batches done, rate and ETA, and in its postfix the running means of
the loss and metrics over the epoch so far (never the last batch's value dressed up as the
epoch's). When the output is not a terminal (CI, log files, pipes) there is no bar: each epoch
ends with one line::

    epoch 3/10  loss 0.2345  accuracy 0.9312  val_loss 0.2511  val_accuracy 0.9204  lr 0.001  12.3s
"""

import os
import sys
import time

from .callbacks import Callback


def format_logs(logs):
    """``loss 0.2345  accuracy 0.9312  lr 0.001``: 4 decimals for losses and metrics, 3
    significant digits for the learning rate."""
    parts = []
    for key, value in logs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        parts.append(f"{key} {value:.3g}" if key == "lr" else f"{key} {value:.4f}")
    return "  ".join(parts)


class LineProgress(Callback):
    """One line per epoch: ``epoch 3/10  loss 0.2345  ...  12.3s``."""

    def __init__(self, epochs, stream=None):
        super().__init__()
        self.epochs = epochs
        self.stream = stream if stream is not None else sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        parts = [f"epoch {epoch + 1}/{self.epochs}", format_logs(logs or {}), format_duration(seconds)]
        print("  ".join(part for part in parts if part), file=self.stream)
        self.stream.flush()

    def close(self):
        pass


class BarProgress(Callback):
    """A tqdm bar per epoch, the running loss and metrics in its postfix."""

    # a short bar leaves the width to the running loss and metrics; without a length, no percentage
    KNOWN_LENGTH = (
        "{desc} {percentage:3.0f}%|{bar:12}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
    )
    UNKNOWN_LENGTH = "{desc} {n_fmt} batches [{elapsed}, {rate_fmt}{postfix}]"

    def __init__(self, epochs, batches, stream=None):
        super().__init__()
        self.epochs = epochs
        self.batches = batches
        self.stream = stream if stream is not None else sys.stdout
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm import tqdm

        self.bar = tqdm(
            total=self.batches,
            desc=f"epoch {epoch + 1}/{self.epochs}",
            unit="batch",
            file=self.stream,
            dynamic_ncols=True,
            leave=True,
            bar_format=self.KNOWN_LENGTH if self.batches is not None else self.UNKNOWN_LENGTH,
        )

    def on_batch_end(self, batch, logs=None):
        running = {key: value for key, value in (logs or {}).items() if key != "size"}
        self.bar.set_postfix_str(format_logs(running), refresh=False)
        self.bar.update(1)  # redraws at most every tqdm.mininterval seconds

    def on_epoch_end(self, epoch, logs=None):
        self.bar.set_postfix_str(format_logs(logs or {}), refresh=False)
        self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def make_progress(verbose, epochs, batches, stream=None):
    """The progress callback for ``fit(verbose=...)``: None for ``verbose=False`` (or 0); a bar
    when ``verbose`` is True (or 1) and ``stream`` is a terminal, otherwise lines; ``verbose=2``
    always gives lines."""
    if not verbose:
        return None
    stream = stream if stream is not None else sys.stdout
    if verbose == 2:
        return LineProgress(epochs, stream)
    is_terminal = getattr(stream, "isatty", None)
    if is_terminal is not None and is_terminal() and _columns(stream) != 0:
        return BarProgress(epochs, batches, stream)
    return LineProgress(epochs, stream)


def _columns(stream):
    """The terminal's width, 0 for a terminal without a size (where tqdm would draw nothing),
    None when it cannot be asked."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def format_duration(seconds):
    """An epoch's wall time, readable at every scale: ``0.042s``, ``1.3s``, ``12.3s``."""
    return f"{seconds:.3f}s" if seconds < 1 else f"{seconds:.1f}s"
