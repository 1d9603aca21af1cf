"""The printed form of a :class:`~chainrule.viz.explain.StepExplanation`: four stages, every number.

1. forward pass (X, then W, b, Z and A of each layer), 2. loss, 3. backward pass (the δ recursion,
the textbook's numbers next to the engine's), with a table of their differences, 4. update (plain
SGD). Matrices print one sample per row, in fixed point with ``precision`` digits; blocks sit side by
side when they fit in ``width`` columns, else one under the other.

Example::

    >>> print(format_step(step, precision=3))         # step = explain_step(...)
"""

import numpy as np

from .explain_math import ACTIVATION_RULES

GAP = "    "  # between blocks side by side
INDENT = "  "


def format_step(step, precision=6, width=80, max_rows=8, max_cols=6):
    """The whole step as text (see the module docstring)."""
    if not isinstance(precision, int) or isinstance(precision, bool) or not 0 <= precision <= 15:
        raise ValueError(f"precision must be an integer in [0, 15], got {precision!r}")
    page = _Page(precision, width, max_rows, max_cols)
    _notation(page, step)
    _forward(page, step)
    _loss(page, step)
    _backward(page, step)
    _update(page, step)
    return "\n".join(page.lines).rstrip() + "\n"


class _Page:
    """Lines of text, and how numbers and matrices are written on them."""

    def __init__(self, precision, width, max_rows, max_cols):
        self.precision, self.width, self.max_rows, self.max_cols = precision, width, max_rows, max_cols
        self.lines = []

    def say(self, text="", indent=0):
        self.lines.append(INDENT * indent + text)

    def number(self, value):
        text = f"{value:.{self.precision}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0000"

    def matrix(self, array):
        """Rows of right-aligned numbers; a 1-D array is one row. Large ones are cut with "…"."""
        array = np.atleast_2d(array)
        rows, cols = array.shape
        show_rows = rows if rows <= self.max_rows else self.max_rows - 1
        show_cols = cols if cols <= self.max_cols else self.max_cols - 1
        cells = [[self.number(v) for v in row[:show_cols]] for row in array[:show_rows]]
        cell_width = max((len(c) for row in cells for c in row), default=1)
        lines = []
        for row in cells:
            line = " ".join(c.rjust(cell_width) for c in row)
            lines.append(line + (" …" if show_cols < cols else ""))
        if show_rows < rows:
            lines.append(f"… ({rows - show_rows} more rows)")
        return lines

    def blocks(self, blocks, indent=2):
        """Print [(title, array)] side by side when they fit, else one under the other."""
        rendered = [[title] + self.matrix(array) for title, array in blocks]
        widths = [max(len(line) for line in lines) for lines in rendered]
        fits = len(INDENT * indent) + sum(widths) + len(GAP) * (len(blocks) - 1) <= self.width
        if not fits:
            for lines in rendered:
                for line in lines:
                    self.say(line, indent)
            return
        for i in range(max(len(lines) for lines in rendered)):
            parts = [(lines[i] if i < len(lines) else "").ljust(w) for lines, w in zip(rendered, widths)]
            self.say(GAP.join(parts).rstrip(), indent)


def _shape(array):
    return "(" + ", ".join(str(n) for n in np.shape(array)) + ("," if np.ndim(array) == 1 else "") + ")"


def _difference(value):
    return f"{value:.1e}"


