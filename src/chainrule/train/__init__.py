"""``chainrule.train``: Keras's ``fit`` over chainrule models.

``Trainer`` (fit / evaluate / predict), ``History``, callbacks (``EarlyStopping``,
``ModelCheckpoint``, ``CSVLogger``, ``LearningRateScheduler``) and ``metrics``.
"""

from . import metrics
from .callbacks import Callback, CallbackList, CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from .history import History
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
from .trainer import Trainer

__all__ = [
    "Accuracy",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "ConfusionMatrix",
    "EarlyStopping",
    "History",
    "LRFinderResult",
    "LearningRateScheduler",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Metric",
    "ModelCheckpoint",
    "TopKAccuracy",
    "Trainer",
    "accuracy",
    "confusion_matrix",
    "lr_find",
    "mae",
    "metrics",
    "mse",
    "top_k_accuracy",
]
