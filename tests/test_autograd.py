"""The autograd engine's semantics, as PyTorch defines them: accumulation, retain_graph, grad
mode, detach, hooks, retain_grad, autograd.grad (higher order, allow_unused), backward(inputs=),
in-place checks through version counters, anomaly mode, and gradients that never alias."""

import os
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule import AnomalyError, GraphError
from chainrule.autograd import Function

THIS_FILE = os.path.basename(__file__)


def values(t):
    return np.asarray(t.detach())


# ---------------------------------------------------------------- accumulation, retain_graph
def test_grad_accumulates_over_two_backward_calls():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(values(x.grad), [2.0, 4.0, 6.0])
    first = x.grad
    (x * 3).sum().backward()
    np.testing.assert_allclose(values(x.grad), [5.0, 7.0, 9.0])
    assert x.grad is first  # accumulated into the same tensor, as PyTorch does


def test_grad_is_none_before_backward_and_zeroing_by_none_restarts():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert x.grad is None
    (x * 2).sum().backward()
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_allclose(values(x.grad), [5.0, 5.0])


def test_retain_graph_allows_a_second_backward():
    x = cr.tensor([0.5, -1.0], requires_grad=True)
    z = x.exp().sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(values(x.grad), 2 * np.exp([0.5, -1.0]), rtol=1e-6)


def test_second_backward_without_retain_graph_raises():
    x = cr.tensor([0.5, -1.0], requires_grad=True)
    z = x.exp().sum()
    z.backward()
    with pytest.raises(GraphError, match="retain_graph"):
        z.backward()


def test_second_backward_through_a_shared_subgraph_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x  # saves x
    (y.sum()).backward()
    with pytest.raises(GraphError, match="retain_graph"):
        (y * 2).sum().backward()


# ---------------------------------------------------------------- grad mode
def test_no_grad_context_manager():
    x = cr.ones(3, requires_grad=True)
    assert cr.is_grad_enabled()
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2
    assert cr.is_grad_enabled()
    assert y.requires_grad is False and y.grad_fn is None


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with cr.no_grad():
            raise ZeroDivisionError("inside no_grad")
    assert cr.is_grad_enabled()


def test_enable_grad_inside_no_grad_and_nesting():
    x = cr.ones(3, requires_grad=True)
    with cr.no_grad():
        with cr.enable_grad():
            assert cr.is_grad_enabled()
            y = x * 2
            with cr.no_grad():
                z = x * 2
            w = x * 2
        assert not cr.is_grad_enabled()
        v = x * 2
    assert y.requires_grad and y.grad_fn is not None
    assert w.requires_grad
    assert not z.requires_grad
    assert not v.requires_grad


def test_set_grad_enabled_context_manager():
    x = cr.ones(2, requires_grad=True)
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
        y = x * 2
        with cr.set_grad_enabled(True):
            z = x * 2
    assert cr.is_grad_enabled()
    assert not y.requires_grad
    assert z.requires_grad


def test_no_grad_as_decorator():
    @cr.no_grad()
    def double(t):
        assert not cr.is_grad_enabled()
        return t * 2

    x = cr.ones(2, requires_grad=True)
    assert double(x).requires_grad is False
    assert cr.is_grad_enabled()
    assert double.__name__ == "double"


def test_no_grad_as_decorator_without_parentheses():
    @cr.no_grad
    def double(t):
        return t * 2

    assert double(cr.ones(2, requires_grad=True)).requires_grad is False
    assert double.__name__ == "double"


def test_enable_grad_as_decorator_inside_no_grad():
    @cr.enable_grad()
    def double(t):
        return t * 2

    x = cr.ones(2, requires_grad=True)
    with cr.no_grad():
        y = double(x)
        assert not cr.is_grad_enabled()
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [2.0, 2.0])


def test_set_grad_enabled_as_decorator():
    @cr.set_grad_enabled(False)
    def double(t):
        return t * 2

    # Decorating does not leave grad mode switched off.
    assert cr.is_grad_enabled()
    assert double(cr.ones(2, requires_grad=True)).requires_grad is False
    assert cr.is_grad_enabled()


def test_decorated_function_sets_mode_each_call_and_nests():
    @cr.no_grad()
    def outer(t):
        return inner(t), t * 2

    @cr.enable_grad()
    def inner(t):
        return t * 3

    x = cr.ones(2, requires_grad=True)
    a, b = outer(x)
    assert a.requires_grad and not b.requires_grad
    a2, b2 = outer(x)
    assert a2.requires_grad and not b2.requires_grad


