"""What the fuzz tests of the file readers share (test_fuzz_checkpoint.py, test_fuzz_idx.py):
hypothesis settings, a watchdog against hangs, and one guarded call of a reader."""

import contextlib
import os
import signal
import tracemalloc

from hypothesis import HealthCheck, settings

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
HANG_SECONDS = 20  # reading a file of a few KiB that takes this long is a hang
MIB = 1 << 20


def fuzz(examples):
    """Bounded, deterministic settings for CI; many more random examples with HYPOTHESIS_PROFILE=long."""
    return settings(
        max_examples=examples * 40 if LONG else examples,
        deadline=10_000,  # ms; reading files this small takes a few ms
        derandomize=not LONG,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class Hang(AssertionError):
    """A reader did not return within HANG_SECONDS."""


@contextlib.contextmanager
def watchdog(seconds, what):
    """Raise Hang in the main thread if the block runs longer than ``seconds``."""

    def alarm(signum, frame):
        raise Hang(f"{what} ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def guarded_read(read, path, data, documented_error, bound):
    """Write ``data`` to ``path`` and ``read(path)`` under the watchdog; returns the result or the
    ``documented_error`` raised. Any other exception fails the test, and so does a message that
    does not name the file, or a peak of Python allocations of ``bound`` bytes or more."""
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with watchdog(HANG_SECONDS, read.__name__):
            try:
                result = read(path)
            except documented_error as error:
                result = error
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if isinstance(result, documented_error):
        assert str(path) in str(result), f"the message does not name the file: {result}"
    assert peak < bound, f"{read.__name__} allocated {peak} bytes for a {len(data)}-byte file (bound {bound})"
    return result