def _notation(page, step):
    n = step.inputs.shape[0]
    page.say(f"How to read this: a batch is a matrix with one sample per row (N = {n}).")
    page.say("A weight W^l is (out, in) as in PyTorch, so layer l computes")
    page.say("Z^l = A^(l-1) W^lᵀ + b^l and A^l = σ(Z^l), with A^0 = X, the inputs.")
    if step.reduction == "mean":
        page.say("δ^l = ∂L/∂Z^l is (N, out): row n is sample n's textbook δ, scaled by 1/N as")
        page.say("the loss is the mean of the samples' losses; the gradients add up the rows.")
    else:
        page.say("δ^l = ∂L/∂Z^l is (N, out): row n is sample n's textbook δ (the loss is the")
        page.say("sum of the samples' losses); the gradients add up the rows.")
    page.say("The textbook's formulas (one sample, column vectors) and the row form:")
    rules = [
        ("δ^L = ∂L/∂a^L ⊙ σ'(z^L)", "δ^L = ∂L/∂A^L ⊙ σ'(Z^L)"),
        ("δ^l = (W^(l+1))ᵀ δ^(l+1) ⊙ σ'(z^l)", "δ^l = (δ^(l+1) W^(l+1)) ⊙ σ'(Z^l)"),
        ("∂L/∂W^l = δ^l (a^(l-1))ᵀ", "∂L/∂W^l = (δ^l)ᵀ A^(l-1)"),
        ("∂L/∂b^l = δ^l", "∂L/∂b^l = sum of the rows of δ^l"),
    ]
    for textbook, rows in rules:
        page.say(f"{textbook:<37}{rows}", 1)
    page.say("Textbook: plain NumPy float64, from these formulas. Engine: the model's")
    page.say("forward pass, loss.backward() and optim.SGD, on a float64 copy of the model.")


def _describe_layer(step, layer):
    out_features, in_features = layer.weight.shape
    what = "no activation" if layer.activation == "identity" else f"then {layer.activation}"
    role = " (output)" if layer is step.layers[-1] else ""
    return f"layer {layer.l}{role}: model[{layer.path}] Linear({in_features} → {out_features}), {what}"


def _forward(page, step):
    page.say()
    page.say("1. Forward pass")
    page.blocks([(f"X = A^0, the inputs {_shape(step.inputs)}", step.inputs)], indent=1)
    for layer in step.layers:
        page.say(_describe_layer(step, layer), 1)
        l = layer.l  # noqa: E741
        params = [(f"W^{l} {_shape(layer.weight)}", layer.weight)]
        if layer.bias is not None:
            params.append((f"b^{l} {_shape(layer.bias)}", layer.bias))
        page.blocks(params)
        plus_b = f" + b^{l}" if layer.bias is not None else ""
        sigma = f"Z^{l}" if layer.activation == "identity" else f"{layer.activation}(Z^{l})"
        page.blocks(
            [
                (f"Z^{l} = A^{l - 1} W^{l}ᵀ{plus_b} {_shape(layer.z)}", layer.z),
                (f"A^{l} = {sigma} {_shape(layer.a)}", layer.a),
            ]
        )


def _loss(page, step):
    page.say()
    page.say("2. Loss")
    last = step.layers[-1]
    L = last.l  # noqa: N806 - the formulas' L
    n = step.inputs.shape[0]
    if step.loss_name == "mse":
        page.blocks([(f"Y, the targets {_shape(step.targets)}", step.targets)], indent=1)
        count = step.targets.size
        mean = "1/(N·K) " if step.reduction == "mean" else ""
        page.say(f"L = {mean}Σ (A^{L} − Y)² over the N·K = {count} outputs = {page.number(step.loss)}", 1)
        engine = "nn.MSELoss"
    else:
        page.say(f"Y, the classes: {' '.join(str(int(c)) for c in step.targets)}", 1)
        page.blocks([(f"softmax(A^{L}), each row sums to 1 {_shape(step.probabilities)}", step.probabilities)], 1)
        mean = "−1/N" if step.reduction == "mean" else "−"
        page.say(f"L = {mean} Σ_n log softmax(A^{L})[n, y_n], N = {n}: L = {page.number(step.loss)}", 1)
        engine = "nn.CrossEntropyLoss"
    difference = abs(step.loss - step.engine_loss)
    page.say(
        f"engine ({engine}, reduction={step.reduction!r}): {page.number(step.engine_loss)}, "
        f"|difference| = {_difference(difference)}",
        1,
    )


