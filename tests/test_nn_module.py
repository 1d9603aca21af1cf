"""Module, Parameter and the containers: registration, naming and state dicts as PyTorch's (fixture
tests/fixtures/torch_nn.npz), loading PyTorch weights, modes, hooks, repr, dtype moves, nn.utils."""

import copy
import functools
import math
import pathlib
import re
from collections import OrderedDict

import numpy as np
import pytest
from nn_models import nested_model, small_sequential

import chainrule as cr
from chainrule import nn

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_nn.npz"


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def strings(key):
    return [str(s) for s in reference()[key]]


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 3)
        self.b = nn.Linear(3, 1)

    def forward(self, x):
        return self.b(self.a(x))


# ----------------------------------------------------------------- Parameter


def test_parameter():
    data = cr.ones(2, 3)
    p = nn.Parameter(data)
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    assert p._data is data._data  # shares storage, as PyTorch's Parameter(t)
    assert repr(p) == "Parameter containing:\ntensor([[1., 1., 1.],\n        [1., 1., 1.]], requires_grad=True)"
    assert not nn.Parameter(cr.ones(2), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    clone = copy.deepcopy(p)
    assert isinstance(clone, nn.Parameter) and clone._data is not p._data and clone.requires_grad
    np.testing.assert_array_equal(clone.detach().numpy(), p.detach().numpy())
    assert (p * 2).grad_fn is not None and not isinstance(p * 2, nn.Parameter)


# ----------------------------------------------------------------- registration


def test_registration_and_lookup():
    m = nn.Module()
    m.w = nn.Parameter(cr.zeros(2))
    m.register_buffer("stat", cr.ones(2))
    m.register_buffer("tmp", cr.ones(1), persistent=False)
    m.child = nn.Linear(1, 1)
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._buffers) == ["stat", "tmp"] and list(m._modules) == ["child"]
    assert m.w is m._parameters["w"] and m.stat is m._buffers["stat"] and m.child is m._modules["child"]
    assert "plain" in m.__dict__ and "w" not in m.__dict__
    assert list(m.state_dict()) == ["w", "stat", "child.weight", "child.bias"]  # no non-persistent buffer
    assert [n for n, _ in m.named_buffers()] == ["stat", "tmp"]
    m.w = nn.Parameter(cr.ones(2))  # reassigning keeps the parameter's place
    m.register_parameter("v", None)
    assert list(m._parameters) == ["w", "v"] and [n for n, _ in m.named_parameters()][:1] == ["w"]
    m.w = None
    assert m.w is None and "w" in m._parameters
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'v'"):
        m.v = cr.ones(2)
    with pytest.raises(TypeError, match="buffer 'stat'"):
        m.stat = 3.0
    with pytest.raises(TypeError, match="child module 'child'"):
        m.child = "linear"
    with pytest.raises(KeyError, match=re.escape('contain ".", got "a.b"')):
        m.register_buffer("a.b", cr.ones(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", cr.ones(1))
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("q", cr.ones(1))
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'missing'"):
        m.missing  # noqa: B018
    del m.child, m.stat, m.plain
    assert "child" not in m._modules and "stat" not in m._buffers and not hasattr(m, "plain")
    m.child = nn.Linear(1, 1)
    m.child = None
    assert m._modules["child"] is None and list(m.children()) == []


def test_assigning_before_init_fails_clearly():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_forward_is_required():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(cr.ones(1))


def test_shared_parameters_are_yielded_once():
    m = Pair()
    m.c = m.a  # the same module twice
    m.b.weight = m.a.weight if m.a.weight.shape == m.b.weight.shape else m.b.weight
    tied = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    tied[1].weight = tied[0].weight
    assert [n for n, _ in tied.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert len(list(tied.parameters())) == 3
    assert list(tied.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # state dicts keep both
    assert [n for n, _ in m.named_modules()] == ["", "a", "b"]
    assert [n for n, _ in m.named_modules(remove_duplicate=False)] == ["", "a", "b", "c"]


# ----------------------------------------------------------------- names and state dict vs PyTorch


def test_nested_names_equal_pytorchs():
    model = nested_model(cr)
    state = model.state_dict()
    assert list(state) == strings("nested/keys")
    assert [str(tuple(t.shape)) for t in state.values()] == strings("nested/shapes")
    assert [n for n, _ in model.named_parameters()] == strings("nested/parameter_names")
    assert [n for n, _ in model.named_buffers()] == strings("nested/buffer_names")
    assert [n for n, _ in model.named_modules()] == strings("nested/module_names")
    assert [n for n, _ in model.named_children()] == strings("nested/children")


def test_state_dict_values_are_detached_views():
    model = Pair()
    state = model.state_dict()
    assert isinstance(state, OrderedDict)
    weight = state["a.weight"]
    assert not weight.requires_grad and not isinstance(weight, nn.Parameter)
    assert weight._data is model.a.weight._data  # shares storage
    assert model.state_dict(keep_vars=True)["a.weight"] is model.a.weight
    assert list(model.state_dict(prefix="net.")) == ["net.a.weight", "net.a.bias", "net.b.weight", "net.b.bias"]


def test_loading_a_pytorch_state_dict_gives_pytorchs_outputs():
    ref = reference()
    model = nested_model(cr)
    storages = {name: p._data for name, p in model.named_parameters()}
    arrays = {key: ref[f"nested/value/{key}"] for key in strings("nested/keys")}
    result = model.load_state_dict(arrays)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for name, p in model.named_parameters():
        assert p._data is storages[name]  # copied into the existing storage
    np.testing.assert_array_equal(model.blocks[1].offset.numpy(), arrays["blocks.1.offset"])
    model.eval()
    out = model(cr.tensor(ref["nested/x"], dtype=cr.float32))
    np.testing.assert_allclose(out.detach().numpy(), ref["nested/out"], rtol=1e-5, atol=1e-6)
    # and back: our state dict, as arrays, is the PyTorch one
    for key, tensor in model.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), arrays[key])
    other = nested_model(cr)
    other.load_state_dict(model.state_dict())  # Tensors load too
    again = other.eval()(cr.tensor(ref["nested/x"], dtype=cr.float32))
    np.testing.assert_array_equal(again.detach().numpy(), out.detach().numpy())


def test_strict_loading_lists_every_problem_like_pytorch():
    layer = nn.Linear(2, 3)
    bad = {"weight": np.zeros((3, 4), np.float32), "running_mean": np.zeros(3), "extra.bias": np.zeros(1)}
    expected = re.sub(r"torch\.Size\(\[(\d+), (\d+)\]\)", r"(\1, \2)", str(reference()["errors/strict"]))
    with pytest.raises(RuntimeError) as caught:
        layer.load_state_dict(bad)
    assert str(caught.value) == expected


def test_non_strict_loading_reports_keys_but_still_refuses_shape_mismatches():
    layer = nn.Linear(2, 3)
    result = layer.load_state_dict({"weight": np.ones((3, 2)), "extra": np.zeros(1)}, strict=False)
    assert result == (["bias"], ["extra"]) and result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert np.all(layer.weight.detach().numpy() == 1) and layer.weight.dtype == cr.float32
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        layer.load_state_dict({"weight": np.ones((2, 2))}, strict=False)
    with pytest.raises(RuntimeError, match="expected a Tensor or a NumPy array"):
        layer.load_state_dict({"weight": [[1.0] * 2] * 3, "bias": np.zeros(3)})
    holder = nn.Module()
    holder.register_buffer("tmp", cr.zeros(1), persistent=False)
    assert holder.load_state_dict({"tmp": np.ones(1)}, strict=False).unexpected_keys == ["tmp"]  # as PyTorch
    assert holder.tmp.item() == 0.0
    with pytest.raises(TypeError, match="mapping"):
        layer.load_state_dict([("weight", np.ones((3, 2)))])


# ----------------------------------------------------------------- modes, gradients, apply, dtype


def test_train_eval_propagate():
    model = nested_model(cr)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="boolean"):
        model.train("no")


def test_zero_grad_and_requires_grad_():
    model = Pair()
    model(cr.ones(4, 2)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and np.all(p.grad.numpy() == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.a.requires_grad_(False)
    assert not model.a.weight.requires_grad and model.b.weight.requires_grad
    model(cr.ones(4, 2)).sum().backward()
    assert model.a.weight.grad is None and model.b.weight.grad is not None


def test_apply_visits_children_first():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Tanh(), nn.Linear(2, 1)))
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "Tanh", "Linear", "Sequential", "Sequential"]


