"""``TrainingCheckpoint``: the files of exact resume — full training checkpoints written during
``fit``, their rotation, and finding the newest loadable one (see :mod:`chainrule.train.resume`
for what a checkpoint holds and how ``fit`` continues from it).

A directory holds ``step-00000123.safetensors`` files, named by the global step. Each is written
with :func:`chainrule.save` (a temporary file, flushed, fsynced, renamed, the directory fsynced)
before any older file is deleted, so a crash at any moment leaves the newest good checkpoint.
"""

import contextlib
import os
import re
import warnings

from ..errors import CheckpointError
from ..io import checkpoint
from .callbacks import Callback

FORMAT = "chainrule.training_state"
VERSION = 1
STEP_FILE = re.compile(r"^step-(\d+)\.safetensors$")


class TrainingCheckpoint(Callback):
    """Write full training checkpoints during ``fit`` (pass it in ``callbacks``), so that
    ``fit(..., resume=directory)`` continues exactly, and stop cleanly on SIGINT / SIGTERM.

    - ``every``: also save every ``every`` optimizer steps (None: at epoch ends only).
    - ``directory`` holds ``step-00000123.safetensors`` files (the global step), the newest
      ``keep_last`` kept: a new file is written atomically before older ones are deleted, so a
      crash at any moment leaves the last good checkpoint.
    - ``epoch_path``: where epoch-end checkpoints go instead (one file, replaced atomically);
      by default they are step files in ``directory`` like the others.
    - ``config``: any JSON-like description of the run (the CLI's config), saved and compared on
      resume: a different config is refused.

    While it is in ``fit``, the first SIGINT (Ctrl-C) or SIGTERM finishes the current step,
    writes a checkpoint and raises :class:`~chainrule.train.interrupt.TrainingInterrupted`.

    Example::

        >>> saver = TrainingCheckpoint("runs/a/ckpt", every=50, keep_last=2)
        >>> trainer.fit(train, epochs=5, seed=0, callbacks=[saver])
        >>> sorted(os.listdir("runs/a/ckpt"))       # e.g. 2 steps kept of 60 per epoch
        ['step-00000250.safetensors', 'step-00000300.safetensors']
    """

    def __init__(self, directory, every=None, keep_last=3, epoch_path=None, config=None):
        super().__init__()
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"TrainingCheckpoint: every must be a positive integer or None, got {every!r}")
        if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
            raise ValueError(f"TrainingCheckpoint: keep_last must be a positive integer, got {keep_last!r}")
        self.directory = os.fspath(directory)
        self.every = every
        self.keep_last = keep_last
        self.epoch_path = os.fspath(epoch_path) if epoch_path is not None else None
        self.config = config
        self.saved = []  # paths written during the last fit, in order
        self.run = None  # the FitRun of the fit in progress

    # ------------------------------------------------------------------ files
    def step_path(self, step):
        return os.path.join(self.directory, f"step-{step:08d}.safetensors")

    def step_files(self):
        """[(global step, path)] of the step checkpoints in ``directory``, oldest first."""
        return step_files(self.directory)

    def has_checkpoints(self):
        return bool(self.step_files()) or (self.epoch_path is not None and os.path.isfile(self.epoch_path))

    def write(self, state, path):
        """Write ``state`` to ``path`` atomically; for a step file, then drop the oldest beyond
        ``keep_last`` (never the file just written)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            checkpoint.save(state, path)
        except TypeError as error:  # e.g. a scheduler of the user's own holding a function
            raise TypeError(f"TrainingCheckpoint: cannot save the training state to {path}: {error}") from error
        self.saved.append(path)
        if os.path.dirname(os.path.abspath(path)) == os.path.abspath(self.directory):
            self._rotate(keep=path)
        return path

    def _rotate(self, keep):
        others = [path for _, path in self.step_files() if os.path.abspath(path) != os.path.abspath(keep)]
        for path in others[: max(0, len(others) - (self.keep_last - 1))]:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    def remove_temporaries(self):
        """Delete the temporary files a killed writer left behind (never a finished checkpoint)."""
        places = [(self.directory, ".step-")]
        if self.epoch_path is not None:
            places.append((os.path.dirname(os.path.abspath(self.epoch_path)), f".{os.path.basename(self.epoch_path)}."))
        for directory, prefix in places:
            if not os.path.isdir(directory):
                continue
            for name in os.listdir(directory):
                if name.startswith(prefix) and name.endswith(".tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(os.path.join(directory, name))

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self.saved = []
        self.remove_temporaries()

    def on_batch_end(self, batch, logs=None):
        run = self.run  # it has counted this step already: it runs just before this callback
        path = None
        if self.every is not None and run.global_step % self.every == 0:
            path = self.write(run.capture(), self.step_path(run.global_step))
        if run.catcher.requested is not None:
            path = path or self.write(run.capture(), self.step_path(run.global_step))
            run.stop(path)

    def on_epoch_end(self, epoch, logs=None):
        run = self.run
        path = self.write(run.capture(), self.epoch_path or self.step_path(run.global_step))
        if run.catcher.requested is not None and not run.finished:
            run.stop(path)


def step_files(directory):
    """[(global step, path)] of the ``step-*.safetensors`` files in ``directory``, oldest first."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = STEP_FILE.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(directory, name)))
    return sorted(found)


