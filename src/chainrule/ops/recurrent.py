"""Fused recurrent layers: a whole sequence of one layer and one direction as ONE graph node.

An unrolled RNN built from ordinary ops leaves T·(a dozen) small nodes per layer; here the forward
loops over time on raw arrays and saves what backpropagation through time (BPTT) needs, and the
backward runs that loop in reverse. The GEMMs are batched where the math allows:

- forward: the input-to-hidden projection of ALL steps is one GEMM, X (T·N, in) · W_ihᵀ; each step
  adds one GEMM h_{t-1} · W_hhᵀ;
- backward: each step needs one GEMM, δ_t · W_hh (the gradient sent to h_{t-1}); the per-step gate
  gradients δ_t are stacked into Δ (T·N, G·H), and then ∂W_ih = Δᵀ X, ∂W_hh = Δᵀ H_prev,
  ∂X = Δ W_ih are one GEMM each, ∂b = Σ rows of Δ.

Gate layouts are PyTorch's: LSTM rows of W are (i, f, g, o), GRU rows (r, z, n), so PyTorch's
weights load unchanged.

One output per node: the op returns the states packed in one array Y, and the functions below
slice it (views). For a sequence of length T (time index t = 0..T-1):

- forward direction: Y[0] = h_0 (a copy of the initial state), Y[t + 1] = h after step t;
- reverse direction (steps run t = T-1..0): Y[t] = h after step t, Y[T] = h_0;
- LSTM only: Y[T + 1] = c after the last step.

So the layer's output (T, N, H) is Y[1:T+1] (forward) or Y[0:T] (reverse), and h_n is its last
processed row. A gradient arriving at the h_0 row flows to h_0 unchanged (it is a copy).

The backward rules are first-order only: they loop with in-place array updates, so
``create_graph=True`` through a fused sequence raises NotImplementedError. For higher-order
gradients, loop over ``nn.RNNCell`` / ``nn.LSTMCell`` / ``nn.GRUCell``, built from ordinary ops.
"""

from ..autograd.function import Function
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor


class _Sequence(Function):
    """What the three fused sequence ops share: the packed-state rows, the input projection, the
    batched weight-gradient GEMMs and the first-order-only guard."""

    gates = 1  # gate blocks in W (G): rows of W_ih / W_hh are G·H
    cell_state = False

    def __init__(self, reverse):
        self.reverse = reverse

    def rows(self, T):
        """(row of h_0 in Y, per step t: (row of h_{t-1}, row of h_t), steps in processing order)."""
        if self.reverse:
            return T, [(t + 1, t) for t in range(T - 1, -1, -1)]
        return 0, [(t, t + 1) for t in range(T)]

    def project(self, x, w_ih, bias):
        """X (T, N, in) -> X W_ihᵀ + bias: (T, N, G·H), one GEMM over all steps."""
        T, N, size = x.shape
        projected = self.xp.matmul(x.reshape(T * N, size), w_ih.T)
        if bias is not None:
            projected += bias
        return projected.reshape(T, N, -1)

    def transposed(self, w_hh):
        """W_hhᵀ (H, G·H) as a contiguous copy: every step's h_{t-1}·W_hhᵀ is then a plain GEMM,
        about 10% faster than on the transposed view, for one copy of W_hh per sequence."""
        return self.xp.ascontiguousarray(w_hh.T)

    def first_order_only(self, grad):
        if isinstance(grad, Tensor):
            raise NotImplementedError(
                f"{type(self).__name__}: the fused recurrent backward is first-order only, so create_graph=True "
                "cannot differentiate through it; for higher-order gradients unroll the sequence with "
                "nn.RNNCell / nn.LSTMCell / nn.GRUCell, which are built from ordinary ops"
            )

    def weight_grads(self, x, w_ih, prev_states, grad_ih, grad_hh, need):
        """The batched GEMMs: ∂X = Δ_ih W_ih, ∂W_ih = Δ_ihᵀ X, ∂W_hh = Δ_hhᵀ H_prev, ∂b = Σ rows.

        grad_ih, grad_hh: (T, N, G·H) stacked gate gradients at the input and hidden projections;
        prev_states: (T, N, H), h_{t-1} of each step. Returns (∂x, ∂W_ih, ∂W_hh, ∂b_ih, ∂b_hh)."""
        xp = self.xp
        T, N, size = x.shape
        rows_ih = grad_ih.reshape(T * N, -1)
        rows_hh = grad_hh.reshape(T * N, -1)
        grad_x = xp.matmul(rows_ih, w_ih).reshape(x.shape) if need[0] else None
        grad_w_ih = xp.matmul(rows_ih.T, x.reshape(T * N, size)) if need[1] else None
        grad_w_hh = xp.matmul(rows_hh.T, prev_states.reshape(T * N, -1)) if need[2] else None
        grad_b_ih = rows_ih.sum(axis=0) if need[3] else None
        if need[4] and grad_hh is grad_ih and grad_b_ih is not None:
            grad_b_hh = grad_b_ih.copy()  # the same δ reaches both biases (RNN, LSTM)
        else:
            grad_b_hh = rows_hh.sum(axis=0) if need[4] else None
        return grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh

    def prev_states(self, Y, T):
        """(T, N, H): the state each step started from, aligned with the steps' time index."""
        return Y[1 : T + 1] if self.reverse else Y[0:T]

    def split_needs(self, states):
        """needs_input_grad as (x, states..., W_ih, W_hh, b_ih, b_hh), b_* False when absent."""
        need = self.needs_input_grad
        bias = need[states + 3 :] if len(need) > states + 3 else (False, False)
        return need[0], need[1 : 1 + states], need[1 + states], need[2 + states], bias


