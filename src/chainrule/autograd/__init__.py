"""Automatic differentiation: the engine, ``grad``, grad mode, ``gradcheck`` and anomaly mode."""

from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import backward, grad, observe_backward
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck

__all__ = [
    "Function",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "observe_backward",
    "set_detect_anomaly",
    "set_grad_enabled",
]
