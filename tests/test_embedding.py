"""nn.Embedding and F.embedding against PyTorch (tests/fixtures/torch_rnn.npz, written by
scripts/make_torch_fixtures_rnn.py), by finite differences, and their errors. No torch import."""

import ast
import functools
import json
import math
import pathlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_rnn.npz"
CASES = ["embedding", "embedding_padding", "embedding_padding_negative", "embedding_freq"]
PRECISIONS = [
    pytest.param(cr.float64, "", 1e-12, 1e-14, id="float64"),
    pytest.param(cr.float32, "_32", 1e-6, 1e-7, id="float32"),
]


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def build(case, dtype):
    ref = reference()
    spec = json.loads(str(ref[f"{case}/config"]))
    module = nn.Embedding(**spec["kwargs"]).to(dtype)
    with cr.no_grad():
        module.weight.copy_(ref[f"{case}/params"].reshape(module.weight.shape))
    return module


@pytest.mark.parametrize("dtype, suffix, rtol, atol", PRECISIONS)
@pytest.mark.parametrize("case", CASES)
def test_embedding_matches_pytorch(case, dtype, suffix, rtol, atol):
    ref = reference()
    module = build(case, dtype)
    out = module(cr.tensor(ref[f"{case}/x"]))
    assert out.dtype == dtype
    np.testing.assert_allclose(out.detach().numpy(), ref[f"{case}/out/0{suffix}"], rtol=rtol, atol=atol)
    (out * cr.tensor(ref[f"{case}/v/0"], dtype=dtype)).sum().backward()
    expected = ref[f"{case}/grads{suffix}"].reshape(module.weight.shape)
    np.testing.assert_allclose(module.weight.grad.numpy(), expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", CASES)
def test_state_dict_is_pytorchs(case):
    ref = reference()
    state = build(case, cr.float32).state_dict()
    assert list(state) == ref[f"{case}/state_dict"].tolist()
    assert [tuple(v.shape) for v in state.values()] == [ast.literal_eval(s) for s in ref[f"{case}/state_shapes"]]


def test_embedding_gradcheck_and_double_backward():
    weight = cr.tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)
    indices = cr.tensor([[1, 4, 1], [0, 2, 1]])
    assert cr.autograd.gradcheck(lambda w: F.embedding(indices, w) ** 2, (weight,))

    def first_grad(w):
        (g,) = cr.autograd.grad((F.embedding(indices, w) ** 3).sum(), w, create_graph=True)
        return g

    assert cr.autograd.gradcheck(first_grad, (weight,))


@pytest.mark.parametrize("kwargs", [{"padding_idx": 1}, {"scale_grad_by_freq": True}], ids=["pad", "freq"])
def test_modified_gradients_are_the_same_under_create_graph(kwargs):
    """padding_idx and scale_grad_by_freq change the gradient on purpose (it is no longer the
    forward's derivative, so no finite-difference check): create_graph must give the same values."""
    weight = cr.tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)
    indices = cr.tensor([[1, 4, 1], [0, 2, 1]])
    plain = cr.autograd.grad((F.embedding(indices, weight, **kwargs) ** 2).sum(), weight)[0]
    graph = cr.autograd.grad((F.embedding(indices, weight, **kwargs) ** 2).sum(), weight, create_graph=True)[0]
    assert graph.requires_grad
    np.testing.assert_allclose(graph.detach().numpy(), plain.numpy(), rtol=1e-15)
    rows = weight.detach().numpy()
    counts = np.bincount(indices.numpy().ravel(), minlength=5)
    expected = 2 * rows * counts[:, None]
    if "padding_idx" in kwargs:
        expected[1] = 0
    else:
        expected = np.where(counts[:, None] > 0, 2 * rows, 0)
    np.testing.assert_allclose(plain.numpy(), expected, rtol=1e-14)


def test_default_init_and_padding_row():
    cr.manual_seed(0)
    emb = nn.Embedding(2000, 50, padding_idx=3)
    weight = emb.weight.detach().numpy()
    assert weight.shape == (2000, 50) and weight.dtype == np.float32
    np.testing.assert_array_equal(weight[3], np.zeros(50))
    rest = np.delete(weight, 3, axis=0).ravel()  # N(0, 1)
    assert abs(rest.mean()) < 5 / math.sqrt(rest.size)
    assert abs(rest.std() - 1) < 5 * 0.71 / math.sqrt(rest.size)
    assert nn.Embedding(10, 2, padding_idx=-2).padding_idx == 8
    assert repr(emb) == "Embedding(2000, 50, padding_idx=3)"


def test_padding_row_gets_no_gradient_but_its_value_is_used():
    weight = cr.ones(4, 2, requires_grad=True)
    out = F.embedding(cr.tensor([0, 0, 2]), weight, padding_idx=0)
    np.testing.assert_array_equal(out.detach().numpy(), np.ones((3, 2)))
    out.sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy(), [[0, 0], [0, 0], [1, 1], [0, 0]])


def test_from_pretrained():
    table = cr.randn(5, 2)
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and list(frozen.parameters())[0].shape == (5, 2)
    np.testing.assert_array_equal(frozen(cr.tensor([4])).numpy(), table.numpy()[[4]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(cr.ShapeError, match="2-dimensional"):
        nn.Embedding.from_pretrained(cr.randn(5))


def test_errors():
    emb = nn.Embedding(10, 3)
    with pytest.raises(TypeError, match="integer indices.*float32"):
        emb(cr.tensor([1.0, 2.0]))
    with pytest.raises(IndexError, match="index 10 is out of range for num_embeddings=10"):
        emb(cr.tensor([1, 10]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        emb(cr.tensor([-1, 2]))
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(10, 3, max_norm=1.0)
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(cr.tensor([1]), emb.weight, sparse=True)
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(cr.ShapeError, match="2-D"):
        F.embedding(cr.tensor([1]), cr.randn(10))
    assert emb(cr.tensor(np.zeros((0, 2), dtype=np.int64))).shape == (0, 2, 3)