# ---------------------------------------------------------------- detach, .data
def test_detach_shares_data_and_cuts_the_graph():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d[0] = 10.0  # d needs no grad: allowed, and visible through x
    assert x.tolist() == [10.0, 2.0, 3.0]
    (x * d).sum().backward()  # d is a constant: d/dx (x·d) = d, not 2x
    np.testing.assert_allclose(values(x.grad), [10.0, 2.0, 3.0])


def test_detach_of_a_non_leaf_stops_gradient_flow():
    x = cr.tensor([2.0], requires_grad=True)
    y = x * x
    z = y.detach() * x + y  # d/dx = y + 2x = 4 + 4
    z.sum().backward()
    np.testing.assert_allclose(values(x.grad), [8.0])


def test_data_shares_storage_without_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.grad_fn is None
    d.mul_(3)  # not tracked: allowed although x requires grad
    assert x.tolist() == [3.0, 6.0]
    assert x.requires_grad and x.is_leaf


def test_data_setter_replaces_values_and_keeps_the_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.data = cr.tensor([5.0, 7.0])
    assert x.tolist() == [5.0, 7.0] and x.requires_grad
    (x * x).sum().backward()
    np.testing.assert_allclose(values(x.grad), [10.0, 14.0])


# ---------------------------------------------------------------- hooks, retain_grad
def test_leaf_hook_returning_a_tensor_replaces_the_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()
    np.testing.assert_allclose(values(x.grad), [30.0, 30.0])


def test_leaf_hook_is_called_once_with_the_summed_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    received = []
    x.register_hook(lambda g: received.append(values(g).copy()))
    (x * 3 + x * 4).sum().backward()
    assert len(received) == 1
    np.testing.assert_allclose(received[0], [7.0, 7.0])
    np.testing.assert_allclose(values(x.grad), [7.0, 7.0])


def test_hook_returning_none_observes_without_changing():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x * x).sum().backward()
    assert seen == [[2.0, 4.0]]
    np.testing.assert_allclose(values(x.grad), [2.0, 4.0])


def test_non_leaf_hook_replaces_the_gradient_flowing_on():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    received = []

    def hook(g):
        received.append(g.tolist())
        return g * 10

    y.register_hook(hook)
    (y * 3).sum().backward()
    assert received == [[3.0, 3.0]]
    np.testing.assert_allclose(values(x.grad), [60.0, 60.0])  # 3 * 10 * 2
    assert y.grad is None  # a hook does not retain the non-leaf's grad


def test_hook_handle_remove_stops_the_hook():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1) or g * 100)
    (x * 1).sum().backward()
    assert len(calls) == 1
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(values(x.grad), [1.0, 1.0])


def test_non_leaf_hook_handle_remove():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2
    handle = y.register_hook(lambda g: g * 100)
    handle.remove()
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [2.0])


def test_hooks_run_in_registration_order_and_chain():
    x = cr.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    np.testing.assert_allclose(values(x.grad), [30.0])  # (2 + 1) * 10


def test_register_hook_on_a_tensor_without_grad_raises():
    with pytest.raises(GraphError):
        cr.ones(2).register_hook(lambda g: g)


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    np.testing.assert_allclose(values(y.grad), [6.0, -12.0])  # 2y
    np.testing.assert_allclose(values(x.grad), [18.0, -36.0])


def test_non_leaf_grad_is_none_without_retain_grad():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 3
    (y * y).sum().backward()
    assert y.grad is None
    assert not y.retains_grad


def test_retain_grad_accumulates_over_backward_calls():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    z = (y * 5).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(values(y.grad), [10.0])