def _sigmoid_(a, xp):
    """σ(a) in place, as ½·tanh(a/2) + ½: never overflows and needs no error-state handling."""
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


class RNNSequence(_Sequence):
    """Elman RNN over a sequence: h_t = φ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), φ = tanh or relu.

    x: (T, N, in), h_0: (N, H), W_ih: (H, in), W_hh: (H, H), b_*: (H,) -> Y (T+1, N, H) (module
    docstring). BPTT with g_t = ∂L/∂h_t (from the output plus from step t+1):
        δ_t = g_t ⊙ φ'(·), φ' = 1 - h_t² (tanh) or [h_t > 0] (relu);   g_{t-1} += δ_t W_hh
        ∂W_ih = Σ_t δ_tᵀ x_t,   ∂W_hh = Σ_t δ_tᵀ h_{t-1},   ∂b_ih = ∂b_hh = Σ_t Σ_n δ_t
    First-order only (see the module docstring).
    """

    def __init__(self, reverse, nonlinearity):
        super().__init__(reverse)
        self.nonlinearity = nonlinearity

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        xp = self.xp
        T, N, _ = x.shape
        pre = self.project(x, w_ih, None if b_ih is None else b_ih + b_hh)  # (T, N, H)
        Y = xp.empty((T + 1,) + h0.shape, dtype=x.dtype)
        start, steps = self.rows(T)
        Y[start] = h0
        step = xp.empty(h0.shape, dtype=x.dtype)
        w_hh_t = self.transposed(w_hh)
        for t, (prev, new) in zip(range(T - 1, -1, -1) if self.reverse else range(T), steps):
            xp.matmul(Y[prev], w_hh_t, out=step)
            step += pre[t]
            if self.nonlinearity == "tanh":
                xp.tanh(step, out=Y[new])
            else:
                xp.maximum(step, 0, out=Y[new])
        self.save_for_backward(x, w_ih, w_hh, Y)
        return Y

    def backward(self, grad):
        self.first_order_only(grad)
        x, w_ih, w_hh, Y = self.saved
        xp = self.xp
        T = x.shape[0]
        need_x, (need_h0,), need_w_ih, need_w_hh, need_b = self.split_needs(1)
        start, steps = self.rows(T)
        delta = xp.empty(x.shape[:2] + (w_hh.shape[0],), dtype=x.dtype)  # (T, N, H)
        carried = xp.zeros_like(Y[0])  # ∂L/∂h_{t} arriving from step t+1
        times = range(T - 1, -1, -1) if self.reverse else range(T)
        for t, (_, new) in zip(reversed(times), reversed(steps)):
            g = grad[new] + carried
            h = Y[new]
            if self.nonlinearity == "tanh":
                xp.multiply(g, 1 - h * h, out=delta[t])
            else:
                xp.multiply(g, h > 0, out=delta[t])
            carried = xp.matmul(delta[t], w_hh)
        need = (need_x, need_w_ih, need_w_hh) + tuple(need_b)
        grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh = self.weight_grads(
            x, w_ih, self.prev_states(Y, T), delta, delta, need
        )
        grad_h0 = carried + grad[start] if need_h0 else None
        if len(self.parents) == 4:
            return grad_x, grad_h0, grad_w_ih, grad_w_hh
        return grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


