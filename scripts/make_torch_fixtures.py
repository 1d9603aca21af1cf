"""Write tests/fixtures/torch_ops.npz: PyTorch's values for every row of tests/op_cases.py.

Run it where PyTorch is installed (the tests themselves never import torch)::

    python scripts/make_torch_fixtures.py

For each case, with ``make_inputs(case)`` as float64 leaves and a seeded upstream gradient v:

- ``{case}/out``              the forward output
- ``{case}/v``                v, the gradient of L = sum(out * v) with respect to out
- ``{case}/grad{i}``          dL/d(input i); absent when PyTorch leaves that grad None, and
- ``{case}/grad_none``        (n_inputs,) bool: True where input i's grad is None (unused)
- ``{case}/out32``, ``{case}/grad{i}_32``   the same in float32 (inputs and v cast to float32)

and for rows with ``double=True`` (g = autograd.grad(L, inputs, create_graph=True), M = Σᵢ sum(gᵢ wᵢ)):

- ``{case}/w{i}``             the seeded weights wᵢ (absent where gᵢ is None)
- ``{case}/gg{i}``            dM/d(input i); absent where None, and
- ``{case}/gg_none``          (n_inputs,) bool: True where that second-order grad is None

Extra references beyond the table, under ``extra/``: a Hessian-vector product of a small two-layer
tanh MLP's loss with respect to its weights, and repeated ``autograd.grad(create_graph=True)`` on
x³. ``meta/torch_version`` and ``meta/cases`` record how the file was made.
"""

import pathlib
import sys
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from op_cases import CASES, make_inputs  # noqa: E402

OUTPUT = ROOT / "tests" / "fixtures" / "torch_ops.npz"

# Rows whose code PyTorch cannot run, with PyTorch code that computes the same function.
TORCH_EQUIVALENTS = {
    "index_step": lambda m, x: x[::2].flip(1),  # PyTorch slices refuse negative steps (x[::2, ::-1])
}


def seeded(name, salt):
    """A generator fixed by a case's name, so each case's v and w never depend on the table's order."""
    return np.random.default_rng([zlib.crc32(name.encode()), salt])


def numpy_of(tensor):
    return tensor.detach().cpu().numpy().copy()


def run_case(torch, case, store):
    arrays = make_inputs(case)
    case = case._replace(fn=TORCH_EQUIVALENTS.get(case.name, case.fn))
    n = len(arrays)

    # float64: forward, backward of sum(out * v)
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = case.fn(torch, *leaves)
    v = np.asarray(seeded(case.name, 1).standard_normal(size=tuple(out.shape)))
    store[f"{case.name}/out"] = numpy_of(out)
    store[f"{case.name}/v"] = v
    (out * torch.tensor(v)).sum().backward()
    store[f"{case.name}/grad_none"] = np.array([leaf.grad is None for leaf in leaves])
    for i, leaf in enumerate(leaves):
        if leaf.grad is not None:
            store[f"{case.name}/grad{i}"] = numpy_of(leaf.grad)

    # float32: the same with inputs and v rounded to float32
    leaves = [torch.tensor(a, dtype=torch.float32, requires_grad=True) for a in arrays]
    out = case.fn(torch, *leaves)
    assert out.dtype == torch.float32, f"{case.name}: float32 inputs gave {out.dtype}"
    store[f"{case.name}/out32"] = numpy_of(out)
    (out * torch.tensor(v, dtype=torch.float32)).sum().backward()
    for i, leaf in enumerate(leaves):
        if leaf.grad is not None:
            store[f"{case.name}/grad{i}_32"] = numpy_of(leaf.grad)

    if not case.double:
        return
    # float64 second order: M = Σᵢ sum(gᵢ wᵢ) with g = dL/d(inputs) kept differentiable
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = case.fn(torch, *leaves)
    grads = torch.autograd.grad((out * torch.tensor(v)).sum(), leaves, create_graph=True, allow_unused=True)
    rng = seeded(case.name, 2)
    m = None
    for i, g in enumerate(grads):
        if g is None:
            continue
        w = np.asarray(rng.standard_normal(size=tuple(g.shape)))
        store[f"{case.name}/w{i}"] = w
        term = (g * torch.tensor(w)).sum()
        m = term if m is None else m + term
    if m is None or not m.requires_grad:  # g does not depend on the inputs (e.g. sum): no second order
        second = [None] * n
    else:
        second = torch.autograd.grad(m, leaves, allow_unused=True)
    store[f"{case.name}/gg_none"] = np.array([gg is None for gg in second])
    for i, gg in enumerate(second):
        if gg is not None:
            store[f"{case.name}/gg{i}"] = numpy_of(gg)


def mlp_loss(lib, x, target, w1, b1, w2):
    """Mean squared error of a two-layer tanh MLP: x (N, D) -> tanh(x w1 + b1) w2 (N, O)."""
    prediction = (x @ w1 + b1).tanh() @ w2
    return ((prediction - target) ** 2).sum() / x.shape[0]


def run_extras(torch, store):
    rng = seeded("extra/mlp_hvp", 0)
    x, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    weights = [rng.standard_normal((3, 4)), rng.standard_normal((4,)), rng.standard_normal((4, 2))]
    vectors = [rng.standard_normal(w.shape) for w in weights]
    leaves = [torch.tensor(w, requires_grad=True) for w in weights]
    loss = mlp_loss(torch, torch.tensor(x), torch.tensor(target), *leaves)
    grads = torch.autograd.grad(loss, leaves, create_graph=True)
    dot = sum((g * torch.tensor(u)).sum() for g, u in zip(grads, vectors))
    hvp = torch.autograd.grad(dot, leaves)
    prefix = "extra/mlp_hvp"
    store[f"{prefix}/x"], store[f"{prefix}/target"] = x, target
    for name, w, u, g, h in zip(("w1", "b1", "w2"), weights, vectors, grads, hvp):
        store[f"{prefix}/{name}"] = w
        store[f"{prefix}/{name}_vector"] = u
        store[f"{prefix}/{name}_grad"] = numpy_of(g)
        store[f"{prefix}/{name}_hvp"] = numpy_of(h)
    store[f"{prefix}/loss"] = numpy_of(loss)

    # x³: three nested autograd.grad calls, each with create_graph=True -> 3x², 6x, 6
    x = np.array([-1.5, -0.3, 0.0, 0.7, 2.0])
    leaf = torch.tensor(x, requires_grad=True)
    (g1,) = torch.autograd.grad((leaf**3).sum(), leaf, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), leaf, create_graph=True)
    (g3,) = torch.autograd.grad((g2 * torch.tensor(x)).sum(), leaf)
    prefix = "extra/cube"
    store[f"{prefix}/x"] = x
    store[f"{prefix}/grad1"], store[f"{prefix}/grad2"], store[f"{prefix}/grad3"] = map(numpy_of, (g1, g2, g3))


def main():
    try:
        import torch
    except ImportError:
        sys.exit(
            "make_torch_fixtures.py needs PyTorch (pip install torch); the tests read the committed "
            f"fixture {OUTPUT.relative_to(ROOT)} and do not need it."
        )
    torch.manual_seed(0)
    store = {}
    for case in CASES:
        run_case(torch, case, store)
    run_extras(torch, store)
    store["meta/torch_version"] = np.array(torch.__version__)
    store["meta/cases"] = np.array([case.name for case in CASES])
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUTPUT, **store)
    print(
        f"wrote {OUTPUT.relative_to(ROOT)}: {len(CASES)} cases, {len(store)} arrays, "
        f"{OUTPUT.stat().st_size / 1024:.1f} KiB, torch {torch.__version__}"
    )


if __name__ == "__main__":
    main()
