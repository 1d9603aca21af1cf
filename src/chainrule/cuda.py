"""``chainrule.cuda``: whether a GPU can be used (through CuPy)."""

from . import backend


def is_available():
    """True when CuPy is installed and sees an NVIDIA GPU."""
    return backend.cuda_is_available()


def device_count():
    """Number of GPUs CuPy sees (0 without CuPy)."""
    if not is_available():
        return 0
    return backend.cupy_module().cuda.runtime.getDeviceCount()
