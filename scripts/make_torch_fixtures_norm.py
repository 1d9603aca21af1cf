"""Write tests/fixtures/torch_norm.npz: PyTorch's values for BatchNorm1d/2d, LayerNorm, GroupNorm
and F.batch_norm / F.layer_norm / F.group_norm.

Run it where PyTorch is installed (the tests never import torch)::

    /work/torchenv/bin/python scripts/make_torch_fixtures_norm.py

The cases are defined here and stored with the values (``cases``, ``sequences``, ``modules`` and
``functional`` hold JSON text), so the test builds the same layers from the fixture alone. Keys:

- ``layer/{name}/x``, ``/v``, ``/param/{p}``, ``/buffer/{b}``  the input, the upstream gradient of
  L = sum(out · v), the parameter values and the buffers before the call (float64)
- ``layer/{name}/out``, ``/grad_x``, ``/grad/{p}``, ``/after/{b}``  PyTorch's output, gradients and
  buffers after the call (float64), and the same with suffix ``_32`` from a float32 run
- ``layer/{name}/u``, ``/gg_x``, ``/gg/{p}``  double backward: the gradients of sum(∂L/∂x · u)
  with respect to x and each parameter (float64; for the cases with ``double``)
- ``seq/{name}/x{i}``  the batches of a train/eval sequence; ``/out{i}`` each output (float32) and
  ``/running_mean{i}``, ``/running_var{i}``, ``/num_batches_tracked{i}`` the buffers after it
- ``module/{name}/keys``, ``/shapes``, ``/dtypes``, ``/repr``  state_dict layout and repr()
- ``func/{name}/...``  inputs and results of F.batch_norm / F.layer_norm / F.group_norm calls
- ``errors/batch_of_one``  PyTorch's message for BatchNorm1d training on a (1, C) batch
"""

import json
import pathlib
import sys
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "torch_norm.npz"

# name, layer, args, kwargs, input shape, mode ("train" / "eval"), double backward?
CASES = [
    ("bn1d_nc", "BatchNorm1d", [4], {}, [6, 4], "train", True),
    ("bn1d_ncl", "BatchNorm1d", [3], {}, [4, 3, 5], "train", False),
    ("bn1d_no_affine", "BatchNorm1d", [4], {"affine": False}, [6, 4], "train", False),
    ("bn1d_one_channel", "BatchNorm1d", [1], {}, [5, 1], "train", False),
    ("bn1d_eval", "BatchNorm1d", [3], {}, [4, 3, 5], "eval", False),
    ("bn2d", "BatchNorm2d", [3], {}, [3, 3, 4, 4], "train", True),
    ("bn2d_eps_momentum", "BatchNorm2d", [3], {"eps": 1e-3, "momentum": 0.3}, [2, 3, 4, 4], "train", False),
    ("bn2d_cumulative", "BatchNorm2d", [3], {"momentum": None}, [2, 3, 4, 4], "train", False),
    ("bn2d_no_bias", "BatchNorm2d", [3], {"bias": False}, [2, 3, 4, 4], "train", False),
    ("bn2d_eval", "BatchNorm2d", [3], {}, [3, 3, 4, 4], "eval", True),
    ("bn2d_eval_no_affine", "BatchNorm2d", [3], {"affine": False}, [2, 3, 4, 4], "eval", False),
    ("bn2d_untracked_eval", "BatchNorm2d", [3], {"track_running_stats": False}, [3, 3, 4, 4], "eval", False),
    ("bn2d_untracked_train", "BatchNorm2d", [3], {"track_running_stats": False}, [3, 3, 4, 4], "train", False),
    ("ln_last", "LayerNorm", [5], {}, [3, 4, 5], "train", True),
    ("ln_two_dims", "LayerNorm", [[4, 5]], {}, [3, 4, 5], "train", False),
    ("ln_no_bias", "LayerNorm", [5], {"bias": False}, [3, 4, 5], "train", False),
    ("ln_no_affine", "LayerNorm", [5], {"elementwise_affine": False, "eps": 1e-3}, [6, 5], "eval", False),
    ("ln_whole", "LayerNorm", [[2, 3]], {}, [2, 3], "train", False),
    ("gn", "GroupNorm", [2, 6], {}, [3, 6, 4, 4], "train", True),
    ("gn_ncl", "GroupNorm", [3, 6], {"eps": 1e-3}, [2, 6, 5], "train", False),
    ("gn_one_group_no_affine", "GroupNorm", [1, 4], {"affine": False}, [2, 4, 3, 3], "train", False),
    ("gn_no_bias", "GroupNorm", [2, 4], {"bias": False}, [2, 4, 3], "train", False),
    ("gn_instance", "GroupNorm", [4, 4], {}, [2, 4, 3, 3], "eval", False),
]

