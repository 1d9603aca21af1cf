"""The two ways a command fails, and the exit status each gives (printed without a traceback)."""


class UsageError(Exception):
    """The command line or the files it names are wrong (a bad config, a missing run): exit status 2."""

    exit_status = 2


class RunError(Exception):
    """The command was right but could not be carried out (no data, a missing extra): exit status 1."""

    exit_status = 1
