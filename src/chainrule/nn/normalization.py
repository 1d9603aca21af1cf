"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm`` and ``GroupNorm``.

Parameter and buffer names, shapes, defaults and train/eval behaviour are PyTorch's: BatchNorm
keeps ``running_mean``, ``running_var`` and ``num_batches_tracked`` (int64) buffers, normalises
with the batch's biased variance while training and feeds the unbiased one into the running
average, and uses the running statistics in eval mode.
"""

import numbers

from .. import creation, dtypes
from ..errors import ShapeError
from ..ops.normalization import batch_norm, group_norm, layer_norm
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm"]


def _add_affine_parameters(module, shape, affine, bias, dtype, device):
    """``weight`` (and ``bias`` unless bias=False) of ``shape`` when ``affine``, else both None, as
    every normalisation layer has them; their values come from ``_reset_affine``."""
    if affine:
        module.weight = Parameter(creation.empty(*shape, dtype=dtype, device=device))
        if bias:
            module.bias = Parameter(creation.empty(*shape, dtype=dtype, device=device))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module):
    """Weight 1, bias 0 (PyTorch's initialisation)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ in the input dims they accept."""

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        device=None,
        dtype=None,
        *,
        bias=True,
    ):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = dtype if dtype is not None else dtypes.get_default_dtype()
        _add_affine_parameters(self, (num_features,), affine, bias, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", creation.zeros((), dtype=dtypes.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        """Reset the running statistics; weight 1 and bias 0 (PyTorch's initialisation)."""
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input):  # noqa: A002 - PyTorch's argument name
        raise NotImplementedError(f"{type(self).__name__} must define _check_input_dim")

    def _short_name(self):
        return f"{type(self).__name__}({self.num_features})"

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ShapeError(
                f"{self._short_name()} expected {self.num_features} channels, got input of shape {tuple(input.shape)}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average: the mean of every batch so far
                factor = 1.0 / self.num_batches_tracked.item()
        use_batch_stats = self.training or self.running_mean is None
        tracked = not self.training or self.track_running_stats
        return batch_norm(
            input,
            self.running_mean if tracked else None,
            self.running_var if tracked else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        # PyTorch's state dicts from before num_batches_tracked existed load with the current count.
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key not in state_dict:
            state_dict = dict(state_dict)
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing, unexpected, errors)

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel: y = (x - μ)/√(σ² + ε)·γ + β.

    While training, μ and σ² are the batch's (over N, and L); ``running_mean`` and ``running_var``
    follow them with ``momentum`` (None: a cumulative average), the variance unbiased. In eval mode
    (or ``track_running_stats=False``: never) the running statistics are used instead. ``affine``
    gives the learned ``weight`` γ and ``bias`` β (C,); ``bias=False`` keeps γ only (PyTorch 2.x).

    Example::

        >>> bn = nn.BatchNorm1d(16)
        >>> bn(cr.randn(32, 16)).shape                        # (N, C) -> (N, C)
        (32, 16)
        >>> [name for name in bn.state_dict()]
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    def _check_input_dim(self, input):  # noqa: A002 - PyTorch's argument name
        if input.ndim not in (2, 3):
            raise ShapeError(f"{self._short_name()}: expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel over N, H and W (see BatchNorm1d).

    Example::

        >>> bn = nn.BatchNorm2d(16)
        >>> bn(cr.randn(8, 16, 28, 28)).shape                 # (N, C, H, W) -> (N, C, H, W)
        (8, 16, 28, 28)
    """

    def _check_input_dim(self, input):  # noqa: A002 - PyTorch's argument name
        if input.ndim != 4:
            raise ShapeError(f"{self._short_name()}: expected 4D input (got {input.ndim}D input)")


class LayerNorm(Module):
    """Layer normalisation over the last dims, ``normalized_shape``: each sample standardised on
    its own, then scaled by ``weight`` and shifted by ``bias`` (both of shape normalized_shape).
    (*, *normalized_shape) -> same. ``bias=False`` keeps the weight only.

    Example::

        >>> ln = nn.LayerNorm(32)
        >>> ln(cr.randn(4, 10, 32)).shape                     # (N, T, 32) -> (N, T, 32)
        (4, 10, 32)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(size) for size in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = dtype if dtype is not None else dtypes.get_default_dtype()
        _add_affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self):
        """Weight 1, bias 0 (PyTorch's initialisation)."""
        _reset_affine(self)

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        try:
            return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)
        except ShapeError as error:
            raise ShapeError(f"{self!r}: {error}") from None

    def extra_repr(self):
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group normalisation: the channels split into ``num_groups`` groups, each sample's group
    standardised over its channels and all positions, then a per-channel ``weight`` and ``bias``
    (num_channels,) (``bias=False``: the weight only). (N, C, *) -> (N, C, *). Independent of the
    batch size, unlike BatchNorm.

    Example::

        >>> gn = nn.GroupNorm(4, 16)
        >>> gn(cr.randn(2, 16, 8, 8)).shape                   # groups of 4 channels
        (2, 16, 8, 8)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dtype = dtype if dtype is not None else dtypes.get_default_dtype()
        _add_affine_parameters(self, (num_channels,), affine, bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self):
        """Weight 1, bias 0 (PyTorch's initialisation)."""
        _reset_affine(self)

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ShapeError(
                f"GroupNorm({self.num_groups}, {self.num_channels}) expected {self.num_channels} channels, "
                f"got input of shape {tuple(input.shape)}"
            )
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        bias = self.bias is not None
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={bias}"
