"""``DurableCSVLogger``: a per-epoch CSV log that a crash never leaves half written and a resumed
run continues without repeating a row."""

import csv
import io
import os

from ..io.checkpoint import _write_atomic
from .callbacks import Callback


class DurableCSVLogger(Callback):
    """One CSV row per epoch in ``path``: ``epoch`` (1-based), then the logged quantities, the
    columns in the order they first appear (a missing value is an empty cell).

    After each epoch the whole file is rewritten atomically (a temporary file, flushed, fsynced,
    renamed), so the file always holds a complete table: the one before the epoch or the one
    after it. Its rows are part of a :class:`~chainrule.train.resume.TrainingCheckpoint`'s state,
    so ``fit(..., resume=...)`` writes back the rows up to the checkpoint and appends from there
    (rows an interrupted run logged after its last checkpoint are replaced, never repeated).

    Example::

        >>> trainer.fit(train, epochs=3, callbacks=[DurableCSVLogger("metrics.csv")])
        >>> open("metrics.csv").read().splitlines()[0]
        'epoch,loss,accuracy,lr'
    """

    def __init__(self, path, separator=","):
        super().__init__()
        self.path = os.fspath(path)
        self.separator = separator
        self.rows = []

    def on_train_begin(self, logs=None):
        self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch + 1, **{key: value for key, value in (logs or {}).items()}})
        self.write()

    def write(self):
        """Replace ``path`` with the table of ``rows``."""
        columns = []
        for row in self.rows:
            columns.extend(key for key in row if key not in columns)
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=columns, delimiter=self.separator, restval="")
        writer.writeheader()
        writer.writerows(self.rows)
        _write_atomic(self.path, text.getvalue().encode("utf-8"))

    def state_dict(self):
        return {"rows": [dict(row) for row in self.rows]}

    def load_state_dict(self, state):
        self.rows = [dict(row) for row in state["rows"]]
        if self.rows:
            self.write()
