"""Softmax regression on handwritten digits: one linear layer (64 pixels -> 10 class scores)
trained with cross-entropy. No hidden layer, yet it reads most 8x8 digits correctly.

softmax(z)_k = exp(z_k) / sum_j exp(z_j) turns scores into probabilities; cross-entropy is
-log(probability of the true class), and its gradient with respect to the scores is simply
softmax(z) - onehot(y). nn.CrossEntropyLoss fuses the two for numerical stability.

Needs scikit-learn (pip install 'chainrule[datasets]').
Run:  python examples/softmax_digits.py
"""

import chainrule as cr
from chainrule import data, datasets, nn, optim


def accuracy(model, dataset):
    inputs, targets = dataset.tensors
    with cr.no_grad():
        return (model(cr.as_tensor(inputs)).argmax(dim=1) == cr.as_tensor(targets)).float().mean().item()


def main(epochs=30, lr=0.5):
    """Train; returns {"train_accuracy": float, "test_accuracy": float}."""
    cr.manual_seed(0)
    train = datasets.load_digits(split="train", test_size=0.2, seed=0)  # x (1437, 64) in [0, 1], y (1437,) int64
    test = datasets.load_digits(split="test", test_size=0.2, seed=0)  # (360, 64), (360,)
    model = nn.Linear(64, 10)  # scores z = x W^T + b, (N, 10)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loader = data.DataLoader(train, batch_size=64, shuffle=True, seed=0)

    for epoch in range(epochs):
        for x, y in loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % 10 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:2d}  last batch loss {loss.item():.4f}  test accuracy {accuracy(model, test):.1%}")

    result = {"train_accuracy": accuracy(model, train), "test_accuracy": accuracy(model, test)}
    print(f"softmax regression: train accuracy {result['train_accuracy']:.1%}, test {result['test_accuracy']:.1%}")
    return result


if __name__ == "__main__":
    main()
