"""XOR with a 2-3-1 sigmoid network and full-batch gradient descent: backpropagation by hand
and by autograd, side by side.

No single neuron can compute XOR (its classes are not separable by a line); one hidden layer of
three sigmoid neurons can. The network:

    z1 = x W1^T + b1    a1 = sigmoid(z1)     (4, 3)   hidden layer
    z2 = a1 W2^T + b2   a2 = sigmoid(z2)     (4, 1)   output
    E  = mean((a2 - y)^2)

Backpropagation sends the error back layer by layer as deltas, the gradient of E with respect to
each layer's pre-activation:

    delta2 = dE/dz2 = 2 (a2 - y) / N * a2 (1 - a2)
    delta1 = dE/dz1 = (delta2 W2) * a1 (1 - a1)

and then dE/dW2 = delta2^T a1, dE/dW1 = delta1^T x. Autograd computes the same deltas; we keep
them with retain_grad() and print them once next to the hand-computed ones.

Run:  python examples/xor.py
"""

import numpy as np

import chainrule as cr
from chainrule import nn, optim

INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
TARGETS = [[0.0], [1.0], [1.0], [0.0]]


def hand_deltas(x, y, a1, a2, w2):
    """The two deltas by the formulas in the module docstring (NumPy arrays)."""
    delta2 = 2 * (a2 - y) / len(x) * a2 * (1 - a2)  # (4, 1)
    delta1 = (delta2 @ w2) * a1 * (1 - a1)  # (4, 1) @ (1, 3) -> (4, 3)
    return delta1, delta2


def main(steps=5000, lr=2.0, seed=0):
    """Train by full-batch gradient descent.

    Returns {"outputs": (4,), "loss": float, "deltas": (delta1, delta2), "hand_deltas": (...)},
    the deltas being those of the first step.
    """
    cr.manual_seed(seed)
    x, y = cr.tensor(INPUTS), cr.tensor(TARGETS)
    hidden, output = nn.Linear(2, 3), nn.Linear(3, 1)
    parameters = list(hidden.parameters()) + list(output.parameters())
    optimizer = optim.SGD(parameters, lr=lr)  # full batch: every step sees all 4 points
    loss_fn = nn.MSELoss()

    for step in range(steps):
        z1 = hidden(x)
        a1 = z1.sigmoid()
        z2 = output(a1)
        a2 = z2.sigmoid()
        loss = loss_fn(a2, y)
        if step == 0:
            z1.retain_grad()  # keep dE/dz1 and dE/dz2 after backward
            z2.retain_grad()
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            deltas = (z1.grad.numpy().copy(), z2.grad.numpy().copy())
            w2 = output.weight.detach().numpy()  # (1, 3)
            by_hand = hand_deltas(x.numpy(), y.numpy(), a1.detach().numpy(), a2.detach().numpy(), w2)
            with np.printoptions(precision=5, suppress=True):
                print("first step, the deltas of the backward pass (rows: the 4 inputs)")
                print(f"delta2 = dE/dz2 (output layer), autograd:\n{deltas[1]}\n  by hand:\n{by_hand[1]}")
                print(f"delta1 = dE/dz1 (hidden layer), autograd:\n{deltas[0]}\n  by hand:\n{by_hand[0]}")
        optimizer.step()
        if step % 1000 == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")

    with cr.no_grad():
        outputs = output(hidden(x).sigmoid()).sigmoid().numpy().reshape(-1)
    print("outputs:", ", ".join(f"{a:g} xor {b:g} -> {out:.3f}" for (a, b), out in zip(INPUTS, outputs)))
    return {"outputs": outputs, "loss": loss.item(), "deltas": deltas, "hand_deltas": by_hand}


if __name__ == "__main__":
    main()