def load_training_state(path):
    """The training state in the checkpoint file ``path``; CheckpointError if it is not one."""
    state = checkpoint.load(path)
    if state.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a training checkpoint (expected format {FORMAT!r}, found {state.get('format')!r}); "
            "exact resume needs a file written by TrainingCheckpoint"
        )
    if state.get("version") != VERSION:
        raise CheckpointError(f"{path}: training checkpoint version {state.get('version')!r}, expected {VERSION}")
    return state


def latest_checkpoint(*locations):
    """(path, state) of the newest loadable training checkpoint among ``locations`` (directories
    of step files, or single files); (None, None) when there is none. Unreadable files are
    skipped with a warning."""
    best = (None, None)

    def consider(path):
        nonlocal best
        try:
            state = load_training_state(path)
        except (CheckpointError, OSError) as error:
            warnings.warn(f"skipping an unreadable checkpoint: {error}", stacklevel=3)
            return False
        if best[1] is None or state["position"]["global_step"] > best[1]["position"]["global_step"]:
            best = (path, state)
        return True

    named = []
    for location in locations:
        location = os.fspath(location)
        if os.path.isdir(location):
            named.extend(step_files(location))
        elif os.path.isfile(location):
            consider(location)
    for step, path in sorted(named, reverse=True):  # newest first; stop at the first that loads
        if best[1] is not None and step <= best[1]["position"]["global_step"]:
            break
        if consider(path):
            break
    return best


def resume_source(resume):
    """(path, state) for ``fit(resume=...)``: a file, or the newest loadable file of a directory."""
    resume = os.fspath(resume)
    if os.path.isdir(resume):
        path, state = latest_checkpoint(resume)
        if path is None:
            raise FileNotFoundError(f"resume: {resume} holds no loadable training checkpoint (step-*.safetensors)")
        return path, state
    if not os.path.exists(resume):
        raise FileNotFoundError(f"resume: no such checkpoint file or directory: {resume}")
    return resume, load_training_state(resume)


def config_differences(saved, given, where=""):
    """Lines ``"section.key: saved X, given Y"`` for every difference between two nested dicts."""
    if isinstance(saved, dict) and isinstance(given, dict):
        lines = []
        for key in list(saved) + [key for key in given if key not in saved]:
            name = f"{where}.{key}" if where else str(key)
            if key not in given:
                lines.append(f"{name}: saved {saved[key]!r}, given nothing")
            elif key not in saved:
                lines.append(f"{name}: saved nothing, given {given[key]!r}")
            else:
                lines.extend(config_differences(saved[key], given[key], name))
        return lines
    if isinstance(saved, (list, tuple)) and isinstance(given, (list, tuple)):
        saved, given = list(saved), list(given)
    return [] if saved == given else [f"{where or 'config'}: saved {saved!r}, given {given!r}"]