def test_to_dtype_keeps_parameter_objects_and_casts_only_floats():
    model = Pair()
    model.register_buffer("steps", cr.tensor([3]))
    weight = model.a.weight
    model(cr.ones(1, 2)).sum().backward()
    assert model.double() is model
    assert model.a.weight is weight and weight.dtype == cr.float64 and weight.grad.dtype == cr.float64
    assert model.steps.dtype == cr.int64
    out = model(cr.ones(1, 2, dtype=cr.float64))
    assert out.dtype == cr.float64
    model.to(cr.float32)
    assert weight.dtype == cr.float32
    model.float().cpu()
    assert weight.device == cr.device("cpu")
    with pytest.raises(TypeError, match="floating point"):
        model.to(cr.int32)


# ----------------------------------------------------------------- hooks and the call path


def test_forward_hooks():
    layer = nn.Linear(2, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(("post", args[0].sum().item())) or out + 1)
    y = layer(cr.ones(3, 2))
    assert calls == ["pre", ("post", 0.0)]
    np.testing.assert_allclose(y.detach().numpy(), np.broadcast_to(layer.bias.detach().numpy() + 1, (3, 2)))
    pre.remove()
    post.remove()
    post.remove()  # removing twice is harmless
    calls.clear()
    np.testing.assert_allclose(layer(cr.ones(1, 2)).detach().numpy(), F_linear_reference(layer, np.ones((1, 2))))
    assert calls == []
    seen = []
    with layer.register_forward_hook(lambda m, args, out: seen.append(out.shape)):
        layer(cr.ones(5, 2))
    layer(cr.ones(5, 2))
    assert seen == [(5, 2)]


