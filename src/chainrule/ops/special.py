"""The error function erf, which NumPy lacks, vectorised for any array namespace (NumPy or CuPy).

W. J. Cody's rational Chebyshev approximations (Math. Comp. 23 (1969) 631-637; the CALERF routine
of SPECFUN), accurate to float64 round-off. Three ranges of |x|:

- |x| ≤ 0.46875:      erf(x)  = x · P₁(x²)/Q₁(x²)
- 0.46875 < |x| ≤ 4:  erfc(x) = e^(-x²) · P₂(x)/Q₂(x)
- |x| > 4:            erfc(x) = e^(-x²)/x · (1/√π + 1/x² · P₃(1/x²)/Q₃(1/x²))

and erf = 1 - erfc with erf(-x) = -erf(x). e^(-x²) is computed as e^(-s²)·e^(-(x-s)(x+s)) with s
the x rounded down to 1/16, which keeps its relative error at round-off.
"""

from ..autograd.function import Function
from ..tensor import Tensor

_THRESHOLD = 0.46875
_BIG = 26.543  # erfc(x) underflows float64 beyond this
_INV_SQRT_PI = 5.6418958354775628695e-1
_TWO_OVER_SQRT_PI = 1.1283791670955125739

_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03,
      1.85777706184603153e-1)  # fmt: skip
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_C = (
    5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
    8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
    2.15311535474403846e-8,
)  # fmt: skip
_D = (
    1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
    3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03,
)  # fmt: skip
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
      6.58749161529837803e-4, 1.63153871373020978e-2)  # fmt: skip
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)  # fmt: skip


def _small(xp, x):
    """erf(x) for |x| ≤ 0.46875."""
    z = x * x
    numerator, denominator = _A[4] * z, z
    for i in range(3):
        numerator = (numerator + _A[i]) * z
        denominator = (denominator + _B[i]) * z
    return x * (numerator + _A[3]) / (denominator + _B[3])


def _exp_minus_square(xp, y):
    """e^(-y²) without the rounding error that squaring y first would bring."""
    s = xp.floor(y * 16) / 16
    return xp.exp(-s * s) * xp.exp(-(y - s) * (y + s))


def _erfc_middle(xp, y):
    """erfc(y) for 0.46875 < y ≤ 4."""
    numerator, denominator = _C[8] * y, y
    for i in range(7):
        numerator = (numerator + _C[i]) * y
        denominator = (denominator + _D[i]) * y
    return _exp_minus_square(xp, y) * (numerator + _C[7]) / (denominator + _D[7])


def _erfc_large(xp, y):
    """erfc(y) for y > 4 (0 beyond 26.543, where it underflows)."""
    y = xp.minimum(y, _BIG)
    z = 1 / (y * y)
    numerator, denominator = _P[5] * z, z
    for i in range(4):
        numerator = (numerator + _P[i]) * z
        denominator = (denominator + _Q[i]) * z
    tail = z * (numerator + _P[4]) / (denominator + _Q[4])
    return _exp_minus_square(xp, y) * (_INV_SQRT_PI - tail) / y


def erf_array(xp, x):
    """erf of a floating-point array, elementwise, in the array's dtype (NaN stays NaN)."""
    y = xp.abs(x)
    small = _small(xp, xp.where(y <= _THRESHOLD, x, 0))
    erfc_middle = _erfc_middle(xp, xp.clip(y, _THRESHOLD, 4))
    erfc_large = _erfc_large(xp, xp.maximum(y, 4))
    erfc = xp.where(y <= 4, erfc_middle, erfc_large)
    large = xp.where(x < 0, erfc - 1, 1 - erfc)  # erf(-x) = -erf(x)
    result = xp.where(y <= _THRESHOLD, small, large)
    return result.astype(x.dtype, copy=False)


class Erf(Function):
    """y = erf(x) = 2/√π ∫₀ˣ e^(-t²) dt.   dy/dx = 2/√π · e^(-x²)"""

    def forward(self, x):
        self.save_for_backward(x)
        return erf_array(self.xp, x)

    def backward(self, grad):
        (x,) = self.saved
        return grad * (_TWO_OVER_SQRT_PI * self.xp.exp(-(x * x)))


def erf(x):
    """The error function elementwise (PyTorch's ``torch.erf``): (*) -> (*).

    Example::

        >>> cr.ops.special.erf(cr.tensor([0.0, 1.0])).tolist()
        [0.0, 0.8427007929497149]
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"erf: expected a Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        x = x.float()
    return Erf()(x)