class LSTMSequence(_Sequence):
    """LSTM over a sequence, PyTorch's equations and gate order (i, f, g, o):

        (i, f, g, o) = (σ, σ, tanh, σ)(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)
        c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

    x: (T, N, in), h_0, c_0: (N, H), W_ih: (4H, in), W_hh: (4H, H), b_*: (4H,) -> Y (T+2, N, H)
    (module docstring). BPTT, with g_t = ∂L/∂h_t and e_t = ∂L/∂c_t (each from the output, the
    final-state gradients and step t+1):
        e_t += g_t ⊙ o ⊙ (1 - tanh²c_t)
        δo = g_t ⊙ tanh c_t ⊙ o(1-o),   δi = e_t ⊙ g ⊙ i(1-i),   δf = e_t ⊙ c_{t-1} ⊙ f(1-f),
        δg = e_t ⊙ i ⊙ (1-g²)
        g_{t-1} += δ_t W_hh  (δ_t = [δi δf δg δo], (N, 4H)),   e_{t-1} = e_t ⊙ f
        ∂W_ih = Σ_t δ_tᵀ x_t,   ∂W_hh = Σ_t δ_tᵀ h_{t-1},   ∂b_ih = ∂b_hh = Σ_t Σ_n δ_t
    First-order only (see the module docstring).
    """

    gates = 4
    cell_state = True

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        xp = self.xp
        T, N, _ = x.shape
        H = h0.shape[-1]
        # σ on the i, f, o blocks and tanh on g in one pass, σ(a) = ½·tanh(a/2) + ½: the pre-activations
        # are computed already halved on i, f, o (W_ih, W_hh, b scaled by ½ there, which is exact)
        scale = xp.full(4 * H, 0.5, dtype=x.dtype)  # ½ on i, f, o; 1 on g
        scale[2 * H : 3 * H] = 1
        shift = scale.copy()  # ½ on i, f, o; 0 on g
        shift[2 * H : 3 * H] = 0
        bias = None if b_ih is None else (b_ih + b_hh) * scale
        acts = self.project(x, w_ih * scale[:, None], bias)  # (T, N, 4H), activated in place
        w_hh_t = self.transposed(w_hh * scale[:, None])
        Y = xp.empty((T + 2, N, H), dtype=x.dtype)
        cells = xp.empty((T + 1, N, H), dtype=x.dtype)  # rows as Y's: c_0 at Y's h_0 row
        tanh_cells = xp.empty((T, N, H), dtype=x.dtype)
        start, steps = self.rows(T)
        Y[start] = h0
        cells[start] = c0
        recurrent = xp.empty((N, 4 * H), dtype=x.dtype)
        input_part = xp.empty((N, H), dtype=x.dtype)
        for t, (prev, new) in zip(range(T - 1, -1, -1) if self.reverse else range(T), steps):
            a = acts[t]
            xp.matmul(Y[prev], w_hh_t, out=recurrent)
            a += recurrent
            xp.tanh(a, out=a)
            a *= scale
            a += shift
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            c = cells[new]
            xp.multiply(f, cells[prev], out=c)
            xp.multiply(i, g, out=input_part)
            c += input_part
            xp.tanh(c, out=tanh_cells[t])
            xp.multiply(o, tanh_cells[t], out=Y[new])
        Y[T + 1] = cells[steps[-1][1]]
        self.save_for_backward(x, w_ih, w_hh, Y, acts, cells, tanh_cells)
        return Y

    def backward(self, grad):
        self.first_order_only(grad)
        x, w_ih, w_hh, Y, acts, cells, tanh_cells = self.saved
        xp = self.xp
        T = x.shape[0]
        H = Y.shape[-1]
        need_x, (need_h0, need_c0), need_w_ih, need_w_hh, need_b = self.split_needs(2)
        start, steps = self.rows(T)
        N = Y.shape[1]
        # the gates' local derivatives, made step by step while the step's gates are in the cache:
        # σ' = a(1 - a) on i, f, o and tanh' = 1 - a² = (1 - a)(1 + a) on g, i.e. (1 - a)(a + k)
        # with k = 1 on g, 0 elsewhere
        kink = xp.zeros(4 * H, dtype=x.dtype)
        kink[2 * H : 3 * H] = 1
        slope = xp.empty((N, 4 * H), dtype=x.dtype)
        delta = xp.empty_like(acts)  # (T, N, 4H): the gate gradients δ_t
        tanh_grad = tanh_cells * tanh_cells  # 1 - tanh²(c_t), all steps
        xp.subtract(1, tanh_grad, out=tanh_grad)
        partners = xp.empty((N, 4 * H), dtype=x.dtype)  # what multiplies e or g at each gate
        through_c = xp.empty((N, H), dtype=x.dtype)
        e = grad[T + 1].copy()  # ∂L/∂c: from c_n, then carried back
        times = range(T - 1, -1, -1) if self.reverse else range(T)
        g_h = grad[steps[-1][1]].copy()  # ∂L/∂h_t, from the output and (below) from step t+1
        for t, (prev, _) in zip(reversed(times), reversed(steps)):
            a = acts[t]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            xp.multiply(g_h, o, out=through_c)  # e += g ⊙ o ⊙ (1 - tanh²c)
            through_c *= tanh_grad[t]
            e += through_c
            xp.multiply(e, g, out=partners[:, :H])
            xp.multiply(e, cells[prev], out=partners[:, H : 2 * H])
            xp.multiply(e, i, out=partners[:, 2 * H : 3 * H])
            xp.multiply(g_h, tanh_cells[t], out=partners[:, 3 * H :])
            d = delta[t]
            xp.subtract(1, a, out=d)
            xp.add(a, kink, out=slope)
            d *= slope
            d *= partners
            e *= f
            xp.matmul(d, w_hh, out=g_h)  # from step t to h_{t-1}, plus the output's gradient there
            g_h += grad[prev]
        need = (need_x, need_w_ih, need_w_hh) + tuple(need_b)
        grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh = self.weight_grads(
            x, w_ih, self.prev_states(Y, T), delta, delta, need
        )
        grad_h0 = g_h if need_h0 else None  # the last grad[prev] added was h_0's row
        grad_c0 = e if need_c0 else None
        if len(self.parents) == 5:
            return grad_x, grad_h0, grad_c0, grad_w_ih, grad_w_hh
        return grad_x, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