def F_linear_reference(layer, x):
    return x @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()


def test_hooks_see_every_submodule_in_order():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    shapes = []
    handles = [m.register_forward_hook(lambda m, a, o: shapes.append((type(m).__name__, o.shape))) for m in model]
    model(cr.ones(4, 2))
    assert shapes == [("Linear", (4, 3)), ("ReLU", (4, 3)), ("Linear", (4, 1))]
    for handle in handles:
        handle.remove()


# ----------------------------------------------------------------- repr


def test_repr_equals_pytorchs():
    assert repr(small_sequential(cr)) == str(reference()["small/repr"])
    assert repr(nested_model(cr)) == str(reference()["nested/repr"])


# ----------------------------------------------------------------- containers


def test_sequential():
    layers = [nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers and model[0] is layers[0] and model[-1] is layers[2]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2] and list(head._modules) == ["0", "1"]
    x = cr.ones(4, 2)
    np.testing.assert_allclose(model(x).detach().numpy(), layers[2](layers[1](layers[0](x))).detach().numpy())
    model.append(nn.Sigmoid())
    assert list(model._modules) == ["0", "1", "2", "3"]
    del model[1]
    assert list(model._modules) == ["0", "1", "2"] and model[1] is layers[2]
    model[0] = nn.Linear(2, 3)
    assert list(model._modules) == ["0", "1", "2"]
    relu = nn.ReLU()
    model.insert(1, relu).extend([nn.Identity()])
    assert list(model._modules) == ["0", "1", "2", "3", "4"] and model[1] is relu and model(x).shape == (4, 1)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.act is named[1]
    with pytest.raises(IndexError):
        model[5]
    with pytest.raises(TypeError, match="expected a Module"):
        nn.Sequential(nn.Linear(1, 1), lambda x: x)


def test_module_list_and_dict():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(blocks) == 3 and [n for n, _ in blocks.named_parameters()][:2] == ["0.weight", "0.bias"]
    blocks.append(nn.ReLU())
    blocks.extend([nn.Tanh()])
    blocks.insert(0, nn.Identity())
    assert [type(m).__name__ for m in blocks] == ["Identity", "Linear", "Linear", "Linear", "ReLU", "Tanh"]
    assert isinstance(blocks[1:3], nn.ModuleList) and blocks[-1] is list(blocks)[-1]
    del blocks[0]
    assert list(blocks._modules) == [str(i) for i in range(5)]
    holder = Pair()
    holder.extra = nn.ModuleList([nn.Linear(1, 1)])
    assert "extra.0.weight" in holder.state_dict()
    heads = nn.ModuleDict({"cls": nn.Linear(4, 2)})
    heads["box"] = nn.Linear(4, 4)
    heads.update([("aux", nn.Linear(4, 1))])
    assert list(heads) == ["cls", "box", "aux"] and "box" in heads and len(heads) == 3
    assert list(heads.state_dict())[:2] == ["cls.weight", "cls.bias"]
    assert heads.pop("aux") is not None and list(heads.keys()) == ["cls", "box"]
    with pytest.raises(NotImplementedError):
        heads(cr.ones(1))