# Train/eval sequences: the mode of each step, on a fresh batch each time.
SEQUENCES = [
    ("bn1d_nc", "BatchNorm1d", [4], {}, [8, 4]),
    ("bn1d_ncl", "BatchNorm1d", [3], {"momentum": 0.25}, [4, 3, 6]),
    ("bn2d", "BatchNorm2d", [3], {}, [3, 3, 4, 4]),
    ("bn2d_cumulative", "BatchNorm2d", [3], {"momentum": None}, [3, 3, 4, 4]),
    ("bn2d_untracked", "BatchNorm2d", [3], {"track_running_stats": False}, [3, 3, 4, 4]),
]
STEPS = ["train", "train", "train", "eval", "train", "train", "eval", "train", "eval"]

MODULES = [
    ("bn1d", "BatchNorm1d", [4], {}),
    ("bn2d_no_affine", "BatchNorm2d", [3], {"affine": False}),
    ("bn2d_untracked", "BatchNorm2d", [3], {"track_running_stats": False}),
    ("bn1d_cumulative", "BatchNorm1d", [5], {"momentum": None, "eps": 1e-3}),
    ("bn2d_no_bias", "BatchNorm2d", [3], {"bias": False}),
    ("ln", "LayerNorm", [[4, 5]], {}),
    ("ln_no_bias", "LayerNorm", [5], {"bias": False}),
    ("ln_no_affine", "LayerNorm", [5], {"elementwise_affine": False}),
    ("gn", "GroupNorm", [2, 6], {}),
    ("gn_no_affine", "GroupNorm", [2, 6], {"affine": False, "eps": 1e-4}),
    ("gn_no_bias", "GroupNorm", [1, 3], {"bias": False}),
]


def rng_for(name, stream):
    return np.random.default_rng([zlib.crc32(name.encode()), stream])


def numpy_of(tensor):
    return tensor.detach().cpu().numpy().copy()


def build(torch, layer, args, kwargs):
    return getattr(torch.nn, layer)(*[tuple(a) if isinstance(a, list) else a for a in args], **kwargs)


def run_case(torch, case, store):
    name, layer, args, kwargs, shape, mode, double = case
    prefix = f"layer/{name}"
    rng = rng_for(name, 0)
    x = rng.standard_normal(shape) * 1.5 + 0.5
    module = build(torch, layer, args, kwargs)
    params = {p: 1 + 0.3 * rng.standard_normal(tuple(t.shape)) for p, t in module.named_parameters()}
    buffers = {}
    for b, t in module.named_buffers():
        if b == "running_mean":
            buffers[b] = 0.4 * rng.standard_normal(tuple(t.shape))
        elif b == "running_var":
            buffers[b] = 0.5 + rng.random(tuple(t.shape))
        else:
            buffers[b] = np.array(3, dtype=np.int64)
    store[f"{prefix}/x"] = x
    for p, value in params.items():
        store[f"{prefix}/param/{p}"] = value
    for b, value in buffers.items():
        store[f"{prefix}/buffer/{b}"] = value
    v = None
    for dtype, suffix in ((torch.float64, ""), (torch.float32, "_32")):
        module = build(torch, layer, args, kwargs).to(dtype)
        with torch.no_grad():
            for p, param in module.named_parameters():
                param.copy_(torch.tensor(params[p]))
            for b, buffer in module.named_buffers():
                buffer.copy_(torch.tensor(buffers[b]))
        module.train(mode == "train")
        leaf = torch.tensor(x, dtype=dtype, requires_grad=True)
        out = module(leaf)
        if v is None:
            v = rng_for(name, 1).standard_normal(tuple(out.shape))
            store[f"{prefix}/v"] = v
        loss = (out * torch.tensor(v, dtype=dtype)).sum()
        inputs = [leaf] + [param for _, param in module.named_parameters()]
        grads = torch.autograd.grad(loss, inputs, create_graph=double and suffix == "")
        store[f"{prefix}/out{suffix}"] = numpy_of(out)
        store[f"{prefix}/grad_x{suffix}"] = numpy_of(grads[0])
        for (p, _), grad in zip(module.named_parameters(), grads[1:]):
            store[f"{prefix}/grad/{p}{suffix}"] = numpy_of(grad)
        for b, buffer in module.named_buffers():
            store[f"{prefix}/after/{b}{suffix}"] = numpy_of(buffer)
        if double and suffix == "":
            u = rng_for(name, 2).standard_normal(shape)
            store[f"{prefix}/u"] = u
            second = torch.autograd.grad((grads[0] * torch.tensor(u)).sum(), inputs, allow_unused=True)
            for (p, tensor), grad in zip([("x", leaf)] + list(module.named_parameters()), second):
                key = f"{prefix}/gg_x" if p == "x" else f"{prefix}/gg/{p}"
                zero = torch.zeros_like(tensor)  # None: the first derivative does not depend on it
                store[key] = numpy_of(grad if grad is not None else zero)


