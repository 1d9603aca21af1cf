"""``gradcheck``: compare the engine's gradients with central finite differences in float64."""

import numpy as np

from ..errors import GradcheckError
from ..tensor import Tensor
from .engine import grad as autograd_grad


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check the gradients of ``fn`` at ``inputs`` against finite differences.

    Every floating-point input with ``requires_grad=True`` is checked; the check runs in float64
    (float32 inputs are copied to float64 first). For each output element the analytical row of
    the Jacobian comes from backward, the numerical one from (f(x + eps) - f(x - eps)) / 2eps.
    Returns True, or raises ``GradcheckError`` naming the worst element (or returns False with
    ``raise_exception=False``).

    Example::

        >>> x = cr.randn(3, 4, dtype=cr.float64, requires_grad=True)
        >>> cr.autograd.gradcheck(lambda x: (x.tanh() ** 2).sum(dim=1), (x,))
        True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    inputs = tuple(_as_float64(value) for value in inputs)
    checked = [i for i, value in enumerate(inputs) if isinstance(value, Tensor) and value.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    outputs = _outputs(fn, inputs)
    worst = None
    for out_index, output in enumerate(outputs):
        if not output.requires_grad:
            continue
        for in_index in checked:
            analytical = _analytical_jacobian(output, inputs, in_index)
            numerical = _numerical_jacobian(fn, inputs, in_index, out_index, eps)
            error = np.abs(analytical - numerical) - (atol + rtol * np.abs(numerical))
            if error.size and error.max() > 0:
                row, column = np.unravel_index(np.argmax(error), error.shape)
                candidate = (error[row, column], out_index, in_index, row, column, numerical, analytical)
                worst = candidate if worst is None or candidate[0] > worst[0] else worst
    if worst is None:
        return True
    if not raise_exception:
        return False
    _, out_index, in_index, row, column, numerical, analytical = worst
    out_shape, in_shape = outputs[out_index].shape, inputs[in_index].shape
    out_element = np.unravel_index(row, out_shape) if out_shape else ()
    in_element = np.unravel_index(column, in_shape) if in_shape else ()
    raise GradcheckError(
        f"gradcheck: Jacobian mismatch for output {out_index} with respect to input {in_index}; worst at "
        f"output element {tuple(int(i) for i in out_element)}, input element {tuple(int(i) for i in in_element)}: "
        f"numerical {numerical[row, column]:.6g}, analytical {analytical[row, column]:.6g} "
        f"(atol={atol}, rtol={rtol})"
    )


def _as_float64(value):
    if isinstance(value, Tensor) and value._data.dtype.kind == "f" and value._data.dtype != np.float64:
        return Tensor(value._data.astype(np.float64), requires_grad=value.requires_grad)
    return value


def _outputs(fn, inputs):
    outputs = fn(*inputs)
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    for index, output in enumerate(outputs):
        if not isinstance(output, Tensor):
            raise TypeError(f"gradcheck: fn must return Tensors, output {index} is {type(output).__name__}")
    return outputs


def _analytical_jacobian(output, inputs, in_index):
    """(output.numel, input.numel): row i is d(output[i])/d(input), one backward per row."""
    target = inputs[in_index]
    jacobian = np.zeros((output.numel(), target.numel()))
    for row in range(output.numel()):
        seed = np.zeros(output.shape, dtype=output._data.dtype)
        seed.reshape(-1)[row] = 1
        (gradient,) = autograd_grad(output, target, Tensor._wrap(seed), retain_graph=True, allow_unused=True)
        if gradient is not None:
            jacobian[row] = np.asarray(gradient._data, dtype=np.float64).reshape(-1)
    return jacobian


def _numerical_jacobian(fn, inputs, in_index, out_index, eps):
    """(output.numel, input.numel) by central differences, perturbing one input element at a time."""
    target = inputs[in_index]._data  # perturbed in place, whatever its strides
    columns = []
    for position in np.ndindex(target.shape):
        original = target[position]
        target[position] = original + eps
        plus = _output_array(fn, inputs, out_index)
        target[position] = original - eps
        minus = _output_array(fn, inputs, out_index)
        target[position] = original
        columns.append((plus - minus).reshape(-1) / (2 * eps))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))


def _output_array(fn, inputs, out_index):
    return np.asarray(_outputs(fn, inputs)[out_index]._data, dtype=np.float64).copy()
