"""Models and layer cases that the nn tests and the PyTorch fixture script both build.

Every builder takes the library (``chainrule`` or ``torch``) as ``m`` and uses names both have, so
``scripts/make_torch_fixtures_nn.py`` runs the very same code under PyTorch.
"""

import collections
from collections import OrderedDict

import numpy as np

Layer = collections.namedtuple("Layer", "name build shape scale", defaults=(1.0,))


def nested_model(m):
    """Every container kind, a non-persistent buffer, a bias-free layer and a module registered twice."""
    nn = m.nn

    class Block(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.fc = nn.Linear(width, width)
            self.gain = nn.Parameter(m.ones(width))
            self.register_buffer("offset", m.zeros(width))
            self.register_buffer("scratch", m.zeros(2), persistent=False)

        def forward(self, x):
            return m.tanh(self.fc(x)) * self.gain + self.offset

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(OrderedDict([("proj", nn.Linear(3, 5)), ("act", nn.GELU())]))
            self.blocks = nn.ModuleList([Block(5), Block(5)])
            self.heads = nn.ModuleDict({"score": nn.Linear(5, 2), "aux": nn.Linear(5, 1, bias=False)})
            self.out = nn.Sequential(nn.SiLU(), nn.Dropout(0.25), nn.Linear(5, 2))
            self.shared = self.out[2]  # the same Linear under a second name

        def forward(self, x):
            h = self.stem(x)
            for block in self.blocks:
                h = block(h)
            return self.out(h) + self.heads["score"](h) + self.heads["aux"](h)

    return Net()


def small_sequential(m):
    """Every layer type, with non-default arguments where they show in the repr."""
    nn = m.nn
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(12, 8),
        nn.ReLU(),
        nn.Dropout(p=0.2),
        nn.Linear(8, 6, bias=False),
        nn.LeakyReLU(0.2),
        nn.ELU(alpha=0.5),
        nn.GELU(approximate="tanh"),
        nn.SiLU(),
        nn.Softplus(beta=2, threshold=10),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.Identity(),
        nn.Unflatten(1, (2, 3)),
        nn.Softmax(dim=1),
        nn.LogSoftmax(dim=-1),
        nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(inplace=True)]),
    )


LAYERS = [
    # name, build(nn), input shape, input scale
    Layer("linear", lambda nn: nn.Linear(4, 3), (5, 4)),
    Layer("linear_no_bias", lambda nn: nn.Linear(4, 3, bias=False), (5, 4)),
    Layer("linear_batched", lambda nn: nn.Linear(4, 3), (2, 5, 4)),
    Layer("linear_vector", lambda nn: nn.Linear(4, 3), (4,)),
    Layer("mlp", lambda nn: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)), (6, 4)),
    Layer("relu", lambda nn: nn.ReLU(), (4, 5)),
    Layer("sigmoid", lambda nn: nn.Sigmoid(), (4, 5), 3.0),
    Layer("tanh", lambda nn: nn.Tanh(), (4, 5), 2.0),
    Layer("leaky_relu", lambda nn: nn.LeakyReLU(), (4, 5)),
    Layer("leaky_relu_slope", lambda nn: nn.LeakyReLU(negative_slope=0.2), (4, 5)),
    Layer("elu", lambda nn: nn.ELU(), (4, 5), 2.0),
    Layer("elu_alpha", lambda nn: nn.ELU(alpha=0.5), (4, 5), 2.0),
    Layer("gelu", lambda nn: nn.GELU(), (4, 5), 3.0),
    Layer("gelu_tanh", lambda nn: nn.GELU(approximate="tanh"), (4, 5), 3.0),
    Layer("silu", lambda nn: nn.SiLU(), (4, 5), 3.0),
    Layer("softplus", lambda nn: nn.Softplus(), (4, 5), 3.0),
    Layer("softplus_beta_threshold", lambda nn: nn.Softplus(beta=2.0, threshold=3.0), (4, 5), 2.0),
    Layer("softmax", lambda nn: nn.Softmax(dim=1), (4, 5), 2.0),
    Layer("softmax_dim0", lambda nn: nn.Softmax(dim=0), (4, 5)),
    Layer("log_softmax", lambda nn: nn.LogSoftmax(dim=-1), (2, 3, 4), 2.0),
    Layer("flatten", lambda nn: nn.Flatten(), (2, 3, 4)),
    Layer("flatten_range", lambda nn: nn.Flatten(0, 1), (2, 3, 4)),
    Layer("unflatten", lambda nn: nn.Unflatten(1, (2, 3)), (4, 6)),
    Layer("identity", lambda nn: nn.Identity(), (3, 4)),
]

# Shapes whose fans PyTorch's nn.init computes: Linear (out, in), Conv1d (out, in, k), Conv2d (out, in, kh, kw).
INIT_SHAPES = [(3, 5), (10, 1), (4, 3, 2), (6, 2, 3, 3), (16, 8, 5, 5), (2, 7, 1, 1, 3)]
GAINS = [
    ("linear", None),
    ("conv2d", None),
    ("sigmoid", None),
    ("tanh", None),
    ("relu", None),
    ("leaky_relu", None),
    ("leaky_relu", 0.2),
    ("leaky_relu", 5**0.5),
    ("selu", None),
]


def layer_input(layer, seed=0):
    """float64 input for a layer case: normal values times its scale, kept 0.05 away from 0 (ReLU's kink)."""
    rng = np.random.default_rng([seed, sum(map(ord, layer.name))])
    x = rng.standard_normal(layer.shape) * layer.scale
    return np.where(np.abs(x) < 0.05, np.sign(x + 1e-12) * 0.05 + x, x)


def parameter_values(named_shapes, seed=1):
    """Fixed float64 values for a module's parameters, by name: {name: array}."""
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) * 0.5 for name, shape in named_shapes}
