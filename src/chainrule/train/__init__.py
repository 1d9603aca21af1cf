"""``chainrule.train``: Keras's ``fit`` over chainrule models.

``Trainer`` (fit / evaluate / predict), ``History``, callbacks (``EarlyStopping``,
``ModelCheckpoint``, ``CSVLogger``, ``LearningRateScheduler``) and ``metrics``; exact resume with
``TrainingCheckpoint`` and ``fit(..., resume=...)`` (``resume``), ``DurableCSVLogger``, and
``TrainingInterrupted`` for Ctrl-C / SIGTERM (``interrupt``); ``NonFiniteGuard`` for what a NaN
or Inf step does (``Trainer(on_nonfinite=...)``, ``guards``).
"""

from . import metrics
from .callbacks import Callback, CallbackList, CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from .durable_log import DurableCSVLogger
from .guards import NonFiniteGuard
from .history import History
from .interrupt import TrainingInterrupted
from .lr_finder import LRFinderResult, lr_find
from .metrics import (
    Accuracy,
    ConfusionMatrix,
    MeanAbsoluteError,
    MeanSquaredError,
    Metric,
    TopKAccuracy,
    accuracy,
    confusion_matrix,
    mae,
    mse,
    top_k_accuracy,
)
from .resume import TrainingCheckpoint
from .trainer import Trainer

__all__ = [
    "Accuracy",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "ConfusionMatrix",
    "DurableCSVLogger",
    "EarlyStopping",
    "History",
    "LRFinderResult",
    "LearningRateScheduler",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Metric",
    "ModelCheckpoint",
    "NonFiniteGuard",
    "TopKAccuracy",
    "Trainer",
    "TrainingCheckpoint",
    "TrainingInterrupted",
    "accuracy",
    "confusion_matrix",
    "lr_find",
    "mae",
    "metrics",
    "mse",
    "top_k_accuracy",
]
