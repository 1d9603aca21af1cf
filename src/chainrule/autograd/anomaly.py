"""``detect_anomaly``: find the op that first produced NaN or Inf.

While on, every op records where it was created and checks its forward output and its backward
gradients; the first non-finite value raises ``AnomalyError`` naming the op and that place.
It slows everything down: turn it on to debug, not to train.
"""

import functools

from .grad_mode import state


class detect_anomaly:
    """Context manager and decorator that turns anomaly detection on.

    Example::

        >>> with cr.autograd.detect_anomaly():
        ...     loss = (x.log() * 0).sum()   # x has a zero -> AnomalyError: Log produced NaN or Inf
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._previous = state.anomaly
        state.anomaly = self.check_nan
        return self

    def __exit__(self, *exc_info):
        state.anomaly = self._previous
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return function(*args, **kwargs)

        return wrapper


def set_detect_anomaly(mode):
    """Turn anomaly detection on or off for the rest of the program."""
    state.anomaly = bool(mode)


def is_anomaly_enabled():
    return state.anomaly
