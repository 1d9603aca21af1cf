"""A single neuron, y = w . x + b, fitted by mean squared error with stochastic gradient descent.

The neuron is nn.Linear(3, 1): a weight row w (1, 3) and a bias b (1,). The data are made by a
known rule, y = 1.5 x1 - 2 x2 + 0.5 x3 + 1 plus a little noise, so we can check that gradient
descent finds w = (1.5, -2, 0.5) and b = 1 again.

Run:  python examples/linear_neuron.py
"""

import numpy as np

import chainrule as cr
from chainrule import nn, optim

TRUE_WEIGHT = [1.5, -2.0, 0.5]
TRUE_BIAS = 1.0


def make_data(n=200, seed=0):
    """Inputs (n, 3) and targets (n, 1) from the known rule."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = x @ np.array(TRUE_WEIGHT, dtype=np.float32)[:, None] + TRUE_BIAS
    y += rng.normal(scale=0.01, size=(n, 1)).astype(np.float32)
    return cr.tensor(x), cr.tensor(y)


def main(epochs=30, lr=0.05, batch_size=20):
    """Fit the neuron; returns {"weight": (3,), "bias": float, "loss": float}."""
    cr.manual_seed(0)
    x, y = make_data()
    neuron = nn.Linear(3, 1)  # y_hat = x @ w.T + b
    loss_fn = nn.MSELoss()  # mean of (y_hat - y)^2
    optimizer = optim.SGD(neuron.parameters(), lr=lr)

    for epoch in range(epochs):
        order = cr.randperm(len(x))  # a new order each epoch: the "stochastic" in SGD
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss = loss_fn(neuron(x[batch]), y[batch])  # forward pass and error
            optimizer.zero_grad()
            loss.backward()  # dloss/dw and dloss/db by the chain rule
            optimizer.step()  # w <- w - lr * dloss/dw, the same for b
        if epoch % 10 == 0 or epoch == epochs - 1:
            with cr.no_grad():
                print(f"epoch {epoch:2d}  loss {loss_fn(neuron(x), y).item():.6f}")

    weight = neuron.weight.detach().numpy().reshape(-1)
    bias = neuron.bias.item()
    learned = ", ".join(f"{w:.3f}" for w in weight)
    print(f"learned w = ({learned}), b = {bias:.3f}  (true w = {tuple(TRUE_WEIGHT)}, b = {TRUE_BIAS})")
    with cr.no_grad():
        final_loss = loss_fn(neuron(x), y).item()
    return {"weight": weight, "bias": bias, "loss": final_loss}


if __name__ == "__main__":
    main()
