"""A sigmoid neuron, p = sigmoid(w . x + b), fitted by binary cross-entropy: logistic regression.

Two clouds of points in the plane, class 0 around (-1, -1) and class 1 around (1, 1). The neuron
outputs the probability that a point is of class 1; its decision line is w . x + b = 0.

The gradient of BCE through the sigmoid is remarkably simple: dloss/dz = (p - y) / N for the
pre-activation z = w . x + b. We check that below with retain_grad.

Run:  python examples/logistic_neuron.py
"""

import numpy as np

import chainrule as cr
from chainrule import nn, optim


def make_data(n=200, seed=0):
    """Inputs (n, 2) and float targets (n, 1) in {0, 1}."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    centres = np.where(labels[:, None] == 1, 1.0, -1.0)
    x = (centres + rng.normal(scale=0.6, size=(n, 2))).astype(np.float32)
    return cr.tensor(x), cr.tensor(labels[:, None].astype(np.float32))


def main(steps=300, lr=0.5):
    """Fit the neuron by full-batch gradient descent.

    Returns {"accuracy": float, "loss": float, "gradient_matches": bool}, the last saying whether
    autograd's dloss/dz equalled the formula (p - y) / N at the first step.
    """
    cr.manual_seed(0)
    x, y = make_data()
    linear = nn.Linear(2, 1)
    loss_fn = nn.BCELoss()  # -mean(y log p + (1 - y) log(1 - p))
    optimizer = optim.SGD(linear.parameters(), lr=lr)
    gradient_matches = None

    for step in range(steps):
        z = linear(x)  # pre-activation (N, 1)
        z.retain_grad()  # keep dloss/dz, which autograd would otherwise free
        p = z.sigmoid()  # probability of class 1
        loss = loss_fn(p, y)
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            by_hand = (p.detach().numpy() - y.numpy()) / len(x)
            gradient_matches = bool(np.allclose(z.grad.numpy(), by_hand, atol=1e-6))
            print(f"dloss/dz equals (p - y) / N: {gradient_matches}")
        optimizer.step()
        if step % 100 == 0:
            print(f"step {step:3d}  loss {loss.item():.4f}")

    with cr.no_grad():
        p = linear(x).sigmoid()
        accuracy = ((p > 0.5).float() == y).float().mean().item()
        final_loss = loss_fn(p, y).item()
    w = linear.weight.detach().numpy().reshape(-1)
    print(f"decision line: {w[0]:.2f} x1 + {w[1]:.2f} x2 + {linear.bias.item():.2f} = 0")
    print(f"accuracy {accuracy:.1%}, loss {final_loss:.4f}")
    return {"accuracy": accuracy, "loss": final_loss, "gradient_matches": gradient_matches}


if __name__ == "__main__":
    main()
