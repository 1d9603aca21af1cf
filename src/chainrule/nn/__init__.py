"""``chainrule.nn``: neural-network building blocks. ``nn.functional`` holds the stateless ops."""

from . import functional

__all__ = ["functional"]
