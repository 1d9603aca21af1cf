"""chainrule's exceptions. Each message names what was expected and what was found."""


class ShapeError(RuntimeError, ValueError):
    """Shapes that do not fit an op: both shapes are in the message."""


class DTypeError(RuntimeError, TypeError):
    """Dtypes that an op cannot combine, or a dtype an op does not accept."""


class GraphError(RuntimeError):
    """Misuse of the autograd graph: a freed graph, a tensor that needs no grad, a tensor changed
    in place after an op saved it for backward."""


class GradcheckError(RuntimeError):
    """Analytical and finite-difference gradients disagree; names the worst element."""


class AnomalyError(RuntimeError):
    """An op's forward or backward produced NaN or Inf while ``detect_anomaly`` was on."""


class CheckpointError(RuntimeError, ValueError):
    """A checkpoint file that cannot be read: not safetensors, truncated, or inconsistent. The
    message names the file and what is wrong with it."""


class DataFileError(ValueError):
    """A data file that is truncated, corrupt or not what it claims to be (a bad IDX header, a
    broken gzip stream, a checksum mismatch); the message names the file and what is wrong."""


class NonFiniteError(RuntimeError):
    """Training met a NaN or Inf loss or gradient (``Trainer(on_nonfinite=...)``). The message names
    the epoch, the global step, the batch index, what was non-finite (the loss or which parameter's
    gradient) and, under ``detect_anomaly``, the op that produced it."""
