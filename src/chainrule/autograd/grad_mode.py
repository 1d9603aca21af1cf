"""Whether ops record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

The switch is per thread, as in PyTorch. Each works as a context manager and as a decorator.
"""

import functools
import threading


class _State(threading.local):
    enabled = True
    anomaly = False


state = _State()


def is_grad_enabled():
    """True when ops record the graph for backward (the default)."""
    return state.enabled


class _GradSwitch:
    """Context manager and decorator that sets grad mode for a block, then restores it."""

    mode = True

    def __new__(cls, function=None):
        # ``@cr.no_grad`` without parentheses decorates directly, as in PyTorch.
        if callable(function) and cls is not set_grad_enabled:
            return object.__new__(cls)(function)
        return object.__new__(cls)

    def __enter__(self):
        self._previous = state.enabled
        state.enabled = self.mode
        return self

    def __exit__(self, *exc_info):
        state.enabled = self._previous
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return function(*args, **kwargs)

        return wrapper


class no_grad(_GradSwitch):
    """Ops inside record no graph; results have ``requires_grad=False``.

    Example::

        >>> with cr.no_grad():
        ...     y = w * 2          # y.requires_grad is False
    """

    mode = False


class enable_grad(_GradSwitch):
    """Turn graph recording back on inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradSwitch):
    """Set grad mode to ``mode`` (a bool): ``with cr.set_grad_enabled(False): ...``."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._previous = state.enabled
        state.enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, function):
        state.enabled = self._previous
        mode = self.mode

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return function(*args, **kwargs)

        return wrapper