def run_sequence(torch, sequence, store):
    name, layer, args, kwargs, shape = sequence
    prefix = f"seq/{name}"
    torch.manual_seed(0)
    module = build(torch, layer, args, kwargs)
    rng = rng_for(name, 3)
    with torch.no_grad():  # non-trivial affine parameters
        for _, param in module.named_parameters():
            param.copy_(torch.tensor(1 + 0.3 * rng.standard_normal(tuple(param.shape))))
    for p, param in module.named_parameters():
        store[f"{prefix}/param/{p}"] = numpy_of(param)
    for i, mode in enumerate(STEPS):
        x = (rng.standard_normal(shape) * (1 + i * 0.2) + i * 0.3).astype(np.float32)
        store[f"{prefix}/x{i}"] = x
        module.train(mode == "train")
        with torch.no_grad():
            out = module(torch.tensor(x))
        store[f"{prefix}/out{i}"] = numpy_of(out)
        for b, buffer in module.named_buffers():
            store[f"{prefix}/{b}{i}"] = numpy_of(buffer)


def run_module(torch, spec, store):
    name, layer, args, kwargs = spec
    module = build(torch, layer, args, kwargs)
    state = module.state_dict()
    store[f"module/{name}/keys"] = np.array(list(state))
    store[f"module/{name}/shapes"] = np.array([str(tuple(t.shape)) for t in state.values()])
    store[f"module/{name}/dtypes"] = np.array([str(t.dtype).replace("torch.", "") for t in state.values()])
    store[f"module/{name}/repr"] = np.array(repr(module))


def run_functional(torch, store):
    F = torch.nn.functional
    rng = rng_for("functional", 0)
    specs = {}
    # batch_norm in training with running statistics to update, weight only
    x, rm, rv, w = rng.standard_normal((5, 3, 4)), rng.standard_normal(3), 0.5 + rng.random(3), rng.standard_normal(3)
    running_mean, running_var = torch.tensor(rm), torch.tensor(rv)
    out = F.batch_norm(torch.tensor(x), running_mean, running_var, torch.tensor(w), None, True, 0.2, 1e-4)
    store.update({"func/bn_train/x": x, "func/bn_train/rm": rm, "func/bn_train/rv": rv, "func/bn_train/w": w})
    store["func/bn_train/out"], store["func/bn_train/rm_after"] = numpy_of(out), numpy_of(running_mean)
    store["func/bn_train/rv_after"] = numpy_of(running_var)
    specs["bn_train"] = {"momentum": 0.2, "eps": 1e-4}
    # batch_norm in evaluation, bias only; and training without running statistics
    b = rng.standard_normal(3)
    store["func/bn_eval/b"] = b
    eval_out = F.batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv), None, torch.tensor(b))
    store["func/bn_eval/out"] = numpy_of(eval_out)
    store["func/bn_batch_only/out"] = numpy_of(F.batch_norm(torch.tensor(x), None, None, training=True))
    # layer_norm and group_norm with and without affine parameters
    y = rng.standard_normal((2, 6, 3))
    lw, lb, gw, gb = (rng.standard_normal(s) for s in ((6, 3), (6, 3), (6,), (6,)))
    store.update({"func/y": y, "func/ln/w": lw, "func/ln/b": lb, "func/gn/w": gw, "func/gn/b": gb})
    store["func/ln/out"] = numpy_of(F.layer_norm(torch.tensor(y), (6, 3), torch.tensor(lw), torch.tensor(lb), 1e-3))
    store["func/ln_plain/out"] = numpy_of(F.layer_norm(torch.tensor(y), (3,)))
    store["func/gn/out"] = numpy_of(F.group_norm(torch.tensor(y), 3, torch.tensor(gw), torch.tensor(gb), 1e-4))
    store["func/gn_plain/out"] = numpy_of(F.group_norm(torch.tensor(y), 2))
    store["functional"] = np.array(json.dumps(specs))


def run_errors(torch, store):
    try:
        torch.nn.BatchNorm1d(3)(torch.zeros(1, 3))
    except ValueError as error:
        store["errors/batch_of_one"] = np.array(str(error))
    else:
        raise AssertionError("PyTorch accepted a batch of one")


def main():
    try:
        import torch
    except ImportError:
        sys.exit(f"make_torch_fixtures_norm.py needs PyTorch; the tests read the committed {OUTPUT.name}")
    store = {}
    for case in CASES:
        run_case(torch, case, store)
    for sequence in SEQUENCES:
        run_sequence(torch, sequence, store)
    for spec in MODULES:
        run_module(torch, spec, store)
    run_functional(torch, store)
    run_errors(torch, store)
    store["cases"] = np.array(json.dumps(CASES))
    store["sequences"] = np.array(json.dumps(SEQUENCES))
    store["steps"] = np.array(STEPS)
    store["modules"] = np.array(json.dumps(MODULES))
    store["meta/torch_version"] = np.array(torch.__version__)
    np.savez_compressed(OUTPUT, **store)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(store)} arrays, {OUTPUT.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