# ---------------------------------------------------------------- autograd.grad
def test_second_derivative_of_cube_is_six_x():
    x = cr.tensor([1.0, -2.0, 0.5], requires_grad=True)
    (g,) = cr.autograd.grad((x**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(values(g), 3 * np.array([1.0, -2.0, 0.5]) ** 2)
    assert g.requires_grad
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(values(h), 6 * np.array([1.0, -2.0, 0.5]))
    assert x.grad is None  # grad() never touches .grad


def test_third_derivative_of_cube_is_six():
    x = cr.tensor([1.0, 3.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad((x**3).sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x, create_graph=True)
    (k,) = cr.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(values(k), [6.0, 6.0])


def test_hessian_vector_product_matches_analytic_value():
    # f(x) = Σ xᵢ³ + x₀x₁ + sin(x₂):  H = diag(6x) + [[0,1,0],[1,0,0],[0,0,0]] - diag(0,0,sin x₂)
    xs = np.array([0.5, -1.5, 2.0])
    v = np.array([1.0, 2.0, -3.0])
    x = cr.tensor(xs, requires_grad=True)
    f = (x**3).sum() + x[0] * x[1] + x[2].sin()
    (g,) = cr.autograd.grad(f, x, create_graph=True)
    (hv,) = cr.autograd.grad((g * cr.tensor(v)).sum(), x)
    hessian = np.diag(6 * xs)
    hessian[0, 1] = hessian[1, 0] = 1.0
    hessian[2, 2] -= np.sin(xs[2])
    np.testing.assert_allclose(values(hv), hessian @ v, rtol=1e-12)


def test_grad_with_create_graph_then_backward_accumulates_into_leaf():
    x = cr.tensor([2.0], requires_grad=True)
    (g,) = cr.autograd.grad(x**2, x, create_graph=True)  # 2x
    (g * g).sum().backward()  # d/dx 4x² = 8x
    np.testing.assert_allclose(values(x.grad), [16.0])


def test_grad_with_grad_outputs():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (g,) = cr.autograd.grad(x * x, x, grad_outputs=cr.tensor([1.0, 10.0]))
    np.testing.assert_allclose(values(g), [2.0, 40.0])


def test_grad_of_several_inputs():
    x = cr.tensor([3.0], requires_grad=True)
    y = cr.tensor([4.0], requires_grad=True)
    gx, gy = cr.autograd.grad((x * y).sum(), [x, y])
    assert gx.tolist() == [4.0] and gy.tolist() == [3.0]


def test_grad_of_an_unused_input_raises_unless_allow_unused():
    x = cr.tensor([1.0], requires_grad=True)
    unused = cr.tensor([1.0], requires_grad=True)
    out = (x * 2).sum()
    with pytest.raises(GraphError, match="allow_unused"):
        cr.autograd.grad(out, [x, unused], retain_graph=True)
    gx, gu = cr.autograd.grad(out, [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0]
    assert gu is None


def test_grad_with_respect_to_a_non_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = (y * y).sum()
    (gy,) = cr.autograd.grad(z, y)
    np.testing.assert_allclose(values(gy), [6.0, 12.0])


# ---------------------------------------------------------------- backward(inputs=), gradient=
def test_backward_inputs_accumulates_only_into_those_tensors():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    (x * y).sum().backward(inputs=[x])
    np.testing.assert_allclose(values(x.grad), [3.0, 4.0])
    assert y.grad is None


def test_backward_inputs_with_a_non_leaf_fills_its_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    (y * y).sum().backward(inputs=[y])
    np.testing.assert_allclose(values(y.grad), [4.0, 8.0])
    assert x.grad is None


def test_gradient_argument_for_a_non_scalar_output():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(gradient=cr.tensor([1.0, 0.1, 0.01]))
    np.testing.assert_allclose(values(x.grad), [2.0, 0.4, 0.06], rtol=1e-6)


def test_gradient_argument_is_not_aliased_into_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    upstream = cr.tensor([5.0, 6.0])
    (x * 1).backward(upstream)
    x.grad.zero_()
    assert upstream.tolist() == [5.0, 6.0]
    (x + 0).backward(upstream)
    with cr.no_grad():
        x.grad.mul_(0)
    assert upstream.tolist() == [5.0, 6.0]


def test_gradient_argument_of_matrix_output():
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = cr.tensor([1.0, -1.0])
    out = w @ v  # (2,)
    out.backward(cr.tensor([1.0, 2.0]))
    np.testing.assert_allclose(values(w.grad), [[1.0, -1.0], [2.0, -2.0]])


# ---------------------------------------------------------------- a deep graph
def test_ten_thousand_op_chain_backward_has_no_recursion_error():
    x = cr.tensor([1.0], dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [1.0001**10_000], rtol=1e-9)


def test_ten_thousand_op_chain_of_different_ops():
    x = cr.tensor([0.5], dtype=cr.float64, requires_grad=True)
    y = x
    for i in range(5_000):
        y = (y + 1.0) - 1.0 if i % 2 else y.tanh() * 0 + y
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [1.0])


# ---------------------------------------------------------------- in place and versions
def test_in_place_change_of_a_saved_output_raises_naming_version():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()  # saves its output y
    with cr.no_grad():
        y.mul_(2)
    with pytest.raises(GraphError, match="version"):
        y.sum().backward()


def test_in_place_change_of_an_input_saved_by_mul_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0])  # needs no grad: in-place change is allowed while recording
    z = x * w  # saves w for dz/dx
    w.add_(1)
    with pytest.raises(GraphError, match="version") as info:
        z.sum().backward()
    assert "Mul" in str(info.value)


def test_in_place_change_through_detach_is_caught():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.detach().zero_()  # detach shares the version counter
    with pytest.raises(GraphError, match="version"):
        y.sum().backward()


def test_in_place_change_of_an_unsaved_input_is_fine():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0])
    z = x + w  # Add saves nothing
    w.add_(1)
    z.sum().backward()
    np.testing.assert_allclose(values(x.grad), [1.0, 1.0])


