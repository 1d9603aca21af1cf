"""``Embedding``: a learnable lookup table from integer ids (words, items, classes) to vectors."""

from .. import creation, dtypes
from ..autograd.grad_mode import no_grad
from ..errors import ShapeError
from ..ops.embedding import _padding_index, embedding
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``: (*) int indices -> (*, embedding_dim).

    ``weight`` is (num_embeddings, embedding_dim), drawn from N(0, 1) as in PyTorch; the
    ``padding_idx`` row starts as zeros and never receives a gradient. ``scale_grad_by_freq``
    divides each row's gradient by its index's count in the batch. ``max_norm`` and ``sparse=True``
    are not implemented (NotImplementedError).

    Example::

        >>> emb = nn.Embedding(10, 3, padding_idx=0)
        >>> emb(cr.tensor([[0, 2, 4], [4, 3, 9]])).shape      # (2, 3) -> (2, 3, 3)
        (2, 3, 3)
    """

    def __init__(
        self,
        num_embeddings,
        embedding_dim,
        padding_idx=None,
        max_norm=None,
        norm_type=2.0,
        scale_grad_by_freq=False,
        sparse=False,
        _weight=None,
        _freeze=False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if max_norm is not None:
            raise NotImplementedError("Embedding: max_norm (renormalising looked-up rows in place) is not implemented")
        if sparse:
            raise NotImplementedError("Embedding: sparse=True (sparse gradients) is not implemented")
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {value!r}")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            dtype = dtype if dtype is not None else dtypes.get_default_dtype()
            self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, dtype=dtype, device=device))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(
                    f"Embedding: _weight must be ({num_embeddings}, {embedding_dim}), got {tuple(_weight.shape)}"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        """N(0, 1) for every row, then zeros for the padding row (PyTorch's default)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        return embedding(input, self.weight, self.padding_idx, None, self.norm_type, self.scale_grad_by_freq)

    @classmethod
    def from_pretrained(
        cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
        sparse=False,
    ):  # fmt: skip
        """An Embedding whose weight is ``embeddings`` (2-D, shared, not copied); frozen unless freeze=False.

        Example::

            >>> emb = nn.Embedding.from_pretrained(cr.randn(5, 2))     # (5, 2) table, no gradient
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            shape = tuple(embeddings.shape) if isinstance(embeddings, Tensor) else type(embeddings).__name__
            raise ShapeError(f"Embeddings parameter is expected to be 2-dimensional, got {shape}")
        rows, cols = embeddings.shape
        return cls(
            rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=embeddings,
            _freeze=freeze,
        )  # fmt: skip

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s