class GRUSequence(_Sequence):
    """GRU over a sequence, PyTorch's equations and gate order (r, z, n):

        r = σ(W_ir x + b_ir + W_hr h + b_hr),   z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

    x: (T, N, in), h_0: (N, H), W_ih: (3H, in), W_hh: (3H, H), b_*: (3H,) -> Y (T+1, N, H)
    (module docstring). BPTT with g_t = ∂L/∂h_t and a_n = W_hn h_{t-1} + b_hn:
        δn = g_t ⊙ (1-z) ⊙ (1-n²),   δz = g_t ⊙ (h_{t-1} - n) ⊙ z(1-z),   δr = δn ⊙ a_n ⊙ r(1-r)
        at the input projection  Δ_ih,t = [δr δz δn];  at the hidden one  Δ_hh,t = [δr δz δn ⊙ r]
        g_{t-1} += g_t ⊙ z + Δ_hh,t W_hh
        ∂W_ih = Σ_t Δ_ih,tᵀ x_t,  ∂W_hh = Σ_t Δ_hh,tᵀ h_{t-1},  ∂b_ih = Σ Δ_ih,  ∂b_hh = Σ Δ_hh
    First-order only (see the module docstring).
    """

    gates = 3

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        xp = self.xp
        T, N, _ = x.shape
        H = h0.shape[-1]
        acts = self.project(x, w_ih, b_ih)  # (T, N, 3H): becomes r, z, n in place
        hidden_n = xp.empty((T, N, H), dtype=x.dtype)  # a_n = W_hn h + b_hn per step
        Y = xp.empty((T + 1, N, H), dtype=x.dtype)
        start, steps = self.rows(T)
        Y[start] = h0
        recurrent = xp.empty((N, 3 * H), dtype=x.dtype)
        w_hh_t = self.transposed(w_hh)
        for t, (prev, new) in zip(range(T - 1, -1, -1) if self.reverse else range(T), steps):
            a = acts[t]
            xp.matmul(Y[prev], w_hh_t, out=recurrent)
            if b_hh is not None:
                recurrent += b_hh
            a[:, : 2 * H] += recurrent[:, : 2 * H]
            _sigmoid_(a[:, : 2 * H], xp)
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            hidden_n[t] = recurrent[:, 2 * H :]
            n += r * hidden_n[t]
            xp.tanh(n, out=n)
            h = Y[new]
            xp.subtract(Y[prev], n, out=h)
            h *= z
            h += n
        self.save_for_backward(x, w_ih, w_hh, Y, acts, hidden_n)
        return Y

    def backward(self, grad):
        self.first_order_only(grad)
        x, w_ih, w_hh, Y, acts, hidden_n = self.saved
        xp = self.xp
        T = x.shape[0]
        H = Y.shape[-1]
        need_x, (need_h0,), need_w_ih, need_w_hh, need_b = self.split_needs(1)
        start, steps = self.rows(T)
        delta_ih = xp.empty(acts.shape, dtype=x.dtype)  # (T, N, 3H)
        delta_hh = xp.empty(acts.shape, dtype=x.dtype)
        carried = xp.zeros_like(Y[0])
        times = range(T - 1, -1, -1) if self.reverse else range(T)
        for t, (prev, new) in zip(reversed(times), reversed(steps)):
            a = acts[t]
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            g_h = grad[new] + carried
            d_ih, d_hh = delta_ih[t], delta_hh[t]
            xp.multiply(g_h * (1 - z), 1 - n * n, out=d_ih[:, 2 * H :])
            xp.multiply(g_h * (Y[prev] - n), z * (1 - z), out=d_ih[:, H : 2 * H])
            xp.multiply(d_ih[:, 2 * H :] * hidden_n[t], r * (1 - r), out=d_ih[:, :H])
            d_hh[:, : 2 * H] = d_ih[:, : 2 * H]
            xp.multiply(d_ih[:, 2 * H :], r, out=d_hh[:, 2 * H :])
            carried = g_h * z
            carried += xp.matmul(d_hh, w_hh)
        need = (need_x, need_w_ih, need_w_hh) + tuple(need_b)
        grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh = self.weight_grads(
            x, w_ih, self.prev_states(Y, T), delta_ih, delta_hh, need
        )
        grad_h0 = carried + grad[start] if need_h0 else None
        if len(self.parents) == 4:
            return grad_x, grad_h0, grad_w_ih, grad_w_hh
        return grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