def test_setitem_on_a_saved_input_raises_at_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0])
    z = x * w
    w[0] = 0.0
    with pytest.raises(GraphError, match="version"):
        z.sum().backward()


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.add_(1),
        lambda t: t.mul_(2),
        lambda t: t.zero_(),
        lambda t: t.fill_(3.0),
        lambda t: t.copy_(cr.ones(2)),
        lambda t: t.__setitem__(0, 5.0),
    ],
    ids=["add_", "mul_", "zero_", "fill_", "copy_", "setitem"],
)
def test_in_place_on_a_leaf_that_requires_grad_while_recording_raises(change):
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="in-place"):
        change(x)
    assert x.tolist() == [1.0, 2.0]
    with cr.no_grad():
        change(x)  # an optimizer's update: allowed
    assert x.tolist() != [1.0, 2.0]
    assert x.requires_grad and x.is_leaf


def test_iadd_on_a_leaf_that_requires_grad_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError):
        x += 1
    with cr.no_grad():
        x += 1
    assert x.tolist() == [2.0, 3.0] and x.requires_grad and x.is_leaf


def test_iadd_on_a_plain_tensor_is_in_place():
    a = cr.zeros(3)
    alias = a
    a += 1
    assert a is alias
    assert alias.tolist() == [1.0, 1.0, 1.0]
    a *= 4
    a -= 1
    a /= 3
    assert alias.tolist() == [1.0, 1.0, 1.0]


def test_iadd_on_a_non_leaf_records_the_op():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y += x  # y = 2x + x
    y *= y  # y = 9x²
    assert y.tolist() == [9.0, 36.0]
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [18.0, 36.0])


def test_iadd_keeps_an_int_tensor_int():
    a = cr.tensor([1, 2])
    a += 3
    assert a.dtype == cr.int64 and a.tolist() == [4, 5]


