"""Embedding lookup: rows of a weight table picked by integer indices, and its scatter-add backward."""

from ..autograd.function import Function
from ..backend import namespace_of
from ..errors import ShapeError
from ..tensor import Tensor


class Embedding(Function):
    """y[..., :] = W[i[...], :],  i: (*) integers, W: (num_embeddings, embedding_dim) -> y: (*, embedding_dim).

    ∂L/∂W[k] = Σ over positions p with i[p] = k of s[p] · g[p]: a scatter-add of the gradient rows,
    where s[p] = 0 at padding_idx (that row gets no gradient), 1/count(i[p]) with
    scale_grad_by_freq, else 1. The backward is linear in g and built from namespace functions, so
    create_graph=True works through it.
    """

    def __init__(self, indices, padding_idx, scale_grad_by_freq):
        self.indices = indices  # (*) integer array, checked to lie in [0, num_embeddings)
        self.padding_idx = padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq

    def forward(self, weight):
        self.weight_shape = weight.shape
        return self.xp.take(weight, self.indices, axis=0)

    def backward(self, grad):
        xp = self.xp
        flat = self.indices.reshape(-1)
        rows = xp.reshape(grad, (-1, self.weight_shape[1]))  # (M, embedding_dim)
        scale = self._row_scale(flat)
        if scale is not None:
            rows = rows * scale
        return xp.scatter_add(self.weight_shape, flat, rows)

    def _row_scale(self, flat):
        """(M, 1) factor per looked-up row, or None when every row counts once. Plain arrays, so it
        is the same under create_graph."""
        if self.padding_idx is None and not self.scale_grad_by_freq:
            return None
        arrays = namespace_of(flat)
        dtype = self.out_dtype
        scale = arrays.ones(flat.shape, dtype=dtype)
        if self.scale_grad_by_freq:
            counts = arrays.bincount(flat, minlength=self.weight_shape[0])
            scale = scale / counts[flat].astype(dtype)
        if self.padding_idx is not None:
            scale = scale * (flat != self.padding_idx).astype(dtype)
        return scale.reshape(-1, 1)


def embedding(
    input,  # noqa: A002 - PyTorch's argument name
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type=2.0,
    scale_grad_by_freq=False,
    sparse=False,
):
    """Look up rows of ``weight`` (PyTorch's ``F.embedding``).

    input: (*) int64/int32 indices in [0, num_embeddings), weight: (num_embeddings, embedding_dim)
    -> (*, embedding_dim). The ``padding_idx`` row receives no gradient (its value is used as it
    is; ``nn.Embedding`` initialises it to zeros). ``scale_grad_by_freq`` divides each row's
    gradient by how often its index occurs in ``input``. ``max_norm`` (renormalising rows in place)
    and ``sparse`` gradients are not implemented.

    Example::

        >>> weight = cr.randn(10, 3)
        >>> F.embedding(cr.tensor([[1, 2, 4], [4, 3, 9]]), weight).shape     # (2, 3) -> (2, 3, 3)
        (2, 3, 3)
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"embedding: expected Tensors, got {type(input).__name__} and {type(weight).__name__}")
    if max_norm is not None:
        raise NotImplementedError("embedding: max_norm (renormalising looked-up rows in place) is not implemented")
    if sparse:
        raise NotImplementedError("embedding: sparse=True (sparse gradients) is not implemented; use sparse=False")
    if weight.ndim != 2:
        raise ShapeError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {tuple(weight.shape)}"
        )
    indices = input._data
    if indices.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: expected integer indices (int64 or int32), got {input.dtype.name}; convert them with .long()"
        )
    num_embeddings = weight.shape[0]
    if indices.size:
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= num_embeddings:
            bad = low if low < 0 else high
            raise IndexError(
                f"embedding: index {bad} is out of range for num_embeddings={num_embeddings} "
                f"(valid indices: 0..{num_embeddings - 1})"
            )
    padding_idx = _padding_index(padding_idx, num_embeddings)
    if input.device != weight.device:
        raise ValueError(f"embedding: indices are on {input.device} but weight is on {weight.device}")
    return Embedding(indices, padding_idx, scale_grad_by_freq)(weight)


def _padding_index(padding_idx, num_embeddings):
    """padding_idx in [0, num_embeddings) (negative counts from the end), or None."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"padding_idx must be within num_embeddings: got {padding_idx} for num_embeddings={num_embeddings}"
        )
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx
