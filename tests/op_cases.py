"""The table of op cases that the finite-difference tests and the PyTorch fixtures share.

Each function takes the library (``chainrule`` or ``torch``) and the input tensors, and is written
with names both libraries have, so the PyTorch fixture script runs the very same code.
Adding an op is adding a row.
"""

import collections

import numpy as np

Case = collections.namedtuple("Case", "name fn shapes domain double", defaults=("any", False))


def _weighted(pieces):
    """Combine the pieces of a split so that every piece's gradient differs."""
    total = pieces[0] * 1.0
    for k, piece in enumerate(pieces[1:], start=2):
        total = total + piece.sum() * k
    return total


CASES = [
    # name, fn(lib, *inputs), input shapes, domain, double backward checked against PyTorch
    # -- arithmetic, with broadcasting
    Case("add", lambda m, a, b: a + b, [(3, 4), (3, 4)]),
    Case("add_outer", lambda m, a, b: a + b, [(3, 1), (1, 4)]),
    Case("add_scalar_tensor", lambda m, a, b: a + b, [(3, 4), ()]),
    Case("add_leading", lambda m, a, b: a + b, [(2, 3, 4), (4,)]),
    Case("add_python_number", lambda m, a: a + 2.5, [(3, 4)]),
    Case("sub", lambda m, a, b: a - b, [(3, 1), (1, 4)]),
    Case("rsub_number", lambda m, a: 1 - a, [(3, 4)]),
    Case("mul", lambda m, a, b: a * b, [(3, 4), (3, 4)], double=True),
    Case("mul_broadcast", lambda m, a, b: a * b, [(2, 3, 4), (3, 1)]),
    Case("div", lambda m, a, b: a / b, [(3, 4), (4,)], "positive", double=True),
    Case("rdiv_number", lambda m, a: 2 / a, [(3, 4)], "positive"),
    Case("neg", lambda m, a: -a, [(3, 4)]),
    Case("pow_tensor", lambda m, a, b: a**b, [(3, 4), (3, 4)], "positive"),
    Case("pow_number", lambda m, a: a**3, [(3, 4)]),
    Case("rpow_number", lambda m, a: 2**a, [(3, 4)]),
    Case("sqrt_via_pow", lambda m, a: a**0.5, [(3, 4)], "positive"),
    # -- matmul
    Case("matmul", lambda m, a, b: a @ b, [(3, 4), (4, 5)], double=True),
    Case("matmul_batched", lambda m, a, b: a @ b, [(2, 3, 4), (2, 4, 5)]),
    Case("matmul_batch_broadcast", lambda m, a, b: m.matmul(a, b), [(2, 1, 3, 4), (5, 4, 2)]),
    Case("matmul_vector_matrix", lambda m, a, b: a @ b, [(4,), (4, 5)]),
    Case("matmul_matrix_vector", lambda m, a, b: a @ b, [(3, 4), (4,)]),
    Case("matmul_dot", lambda m, a, b: a @ b, [(4,), (4,)]),
    Case("matmul_batched_vector", lambda m, a, b: a @ b, [(2, 3, 4), (4,)]),
    # -- unary math and activations
    Case("exp", lambda m, x: x.exp(), [(3, 4)], double=True),
    Case("log", lambda m, x: x.log(), [(3, 4)], "positive", double=True),
    Case("log1p", lambda m, x: m.log1p(x), [(3, 4)], "positive"),
    Case("sqrt", lambda m, x: x.sqrt(), [(3, 4)], "positive"),
    Case("rsqrt", lambda m, x: x.rsqrt(), [(3, 4)], "positive"),
    Case("abs", lambda m, x: x.abs(), [(3, 4)], "away"),
    Case("sign", lambda m, x: x.sign() * x, [(3, 4)], "away"),
    Case("sin", lambda m, x: x.sin(), [(3, 4)]),
    Case("cos", lambda m, x: x.cos(), [(3, 4)]),
    Case("tanh", lambda m, x: x.tanh(), [(3, 4)], double=True),
    Case("sigmoid", lambda m, x: x.sigmoid(), [(3, 4)], double=True),
    Case("relu", lambda m, x: x.relu(), [(3, 4)], "away"),
    # -- elementwise selection
    Case("clamp", lambda m, x: x.clamp(-0.5, 0.5), [(4, 5)], "away"),
    Case("clamp_min", lambda m, x: m.clamp(x, min=0.2), [(4, 5)], "away"),
    Case("clamp_tensor_bounds", lambda m, x, lo: x.clamp(min=lo), [(3, 4), (4,)]),
    Case("maximum", lambda m, a, b: m.maximum(a, b), [(3, 4), (4,)]),
    Case("minimum", lambda m, a, b: m.minimum(a, b), [(3, 1), (1, 4)]),
    Case("where", lambda m, a, b: m.where(a > b, a, b * 2), [(3, 4), (3, 4)]),
    Case("where_broadcast", lambda m, c, a, b: m.where(c > 0, a, b), [(3, 4), (4,), (3, 1)]),
    # -- softmax family
    Case("softmax", lambda m, x: x.softmax(dim=1), [(3, 5)], double=True),
    Case("softmax_dim0", lambda m, x: m.softmax(x, dim=0), [(3, 5)]),
    Case("log_softmax", lambda m, x: x.log_softmax(dim=-1), [(3, 5)], double=True),
    Case("log_softmax_3d", lambda m, x: m.log_softmax(x, dim=1), [(2, 3, 4)]),
    Case("logsumexp", lambda m, x: x.logsumexp(dim=1), [(3, 5)]),
    Case("logsumexp_keepdim", lambda m, x: m.logsumexp(x, dim=(0, 2), keepdim=True), [(2, 3, 4)]),
    Case("logsumexp_large", lambda m, x: (x * 500).logsumexp(dim=1), [(3, 5)]),
    # -- reductions
    Case("sum", lambda m, x: x.sum(), [(3, 4)], double=True),
    Case("sum_dim", lambda m, x: x.sum(dim=1), [(3, 4)]),
    Case("sum_dims_keepdim", lambda m, x: x.sum(dim=(0, 2), keepdim=True), [(2, 3, 4)]),
    Case("mean", lambda m, x: x.mean(), [(3, 4)], double=True),
    Case("mean_dim", lambda m, x: x.mean(dim=0, keepdim=True), [(3, 4)]),
    Case("var", lambda m, x: x.var(dim=1), [(3, 4)]),
    Case("var_biased_all", lambda m, x: x.var(correction=0), [(3, 4)]),
    Case("std", lambda m, x: x.std(dim=0), [(3, 4)]),
    Case("std_keepdim", lambda m, x: x.std(dim=1, keepdim=True), [(3, 4)]),
    Case("prod", lambda m, x: x.prod(), [(2, 3)]),
    Case("prod_dim", lambda m, x: x.prod(dim=1), [(3, 4)]),
    Case("amax", lambda m, x: x.amax(dim=1), [(3, 4)]),
    Case("amin_dims", lambda m, x: m.amin(x, dim=(0, 2)), [(2, 3, 4)]),
    Case("max_all", lambda m, x: x.max(), [(3, 4)]),
    Case("max_dim", lambda m, x: x.max(dim=1).values, [(3, 4)]),
    Case("min_dim_keepdim", lambda m, x: x.min(dim=0, keepdim=True)[0], [(3, 4)]),
    Case("max_pairwise", lambda m, a, b: m.max(a, b), [(3, 4), (3, 4)]),
    # -- shape ops
    Case("reshape", lambda m, x: x.reshape(4, 3) * m.arange(3), [(3, 4)]),
    Case("view_flat", lambda m, x: x.view(-1), [(3, 4)]),
    Case("flatten", lambda m, x: x.flatten(1), [(2, 3, 4)]),
    Case("unsqueeze", lambda m, x: x.unsqueeze(1) * m.ones(3, 2, 4), [(3, 4)]),
    Case("squeeze", lambda m, x: x.squeeze(1), [(3, 1, 4)]),
    Case("transpose", lambda m, x: x.transpose(0, 1) @ m.ones(3, 2, dtype=x.dtype), [(3, 4)]),
    Case("permute", lambda m, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    Case("T", lambda m, x: x.T, [(3, 4)]),
    Case("expand", lambda m, x: x.expand(3, 4) * m.arange(12.0, dtype=x.dtype).reshape(3, 4), [(3, 1)]),
    Case("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)), [(3, 4)]),
    Case("clone", lambda m, x: x.clone() * x, [(3, 4)]),
    # -- indexing
    Case("index_int", lambda m, x: x[1], [(3, 4)]),
    Case("index_slices", lambda m, x: x[:, 1:3], [(3, 4)]),
    Case("index_step", lambda m, x: x[::2, ::-1], [(5, 4)]),
    Case("index_none_ellipsis", lambda m, x: x[None, ..., 0], [(2, 3, 4)]),
    Case("index_repeated", lambda m, x: x[[0, 2, 2, 0]], [(3, 4)]),
    Case("index_gather", lambda m, x: x[m.arange(3), m.tensor([1, 0, 3])], [(3, 4)]),
    Case("index_mask", lambda m, x: x[x > 0], [(3, 4)], "away"),
    # -- joining and splitting
    Case("cat", lambda m, a, b: m.cat([a, b], dim=0), [(2, 3), (4, 3)]),
    Case("cat_dim1", lambda m, a, b, c: m.cat([a, b, c], dim=1), [(2, 1), (2, 3), (2, 2)]),
    Case("stack", lambda m, a, b: m.stack([a, b], dim=1), [(2, 3), (2, 3)]),
    Case("split", lambda m, x: _weighted(x.split(2, dim=1)), [(3, 5)]),
    Case("split_sizes", lambda m, x: _weighted(m.split(x, [1, 3], dim=0)), [(4, 2)]),
    Case("chunk", lambda m, x: _weighted(x.chunk(3, dim=0)), [(7, 2)]),
    Case("pad_constant", lambda m, x: m.nn.functional.pad(x, (1, 2)), [(3, 4)]),
    Case("pad_2d_value", lambda m, x: m.nn.functional.pad(x, (1, 1, 2, 0), value=0.5), [(2, 3, 4)]),
    Case("pad_reflect", lambda m, x: m.nn.functional.pad(x, (2, 1), mode="reflect"), [(2, 3, 5)]),
    Case("pad_replicate", lambda m, x: m.nn.functional.pad(x, (2, 1), mode="replicate"), [(2, 3, 5)]),
    Case("pad_circular", lambda m, x: m.nn.functional.pad(x, (2, 1), mode="circular"), [(2, 3, 5)]),
    # -- nn.functional: linear and activations
    Case("linear", lambda m, x, w, b: m.nn.functional.linear(x, w, b), [(5, 4), (3, 4), (3,)], double=True),
    Case("linear_no_bias", lambda m, x, w: m.nn.functional.linear(x, w), [(5, 4), (3, 4)]),
    Case("linear_batched", lambda m, x, w, b: m.nn.functional.linear(x, w, b), [(2, 5, 4), (3, 4), (3,)], double=True),
    Case("linear_vector", lambda m, x, w, b: m.nn.functional.linear(x, w, b), [(4,), (3, 4), (3,)]),
    Case("linear_noncontiguous_input", lambda m, x, w: m.nn.functional.linear(x.transpose(0, 1), w), [(4, 5), (3, 4)]),
    Case("leaky_relu", lambda m, x: m.nn.functional.leaky_relu(x), [(3, 4)], "away"),
    Case("leaky_relu_slope", lambda m, x: m.nn.functional.leaky_relu(x, negative_slope=0.3), [(3, 4)], "away"),
    Case("elu", lambda m, x: m.nn.functional.elu(x), [(3, 4)], "away", double=True),
    Case("elu_alpha", lambda m, x: m.nn.functional.elu(x * 2, alpha=0.5), [(3, 4)], "away", double=True),
    Case("gelu", lambda m, x: m.nn.functional.gelu(x * 2), [(3, 4)], double=True),
    Case("gelu_tanh", lambda m, x: m.nn.functional.gelu(x * 2, approximate="tanh"), [(3, 4)], double=True),
    Case("gelu_wide", lambda m, x: m.nn.functional.gelu(x * 6), [(4, 5)]),
    Case("silu", lambda m, x: m.nn.functional.silu(x * 2), [(3, 4)], double=True),
    Case("softplus", lambda m, x: m.nn.functional.softplus(x * 2), [(3, 4)], double=True),
    Case(
        "softplus_beta_threshold",
        lambda m, x: m.nn.functional.softplus(x * 3, beta=2.0, threshold=4.0),
        [(4, 5)],
        double=True,
    ),
    Case("softplus_large", lambda m, x: m.nn.functional.softplus(x * 30), [(3, 4)]),
    Case("softmax_functional", lambda m, x: m.nn.functional.softmax(x, dim=-1), [(3, 5)]),
    Case("log_softmax_functional", lambda m, x: m.nn.functional.log_softmax(x, dim=0), [(3, 5)]),
    # -- losses
    Case("cross_entropy", lambda m, x: m.nn.functional.cross_entropy(x, m.tensor([0, 2, 1, 2])), [(4, 3)], double=True),
    Case(
        "cross_entropy_options",
        lambda m, x: m.nn.functional.cross_entropy(
            x * 2,
            m.tensor([[0, -100, 2], [1, 1, 0]]),
            weight=m.tensor([0.5, 2.0, 1.5], dtype=x.dtype),
            label_smoothing=0.2,
        ),
        [(2, 3, 3)],
        double=True,
    ),
    Case(
        "cross_entropy_none",
        lambda m, x: m.nn.functional.cross_entropy(x, m.tensor([1, 0, 2]), reduction="none"),
        [(3, 4)],
        double=True,
    ),
    Case(
        "cross_entropy_probabilities",
        lambda m, x, t: m.nn.functional.cross_entropy(x, t.softmax(dim=1), label_smoothing=0.1),
        [(4, 3), (4, 3)],
        double=True,
    ),
    Case(
        "nll_loss",
        lambda m, x: m.nn.functional.nll_loss(
            x.log_softmax(dim=1),
            m.tensor([0, 2, -100, 1]),
            weight=m.tensor([0.5, 2.0, 1.5], dtype=x.dtype),
            reduction="sum",
        ),
        [(4, 3)],
        double=True,
    ),
    Case(
        "binary_cross_entropy",
        lambda m, x, t: m.nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid()),
        [(3, 4), (3, 4)],
        double=True,
    ),
    Case(
        "bce_with_logits",
        lambda m, x, t: m.nn.functional.binary_cross_entropy_with_logits(
            x * 3, t.sigmoid(), pos_weight=m.tensor([0.5, 1.0, 2.0, 3.0], dtype=x.dtype), reduction="none"
        ),
        [(3, 4), (3, 4)],
        double=True,
    ),
    Case("mse_loss", lambda m, a, b: m.nn.functional.mse_loss(a, b), [(3, 4), (3, 4)], double=True),
    Case("l1_loss", lambda m, x: m.nn.functional.l1_loss(x, m.zeros_like(x), reduction="sum"), [(3, 4)], "away"),
    Case(
        "huber_loss",
        lambda m, x: m.nn.functional.huber_loss(x, m.zeros_like(x), delta=0.5),
        [(3, 4)],
        "away",
        double=True,
    ),
    Case(
        "smooth_l1_loss",
        lambda m, x: m.nn.functional.smooth_l1_loss(x, m.zeros_like(x), beta=0.5),
        [(3, 4)],
        "away",
        double=True,
    ),
    Case(
        "kl_div",
        lambda m, x, t: m.nn.functional.kl_div(x.log_softmax(dim=1), t.softmax(dim=1), reduction="batchmean"),
        [(3, 4), (3, 4)],
        double=True,
    ),
]

CASES_BY_NAME = {case.name: case for case in CASES}


def make_inputs(case, seed=0):
    """float64 NumPy inputs for a case, drawn from its domain (fixed by ``seed``)."""
    rng = np.random.default_rng([seed, sum(map(ord, case.name))])
    arrays = []
    for shape in case.shapes:
        if case.domain == "positive":
            arrays.append(rng.uniform(0.5, 2.0, size=shape))
        elif case.domain == "away":  # |x| ≥ 0.1: away from kinks at 0 (and from clamp bounds)
            values = rng.standard_normal(size=shape)
            values = np.sign(values) * (np.abs(values) + 0.1)
            values[np.abs(np.abs(values) - 0.5) < 0.05] += 0.1
            values[np.abs(values - 0.2) < 0.05] += 0.1
            arrays.append(values)
        else:
            arrays.append(rng.standard_normal(size=shape))
    return arrays