# ---------------------------------------------------------------- anomaly mode
def test_detect_anomaly_names_the_op_whose_forward_made_nan():
    x = cr.tensor([-1.0, 1.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        with pytest.raises(AnomalyError) as info:
            x.log()
    message = str(info.value)
    assert "Log" in message and "forward" in message
    assert THIS_FILE in message


def test_detect_anomaly_names_sqrt_of_a_negative():
    x = cr.tensor([-4.0], requires_grad=True)
    with cr.autograd.detect_anomaly(), pytest.raises(AnomalyError, match="Sqrt"):
        x.sqrt()


def test_detect_anomaly_backward_infinity_names_the_op_and_where_it_was_created():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        y = x.sqrt()  # forward is finite; d sqrt/dx at 0 is inf
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    message = str(info.value)
    assert "Sqrt" in message and "backward" in message
    assert THIS_FILE in message and "y = x.sqrt()" in message


class NanBackward(Function):
    """y = 2x, with a broken backward that returns NaN."""

    def forward(self, x):
        return x * 2

    def backward(self, grad):
        return grad * float("nan")


def test_detect_anomaly_backward_nan_in_a_custom_function():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        y = NanBackward()(x)
        with pytest.raises(AnomalyError) as info:
            (y * 3).sum().backward()
    message = str(info.value)
    assert "NanBackward" in message and "backward" in message
    assert THIS_FILE in message and "y = NanBackward()(x)" in message


def test_without_anomaly_mode_nan_passes_silently():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    NanBackward()(x).sum().backward()
    assert np.isnan(values(x.grad)).all()
    assert not cr.autograd.is_anomaly_enabled()


def test_detect_anomaly_as_decorator_and_restored_after():
    @cr.autograd.detect_anomaly()
    def f(t):
        assert cr.autograd.is_anomaly_enabled()
        return t.log()

    with pytest.raises(AnomalyError, match="Log"):
        f(cr.tensor([-1.0]))
    assert not cr.autograd.is_anomaly_enabled()


# ---------------------------------------------------------------- custom Function
class Cube(Function):
    """y = x³.   dy/dx = 3x²"""

    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    def backward(self, grad):
        (x,) = self.saved
        return grad * 3 * x * x


def test_custom_function_backward_and_double_backward():
    x = cr.tensor([2.0, -1.0], requires_grad=True)
    y = Cube()(x)
    assert y.grad_fn.name == "CubeBackward0"
    (g,) = cr.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(values(g), [12.0, 3.0])
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(values(h), [12.0, -6.0])


# ---------------------------------------------------------------- gradients never alias
def test_grads_from_add_are_not_aliased():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    (x + y).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    x.grad.add_(100)
    assert y.grad.tolist() == [1.0, 1.0]
    assert x.grad.tolist() == [101.0, 101.0]


def test_grads_from_non_scalar_add_with_gradient_are_not_aliased():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    upstream = cr.tensor([1.0, 1.0])
    (x + y).backward(upstream)
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    assert not np.shares_memory(x.grad.numpy(), upstream.numpy())
    y.grad.mul_(0)
    assert x.grad.tolist() == [1.0, 1.0] and upstream.tolist() == [1.0, 1.0]


def test_grad_of_a_leaf_output_is_not_the_seed():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seed = cr.tensor([7.0, 8.0])
    x.backward(seed)
    assert not np.shares_memory(x.grad.numpy(), seed.numpy())
    x.grad.zero_()
    assert seed.tolist() == [7.0, 8.0]


def test_grads_through_reshape_and_sub_are_not_aliased():
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    (x.reshape(2) - y + x.reshape(2)).sum().backward()
    x.grad.zero_()
    assert y.grad.tolist() == [-1.0, -1.0]


def test_grad_is_a_writable_leaf_without_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad
    assert x.grad.numpy().flags.writeable
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype


def test_grad_is_summed_back_to_a_broadcast_input_shape():
    x = cr.ones(3, 1, requires_grad=True)
    b = cr.ones(4, requires_grad=True)
    (x * b).sum().backward()
    assert x.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_allclose(values(x.grad), np.full((3, 1), 4.0))
    np.testing.assert_allclose(values(b.grad), np.full(4, 3.0))


def test_leaf_grads_that_view_one_shared_gradient_get_private_memory():
    x = cr.ones(6, requires_grad=True)
    y = cr.ones(6, requires_grad=True)
    (x.reshape(2, 3) + y.reshape(2, 3)).backward(cr.ones(2, 3))  # both grads view one array
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    x.grad.mul_(5)
    assert y.grad.tolist() == [1.0] * 6


def test_a_user_gradient_is_not_kept_as_a_leaf_grad():
    x = cr.ones(3, requires_grad=True)
    upstream = cr.full((3,), 2.0)
    x.backward(upstream)
    x.grad.zero_()
    assert upstream.tolist() == [2.0, 2.0, 2.0]


class _Emit(cr.autograd.Function):
    """y = x; its backward hands out a fresh array and keeps a weak reference to it."""

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        handed_out = grad * 2
        _Emit.handed_out = weakref.ref(handed_out)
        return handed_out


def test_a_fresh_gradient_is_kept_as_the_leaf_grad_without_a_copy():
    x = cr.ones(3, requires_grad=True)
    _Emit()(x).sum().backward()
    assert x.grad._data is _Emit.handed_out()


def test_a_gradient_two_leaves_receive_is_copied_for_each():
    a = cr.ones(3, requires_grad=True)
    b = cr.ones(3, requires_grad=True)
    (a + b).backward(cr.ones(3))  # add passes one array to both
    assert a.grad._data is not b.grad._data
    assert not np.shares_memory(a.grad._data, b.grad._data)


def test_changing_a_view_in_place_counts_as_changing_the_tensor_it_views():
    x = cr.ones(2, 3, requires_grad=True)
    y = x.exp()  # saves its output
    flat = y.detach().reshape(6)  # a view of y's memory
    with cr.no_grad():
        flat[0] = 100.0
    with pytest.raises(GraphError, match="in-place"):
        y.sum().backward()


def test_a_copy_made_by_indexing_does_not_share_the_version():
    x = cr.ones(4, requires_grad=True)
    y = x.exp()
    picked = y.detach()[cr.tensor([0, 2])]  # advanced indexing copies
    picked.zero_()
    y.sum().backward()  # y itself was not changed
    assert x.grad.tolist() == pytest.approx([np.e] * 4)
