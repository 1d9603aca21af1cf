"""The networks a config's [model] describes: an MLP, a CNN over images, a recurrent network over
sequences. Each takes a run's flat inputs (N, F), as every split of :mod:`.experiment` holds them,
and gives class scores (N, outputs); a CNN or RNN reshapes its inputs first.

Example::

    >>> model = build_cnn(config["model"], image_shape=(8, 8), outputs=10)   # digits
    >>> model(cr.zeros(5, 64)).shape                    # (N, 64) -> (N, 1, 8, 8) -> ... -> (N, 10)
    (5, 10)
"""

from .. import nn
from ..errors import ShapeError
from ..ops import cat
from .config import ACTIVATIONS, ConvBlock, conv_output_shape

RECURRENT = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def build_mlp(spec, features, outputs):
    """Linear -> activation (-> Dropout) for each hidden size, then Linear: (N, features) -> (N, outputs)."""
    layers, width = _hidden_layers(spec, features)
    return nn.Sequential(*layers, nn.Linear(width, outputs))


def build_cnn(spec, image_shape, outputs):
    """(N, H·W) -> Unflatten to (N, 1, H, W) -> conv blocks -> Flatten -> the MLP head -> (N, outputs).

    A block is Conv2d -> BatchNorm2d or GroupNorm (if ``norm``; the conv then has no bias, which
    the norm's shift replaces) -> activation -> MaxPool2d or AvgPool2d (if ``pool`` > 1) ->
    Dropout2d (if ``dropout`` > 0).
    """
    activation = getattr(nn, ACTIVATIONS[spec["activation"]])
    height, width = image_shape
    layers, channels = [nn.Unflatten(1, (1, height, width))], 1
    for block in spec["conv"]:
        out = block["channels"]
        layers.append(
            nn.Conv2d(
                channels, out, block["kernel"], stride=block["stride"], padding=block["padding"],
                bias=block["norm"] == "none",
            )
        )  # fmt: skip
        if block["norm"] == "batch":
            layers.append(nn.BatchNorm2d(out))
        elif block["norm"] == "group":
            layers.append(nn.GroupNorm(ConvBlock.GROUPS, out))
        layers.append(activation())
        if block["pool"] > 1:
            pool = nn.MaxPool2d if block["pooling"] == "max" else nn.AvgPool2d
            layers.append(pool(block["pool"]))
        if block["dropout"] > 0:
            layers.append(nn.Dropout2d(block["dropout"]))
        height, width = conv_output_shape(block, height, width)
        channels = out
    layers.append(nn.Flatten())
    head, features = _hidden_layers(spec, channels * height * width)
    return nn.Sequential(*layers, *head, nn.Linear(features, outputs))


def _hidden_layers(spec, features):
    """[Dropout ->] Linear -> activation for each of ``spec["layers"]``; returns (layers, last width)."""
    activation = getattr(nn, ACTIVATIONS[spec["activation"]])
    layers, width = [], features
    for hidden in spec["layers"]:
        layers += [nn.Linear(width, hidden), activation()]
        if spec["dropout"] > 0:
            layers.append(nn.Dropout(spec["dropout"]))
        width = hidden
    return layers, width


def build_rnn(spec, steps, features, outputs):
    """A :class:`RecurrentClassifier` reading (N, steps·features) as ``steps`` steps of ``features``."""
    cls = getattr(nn, RECURRENT[spec["cell"]])
    options = {"nonlinearity": spec["nonlinearity"]} if "nonlinearity" in spec else {}
    recurrent = cls(
        features, spec["hidden_size"], num_layers=spec["num_layers"], batch_first=True,
        dropout=spec["dropout"] if spec["num_layers"] > 1 else 0.0, bidirectional=spec["bidirectional"], **options,
    )  # fmt: skip
    return RecurrentClassifier(recurrent, steps, features, outputs, dropout=spec["dropout"])


class RecurrentClassifier(nn.Module):
    """Class scores from a recurrent network's last output.

    (N, T·F) or (N, T, F) -> the RNN (batch_first) -> its output at the last step (N, H), or for a
    bidirectional one the forward direction's last step and the backward direction's first step,
    each the summary of the whole sequence in its direction (N, 2H) -> Dropout -> Linear -> (N, C).
    Parameters: ``rnn.*`` (PyTorch's names, e.g. ``rnn.weight_ih_l0``) and ``head.weight``, ``head.bias``.

    Example::

        >>> model = RecurrentClassifier(nn.GRU(28, 64, batch_first=True), steps=28, features=28, outputs=10)
        >>> model(cr.zeros(5, 784)).shape              # 28 rows of 28 pixels each
        (5, 10)
    """

    def __init__(self, rnn, steps, features, outputs, dropout=0.0):
        super().__init__()
        self.steps, self.features = steps, features
        self.rnn = rnn
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(rnn.hidden_size * (2 if rnn.bidirectional else 1), outputs)

    def forward(self, x):
        if x.ndim == 2:
            if x.shape[1] != self.steps * self.features:
                raise ShapeError(
                    f"RecurrentClassifier: expected inputs (N, {self.steps * self.features}) = {self.steps} steps of "
                    f"{self.features} features, got {tuple(x.shape)}"
                )
            x = x.reshape(x.shape[0], self.steps, self.features)
        output, _ = self.rnn(x)  # (N, T, D·H)
        last = _both_directions(output, self.rnn.hidden_size) if self.rnn.bidirectional else output[:, -1]
        return self.head(self.dropout(last))

    def extra_repr(self):
        return f"steps={self.steps}, features={self.features}"


def _both_directions(output, hidden):
    """(N, T, 2H) -> (N, 2H): the forward half at the last step, the backward half at the first."""
    return cat([output[:, -1, :hidden], output[:, 0, hidden:]], dim=1)
