"""Stopping a run cleanly on Ctrl-C (SIGINT) or SIGTERM: finish the step, save, then stop.

While ``Trainer.fit`` runs with a :class:`~chainrule.train.resume.TrainingCheckpoint`, the first
SIGINT or SIGTERM only sets a flag. The checkpoint callback looks at it after each step (and each
epoch), writes a checkpoint and raises :class:`TrainingInterrupted`, whose message says how to
resume. A second Ctrl-C stops at once with a plain ``KeyboardInterrupt`` (nothing saved then).
The previous handlers come back when ``fit`` ends; handlers are installed only in the main thread
(Python delivers signals there and nowhere else).
"""

import signal
import sys
import threading

SIGNALS = ("SIGINT", "SIGTERM")


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by ``fit`` after a signal stopped it and a checkpoint was written.

    A ``KeyboardInterrupt`` (so ``except Exception`` does not swallow it), with ``signal_name``
    (``"SIGINT"`` / ``"SIGTERM"``), ``checkpoint`` (the file written), ``epoch`` and ``step``
    (0-based epoch, batches done in it) and ``exit_status``: 128 + the signal number, what a shell
    reports for a process the signal killed (130 for SIGINT, 143 for SIGTERM).

    Example::

        >>> try:
        ...     trainer.fit(data, epochs=10, callbacks=[TrainingCheckpoint("ckpt")])
        ... except TrainingInterrupted as stop:
        ...     print(stop.checkpoint)           # later: trainer.fit(data, epochs=10, resume="ckpt", ...)
    """

    def __init__(self, message, signal_name, checkpoint, epoch, step):
        super().__init__(message)
        self.signal_name = signal_name
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.step = step
        self.exit_status = 128 + int(getattr(signal, signal_name))


class SignalCatcher:
    """A context manager that turns SIGINT / SIGTERM into a flag (``requested``: the signal's name).

    Outside the main thread it installs nothing and ``requested`` stays None.
    """

    def __init__(self, stream=None):
        self.requested = None
        self._previous = {}
        self._stream = stream

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        for name in SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}
        return False

    def _handle(self, number, frame):
        name = signal.Signals(number).name
        if self.requested is not None and number == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.requested = name
        stream = self._stream or sys.stderr
        print(
            f"\n{name} received: finishing the current step, then saving a checkpoint "
            "(Ctrl-C again stops at once, without saving)",
            file=stream,
            flush=True,
        )