def test_identity_flatten_and_submodule_lookup():
    model = nested_model(cr)
    assert model.get_submodule("blocks.1.fc") is model.blocks[1].fc
    assert model.get_parameter("heads.score.bias") is model.heads["score"].bias
    with pytest.raises(AttributeError, match="nope"):
        model.get_submodule("blocks.nope")
    x = cr.ones(2, 3)
    assert nn.Identity(54, unused="x")(x) is x


def test_deepcopy_of_a_model_is_independent():
    model = Pair()
    clone = copy.deepcopy(model)
    with cr.no_grad():
        clone.a.weight.fill_(0.0)
    assert not np.all(model.a.weight.detach().numpy() == 0)
    assert isinstance(clone.a.weight, nn.Parameter)
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]


# ----------------------------------------------------------------- nn.utils


def _with_grads(*arrays):
    params = [nn.Parameter(cr.zeros(*a.shape, dtype=cr.float64)) for a in arrays]
    for p, a in zip(params, arrays):
        p.grad = cr.tensor(a)
    return params


def test_clip_grad_norm():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    joint = np.concatenate([a.ravel() for a in arrays])
    for norm_type, reference_norm in [
        (2.0, np.linalg.norm(joint)),
        (1, np.abs(joint).sum()),
        (math.inf, np.abs(joint).max()),
    ]:
        params = _with_grads(*arrays)
        total = nn.utils.clip_grad_norm_(params, max_norm=0.5, norm_type=norm_type)
        assert isinstance(total, cr.Tensor) and total.shape == ()
        assert total.item() == pytest.approx(reference_norm, rel=1e-12)
        clipped = np.concatenate([p.grad.numpy().ravel() for p in params])
        np.testing.assert_allclose(clipped, joint * 0.5 / (reference_norm + 1e-6), rtol=1e-12)
    params = _with_grads(*arrays)
    nn.utils.clip_grad_norm_(params, max_norm=100.0)  # below the limit: untouched
    np.testing.assert_array_equal(params[0].grad.numpy(), arrays[0])
    assert nn.utils.clip_grad_norm_([nn.Parameter(cr.ones(2))], 1.0).item() == 0.0  # no grads
    single = _with_grads(np.array([3.0, 4.0]))[0]
    assert nn.utils.clip_grad_norm_(single, 1.0).item() == pytest.approx(5.0)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(_with_grads(np.array([np.inf, 1.0])), 1.0, error_if_nonfinite=True)


def test_clip_grad_value_and_vectors():
    params = _with_grads(np.array([[-3.0, 0.5], [2.0, -0.1]]), np.array([10.0]))
    nn.utils.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.numpy(), [[-1.0, 0.5], [1.0, -0.1]])
    np.testing.assert_array_equal(params[1].grad.numpy(), [1.0])
    model = Pair()
    vector = nn.utils.parameters_to_vector(model.parameters())
    expected = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    assert vector.shape == (2 * 3 + 3 + 3 + 1,)
    np.testing.assert_array_equal(vector.detach().numpy(), expected)
    (vector * 2).sum().backward()  # differentiable, as in PyTorch
    assert np.all(model.a.weight.grad.numpy() == 2)
    nn.utils.vector_to_parameters(cr.arange(13.0), model.parameters())
    np.testing.assert_array_equal(model.a.weight.detach().numpy(), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(model.b.bias.detach().numpy(), [12.0])
    with pytest.raises(cr.ShapeError, match=r"\(13,\)"):
        nn.utils.vector_to_parameters(cr.arange(12.0), model.parameters())
    with pytest.raises(TypeError):
        nn.utils.vector_to_parameters(np.arange(13.0), model.parameters())