# ----------------------------------------------------------------- functions


def _check(name, x, states, w_ih, w_hh, biases, gates):
    """Shapes and dtypes of one layer-direction's arguments; raises naming what was expected."""
    tensors = (x, *states, w_ih, w_hh, *[b for b in biases if b is not None])
    for tensor in tensors:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{name}: expected Tensors, got {type(tensor).__name__}")
    if x.ndim != 3:
        raise ShapeError(f"{name}: input must be 3-D (T, N, input_size), got shape {tuple(x.shape)}")
    T, N, size = x.shape
    H = w_hh.shape[-1]
    if T == 0:
        raise ShapeError(f"{name}: the sequence is empty (input shape {tuple(x.shape)})")
    if tuple(w_ih.shape) != (gates * H, size):
        raise ShapeError(
            f"{name}: weight_ih must be ({gates * H}, {size}) for input_size {size} and hidden_size {H}, "
            f"got {tuple(w_ih.shape)}"
        )
    if tuple(w_hh.shape) != (gates * H, H):
        raise ShapeError(f"{name}: weight_hh must be ({gates * H}, {H}), got {tuple(w_hh.shape)}")
    for state in states:
        if tuple(state.shape) != (N, H):
            raise ShapeError(f"{name}: initial state must be ({N}, {H}) (N, hidden_size), got {tuple(state.shape)}")
    if (biases[0] is None) != (biases[1] is None):
        raise ValueError(f"{name}: pass both bias_ih and bias_hh, or neither")
    for bias in biases:
        if bias is not None and tuple(bias.shape) != (gates * H,):
            raise ShapeError(f"{name}: biases must be ({gates * H},), got {tuple(bias.shape)}")
    for tensor in tensors[1:]:
        if tensor.dtype != x.dtype:
            raise DTypeError(f"{name}: input is {x.dtype.name} but a weight or state is {tensor.dtype.name}")
    if not x.is_floating_point():
        raise DTypeError(f"{name}: expected a floating-point input, got {x.dtype.name}")