def _backward(page, step):
    page.say()
    page.say("3. Backward pass (δ recursion, from the output back to the first layer)")
    last = step.layers[-1]
    L = last.l  # noqa: N806
    n = step.inputs.shape[0]
    if step.loss_name == "mse":
        scale = f"/(N·K), N·K = {step.targets.size}" if step.reduction == "mean" else ""
        rule = f"∂L/∂A^{L} = 2(A^{L} − Y){scale}"
    else:
        scale = f"/N, N = {n}" if step.reduction == "mean" else ""
        rule = f"∂L/∂A^{L} = (softmax(A^{L}) − onehot(Y)){scale}"
    page.say(rule, 1)
    for layer in reversed(step.layers):
        l = layer.l  # noqa: E741
        page.say(_describe_layer(step, layer), 1)
        if layer is not last:
            page.say(f"∂L/∂A^{l} = δ^{l + 1} W^{l + 1}   (the textbook's (W^{l + 1})ᵀ δ^{l + 1}, per row)", 2)
        page.say(f"δ^{l} = ∂L/∂A^{l} ⊙ σ'(Z^{l}),  {ACTIVATION_RULES[layer.activation][2]}", 2)
        if layer is last and step.loss_name == "cross_entropy" and layer.activation == "identity":
            page.say(f"(no activation: δ^{l} = (softmax(Z^{l}) − onehot(Y))/N, the combined formula)", 2)
        page.blocks([(f"∂L/∂A^{l} {_shape(layer.grad_a)}", layer.grad_a), (f"σ'(Z^{l})", layer.slope)])
        page.blocks([(f"δ^{l} {_shape(layer.delta)}", layer.delta), (f"engine ∂L/∂Z^{l}", layer.engine["delta"])])
        before = "X" if l == 1 else f"A^{l - 1}"
        page.blocks(
            [
                (f"∂L/∂W^{l} = (δ^{l})ᵀ {before} {_shape(layer.grad_weight)}", layer.grad_weight),
                ("engine ∂L/∂W", layer.engine["grad_weight"]),
            ]
        )
        if layer.bias is not None:
            page.blocks(
                [
                    (f"∂L/∂b^{l} = Σ rows of δ^{l} {_shape(layer.grad_bias)}", layer.grad_bias),
                    ("engine ∂L/∂b", layer.engine["grad_bias"]),
                ]
            )
    page.say("textbook vs engine", 1)
    page.say(f"{'quantity':<24}{'shape':<12}max |textbook − engine|", 2)
    for layer in step.layers:
        l = layer.l  # noqa: E741
        differences = layer.differences()
        rows = [("z", f"Z^{l}", layer.z), ("delta", f"δ^{l} = ∂L/∂Z^{l}", layer.delta)]
        rows += [("grad_weight", f"∂L/∂W^{l}", layer.grad_weight), ("grad_bias", f"∂L/∂b^{l}", layer.grad_bias)]
        for key, name, array in rows:
            if key in differences:
                page.say(f"{name:<24}{_shape(array):<12}{_difference(differences[key])}", 2)


def _update(page, step):
    page.say()
    lr = f"{step.lr:g}"
    page.say(f"4. Update: plain SGD, W ← W − lr·∂L/∂W and b ← b − lr·∂L/∂b, lr = {lr}")
    for layer in step.layers:
        l = layer.l  # noqa: E741
        page.say(f"layer {layer.l}: model[{layer.path}]", 1)
        page.blocks(
            [
                (f"W^{l} before", layer.weight),
                (f"∂L/∂W^{l}", layer.grad_weight),
                (f"W^{l} − {lr}·∂L/∂W^{l}", layer.new_weight),
            ]
        )
        if layer.bias is not None:
            page.blocks(
                [
                    (f"b^{l} before", layer.bias),
                    (f"∂L/∂b^{l}", layer.grad_bias),
                    (f"b^{l} − {lr}·∂L/∂b^{l}", layer.new_bias),
                ]
            )
        differences = layer.differences()
        worst = max(differences.get("new_weight", 0.0), differences.get("new_bias", 0.0))
        page.say(f"engine (optim.SGD(lr={lr}).step()): max |difference| = {_difference(worst)}", 2)
    change = "lower" if step.loss_after < step.loss else "not lower"
    page.say(f"loss before the step {page.number(step.loss)}, after it {page.number(step.loss_after)} ({change})", 1)
