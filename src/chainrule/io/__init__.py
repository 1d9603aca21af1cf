"""``chainrule.io``: checkpoints in the safetensors format (never pickle).

``save(state_dict, path)`` writes atomically; ``load(path)`` validates the file before reading it.
"""

from .checkpoint import load, save

__all__ = ["load", "save"]
