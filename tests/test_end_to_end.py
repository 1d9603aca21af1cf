"""End to end: networks built from core ops alone learn, by plain gradient descent."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.slow
def test_xor_with_a_2_3_1_sigmoid_network_learns_the_truth_table():
    cr.manual_seed(0)
    x = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = cr.tensor([[0.0], [1.0], [1.0], [0.0]])
    w1 = (cr.randn(2, 3) * 1.0).requires_grad_()
    b1 = cr.zeros(3, requires_grad=True)
    w2 = (cr.randn(3, 1) * 1.0).requires_grad_()
    b2 = cr.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    for _ in range(3000):
        out = ((x @ w1 + b1).sigmoid() @ w2 + b2).sigmoid()
        loss = ((out - y) ** 2).mean()
        loss.backward()
        with cr.no_grad():
            for p in params:
                p -= 2.0 * p.grad
                p.grad = None
    assert loss.item() < 0.01
    assert ((out > 0.5) == (y > 0.5)).all().item()


@pytest.mark.slow
def test_softmax_regression_on_two_moons_separates_the_classes():
    rng = np.random.default_rng(0)
    angles = rng.uniform(0, np.pi, 200)
    upper = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    lower = np.stack([1 - np.cos(angles), 0.5 - np.sin(angles)], axis=1)
    features = np.concatenate([upper, lower]) + rng.normal(0, 0.1, (400, 2))
    labels = np.repeat([0, 1], 200)
    x, y = cr.tensor(features, dtype=cr.float32), cr.tensor(labels)
    cr.manual_seed(1)
    w1 = (cr.randn(2, 32) * 0.5).requires_grad_()
    b1 = cr.zeros(32, requires_grad=True)
    w2 = (cr.randn(32, 2) * 0.5).requires_grad_()
    b2 = cr.zeros(2, requires_grad=True)
    for _ in range(400):
        logits = (x @ w1 + b1).tanh() @ w2 + b2
        loss = -logits.log_softmax(dim=1)[cr.arange(400), y].mean()
        loss.backward()
        with cr.no_grad():
            for p in (w1, b1, w2, b2):
                p.sub_(0.5 * p.grad)
                p.grad = None
    accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    assert accuracy > 0.95
    assert logits.dtype == cr.float32
