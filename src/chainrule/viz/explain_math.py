"""The textbook side of :func:`chainrule.viz.explain_step`: backpropagation in plain NumPy float64.

Nothing here touches the engine: these are the formulas of backpropagation written out once for a
batch with one sample per row and weights (out, in) as in PyTorch (see :mod:`.explain`)::

    forward:   Z^l = A^(l-1) W^lᵀ + b^l,   A^l = σ(Z^l)                       A^0 = X (N, in)
    output:    Δ^L = ∂L/∂A^L ⊙ σ'(Z^L)
    recursion: Δ^l = (Δ^(l+1) W^(l+1)) ⊙ σ'(Z^l)
    gradients: ∂L/∂W^l = (Δ^l)ᵀ A^(l-1),   ∂L/∂b^l = Σ_rows Δ^l

Example::

    >>> w, b = np.array([[1.0, -1.0]]), np.array([0.5])             # one unit, 2 inputs
    >>> [(z, a)] = forward(np.array([[2.0, 1.0]]), [(w, b, "relu")])
    >>> z, a
    (array([[1.5]]), array([[1.5]]))
"""

import numpy as np


def _sigmoid(z):
    # 1/(1 + e^-z) without overflow: e^-|z| is at most 1
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


# name -> (σ(z), σ'(z) written as the textbook writes it, the formula of σ' as text)
ACTIVATION_RULES = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z)), "σ'(z) = σ(z)(1 − σ(z))"),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2, "σ'(z) = 1 − tanh²(z)"),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(np.float64), "σ'(z) = 1 if z > 0 else 0"),
    "identity": (lambda z: z, np.ones_like, "σ'(z) = 1 (no activation)"),
}


def forward(x, layers):
    """[(Z^l, A^l)] for ``layers`` = [(W (out, in), b (out,) or None, activation name)]; x: (N, in)."""
    results, a = [], x
    for weight, bias, activation in layers:
        z = a @ weight.T + (0 if bias is None else bias)
        a = ACTIVATION_RULES[activation][0](z)
        results.append((z, a))
    return results


def backward(x, layers, grad_output):
    """The δ recursion from the output back: for each layer (in forward order) the tuple
    (∂L/∂A^l, σ'(Z^l), δ^l, ∂L/∂W^l, ∂L/∂b^l or None).

    layers: objects with ``weight``, ``bias``, ``z``, ``activation`` (and ``a``, the next layer's
    input); grad_output: ∂L/∂A^L (N, K).
    """
    results = [None] * len(layers)
    grad_a = grad_output
    for index in reversed(range(len(layers))):
        layer = layers[index]
        slope = ACTIVATION_RULES[layer.activation][1](layer.z)
        delta = grad_a * slope  # δ^l = ∂L/∂A^l ⊙ σ'(Z^l)
        a_before = x if index == 0 else layers[index - 1].a
        grad_weight = delta.T @ a_before  # Σ_n δ_n (a_n^(l-1))ᵀ: (out, in)
        grad_bias = None if layer.bias is None else delta.sum(axis=0)
        results[index] = (grad_a, slope, delta, grad_weight, grad_bias)
        grad_a = delta @ layer.weight  # ∂L/∂A^(l-1) = Δ^l W^l, i.e. (W^l)ᵀ δ^l per sample
    return results


def mse(a, y, reduction):
    """L = mean (or sum) of (A − Y)² over all N·K outputs; ∂L/∂A = 2(A − Y)/(N·K) (or 2(A − Y))."""
    diff = a - y
    scale = 1 / diff.size if reduction == "mean" else 1.0
    return float(scale * np.sum(diff**2)), 2 * scale * diff, None


def softmax(z):
    """Rowwise softmax, shifted by the row maximum so exp never overflows: (N, K) -> (N, K)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(a, y, reduction):
    """L = mean (or sum) over samples of −log softmax(A)[y]; ∂L/∂A = (softmax(A) − onehot(Y))/N."""
    p = softmax(a)
    n = a.shape[0]
    scale = 1 / n if reduction == "mean" else 1.0
    onehot = np.zeros_like(a)
    onehot[np.arange(n), y] = 1.0
    shifted = a - a.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-scale * log_p[np.arange(n), y].sum()), scale * (p - onehot), p


# loss name -> f(A^L, Y, reduction) -> (L, ∂L/∂A^L, softmax(A^L) or None)
LOSSES = {"mse": mse, "cross_entropy": cross_entropy}
