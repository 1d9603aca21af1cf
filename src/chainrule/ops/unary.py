"""Elementwise math and activations: one input, one output of the same shape."""

from ..autograd.function import Function


class Exp(Function):
    """y = eˣ.   dy/dx = eˣ = y"""

    def forward(self, x):
        y = self.xp.exp(x)  # overflows to inf beyond ~88.7 (float32); NumPy may warn
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return grad * y


class Log(Function):
    """y = ln x.   dy/dx = 1/x"""

    def forward(self, x):
        self.save_for_backward(x)
        with self.xp.errstate(divide="ignore", invalid="ignore"):
            return self.xp.log(x)

    def backward(self, grad):
        (x,) = self.saved
        return grad / x


class Log1p(Function):
    """y = ln(1 + x), accurate for small x.   dy/dx = 1/(1 + x)"""

    def forward(self, x):
        self.save_for_backward(x)
        with self.xp.errstate(divide="ignore", invalid="ignore"):
            return self.xp.log1p(x)

    def backward(self, grad):
        (x,) = self.saved
        return grad / (1 + x)


class Sqrt(Function):
    """y = √x.   dy/dx = 1/(2y)"""

    def forward(self, x):
        with self.xp.errstate(invalid="ignore"):
            y = self.xp.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return grad / (2 * y)


class Rsqrt(Function):
    """y = 1/√x.   dy/dx = -y³/2"""

    def forward(self, x):
        with self.xp.errstate(divide="ignore", invalid="ignore"):
            y = 1 / self.xp.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return grad * (-0.5 * y * y * y)


class Abs(Function):
    """y = |x|.   dy/dx = sign(x)  (0 at 0)"""

    def forward(self, x):
        self.save_for_backward(x)
        return self.xp.abs(x)

    def backward(self, grad):
        (x,) = self.saved
        return grad * self.xp.sign(x)


class Sign(Function):
    """y = sign(x).   dy/dx = 0"""

    def forward(self, x):
        return self.xp.sign(x)

    def backward(self, grad):
        return self.xp.zeros_like(grad)


class Sin(Function):
    """y = sin x.   dy/dx = cos x"""

    def forward(self, x):
        self.save_for_backward(x)
        return self.xp.sin(x)

    def backward(self, grad):
        (x,) = self.saved
        return grad * self.xp.cos(x)


class Cos(Function):
    """y = cos x.   dy/dx = -sin x"""

    def forward(self, x):
        self.save_for_backward(x)
        return self.xp.cos(x)

    def backward(self, grad):
        (x,) = self.saved
        return -grad * self.xp.sin(x)


class Tanh(Function):
    """y = tanh x.   dy/dx = 1 - y²"""

    def forward(self, x):
        y = self.xp.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return grad * (1 - y * y)


class Sigmoid(Function):
    """y = σ(x) = 1/(1 + e⁻ˣ).   dy/dx = y(1 - y)"""

    def forward(self, x):
        # σ(x) = exp(-softplus(-x)), and logaddexp(0, -x) = softplus(-x) never overflows.
        y = self.xp.exp(-self.xp.logaddexp(0, -x))
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return grad * (y * (1 - y))


class ReLU(Function):
    """y = max(x, 0).   dy/dx = 1 where y > 0, else 0"""

    def forward(self, x):
        y = self.xp.maximum(x, 0)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return grad * (y > 0)


def exp(x):
    """eˣ elementwise."""
    return Exp()(x)


def log(x):
    """Natural logarithm elementwise (-inf at 0, nan below 0, as in PyTorch)."""
    return Log()(x)


def log1p(x):
    """ln(1 + x) elementwise."""
    return Log1p()(x)


def sqrt(x):
    """√x elementwise."""
    return Sqrt()(x)


def rsqrt(x):
    """1/√x elementwise."""
    return Rsqrt()(x)


def abs(x):  # noqa: A001 - PyTorch's name
    """|x| elementwise."""
    return Abs()(x)


def sign(x):
    """-1, 0 or 1 elementwise; its gradient is 0."""
    return Sign()(x)


def sin(x):
    """sin x elementwise."""
    return Sin()(x)


def cos(x):
    """cos x elementwise."""
    return Cos()(x)


def tanh(x):
    """tanh x elementwise."""
    return Tanh()(x)


def sigmoid(x):
    """The logistic function 1/(1 + e⁻ˣ), computed without overflow."""
    return Sigmoid()(x)


def relu(x):
    """max(x, 0) elementwise."""
    return ReLU()(x)
