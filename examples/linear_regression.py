"""Linear regression on y = 2x: one weight and one bias learned from noisy points with a
DataLoader and SGD, the smallest complete training loop.

Run:  python examples/linear_regression.py
"""

import chainrule as cr
from chainrule import data, datasets, nn, optim


def main(epochs=20, lr=0.1):
    """Fit y = w x + b to points of y = 2x + noise; returns {"weight": w, "bias": b}."""
    cr.manual_seed(0)
    # 256 points (x, 2x + noise): inputs x (256, 1), targets y (256, 1)
    points = datasets.linear_regression(n_samples=256, weight=2.0, bias=0.0, noise=0.1, seed=0)
    loader = data.DataLoader(points, batch_size=32, shuffle=True, seed=0)
    model = nn.Linear(1, 1)
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)

    for epoch in range(epochs):
        total = 0.0
        for x, y in loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(x)
        if epoch % 5 == 0 or epoch == epochs - 1:
            w, b = model.weight.item(), model.bias.item()
            print(f"epoch {epoch:2d}  mse {total / len(points):.5f}  w {w:.4f}  b {b:.4f}")

    weight, bias = model.weight.item(), model.bias.item()
    print(f"learned y = {weight:.3f} x {'-' if bias < 0 else '+'} {abs(bias):.3f}  (the data follow y = 2x)")
    return {"weight": weight, "bias": bias}


if __name__ == "__main__":
    main()