def _outputs(Y, T, reverse):
    """(output (T, N, H), h_n (N, H)) as views of the packed states."""
    if reverse:
        return Y[0:T], Y[0]
    return Y[1 : T + 1], Y[T]


def rnn_sequence(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh", reverse=False):  # noqa: A002
    """One Elman-RNN layer in one direction over a whole sequence (one fused graph node).

    input: (T, N, in), h0: (N, H), weight_ih: (H, in), weight_hh: (H, H), biases (H,) or None
    -> (output (T, N, H), h_n (N, H)). ``reverse=True`` runs t = T-1..0 (output stays in time order).

    Example::

        >>> out, h_n = rnn_sequence(cr.randn(5, 2, 3), cr.zeros(2, 4), cr.randn(4, 3), cr.randn(4, 4))
        >>> out.shape, h_n.shape                                   # (5, 2, 3) -> (5, 2, 4), (2, 4)
        ((5, 2, 4), (2, 4))
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    _check("rnn", input, (h0,), weight_ih, weight_hh, (bias_ih, bias_hh), 1)
    biases = () if bias_ih is None else (bias_ih, bias_hh)
    Y = RNNSequence(reverse, nonlinearity)(input, h0, weight_ih, weight_hh, *biases)
    return _outputs(Y, input.shape[0], reverse)


def lstm_sequence(input, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):  # noqa: A002
    """One LSTM layer in one direction over a whole sequence (one fused graph node).

    input: (T, N, in), h0, c0: (N, H), weight_ih: (4H, in), weight_hh: (4H, H), biases (4H,) or None
    -> (output (T, N, H), h_n (N, H), c_n (N, H)).

    Example::

        >>> x, h0, c0 = cr.randn(5, 2, 3), cr.zeros(2, 4), cr.zeros(2, 4)
        >>> out, h_n, c_n = lstm_sequence(x, h0, c0, cr.randn(16, 3), cr.randn(16, 4))
        >>> out.shape, c_n.shape                                   # (5, 2, 3) -> (5, 2, 4), (2, 4)
        ((5, 2, 4), (2, 4))
    """
    _check("lstm", input, (h0, c0), weight_ih, weight_hh, (bias_ih, bias_hh), 4)
    biases = () if bias_ih is None else (bias_ih, bias_hh)
    Y = LSTMSequence(reverse)(input, h0, c0, weight_ih, weight_hh, *biases)
    T = input.shape[0]
    output, h_n = _outputs(Y, T, reverse)
    return output, h_n, Y[T + 1]


def gru_sequence(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):  # noqa: A002
    """One GRU layer in one direction over a whole sequence (one fused graph node).

    input: (T, N, in), h0: (N, H), weight_ih: (3H, in), weight_hh: (3H, H), biases (3H,) or None
    -> (output (T, N, H), h_n (N, H)).

    Example::

        >>> out, h_n = gru_sequence(cr.randn(5, 2, 3), cr.zeros(2, 4), cr.randn(12, 3), cr.randn(12, 4))
        >>> out.shape                                              # (5, 2, 3) -> (5, 2, 4)
        (5, 2, 4)
    """
    _check("gru", input, (h0,), weight_ih, weight_hh, (bias_ih, bias_hh), 3)
    biases = () if bias_ih is None else (bias_ih, bias_hh)
    Y = GRUSequence(reverse)(input, h0, weight_ih, weight_hh, *biases)
    return _outputs(Y, input.shape[0], reverse)
