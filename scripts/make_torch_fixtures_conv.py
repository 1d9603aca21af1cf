"""Write tests/fixtures/torch_conv.npz: PyTorch's values for chainrule's convolutions.

Run it where PyTorch is installed (the tests never import torch)::

    /work/torchenv/bin/python scripts/make_torch_fixtures_conv.py

The case tables below are stored in the fixture as JSON (``cases``, ``modules``), so the tests
replay exactly these calls. Inputs are not stored: ``values(name, shape, part)`` draws them from a
seed made of the case's name, and the tests draw the same ones (x part 0, weight 1, bias 2, the
upstream gradient v of L = sum(out · v) part 3, u_x 4, u_weight 5, module parameter i 10 + i;
the float32 run rounds the same float64 values). Keys, per functional case ``fn/{name}``:

- ``/out``, ``/grad_x``, ``/grad_weight``, ``/grad_bias``: PyTorch's output and gradients in float64,
  and the same with suffix ``_32`` from a float32 run
- for cases marked ``double``: ``/grad2_x``, ``/grad2_weight``, the gradients of
  ⟨u_x, ∂L/∂x⟩ + ⟨u_weight, ∂L/∂w⟩ (double backward), float64

Per module case ``module/{name}`` (float64, parameters drawn from ``values(f"{name}/{p}", ...)``):
``/out``, ``/grad_x``, ``/grad/{p}``, ``/keys`` and ``/shapes`` (state_dict keys in order, shapes
as text) and ``/repr``. ``output_size/out``: ConvTranspose2d's output for a requested output_size.
"""

import json
import pathlib
import sys
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "torch_conv.npz"

# name, function, input shape, weight shape, bias, keyword arguments, double backward
CASES = [
    ("2d_k3_pad1", "conv2d", (2, 3, 7, 7), (4, 3, 3, 3), True, {"padding": 1}, True),
    ("2d_k1_nobias", "conv2d", (2, 4, 5, 5), (6, 4, 1, 1), False, {}, False),
    ("2d_k5_stride2_pad2", "conv2d", (2, 2, 11, 9), (3, 2, 5, 5), True, {"stride": 2, "padding": 2}, False),
    (
        "2d_k2x3_stride3x2_pad1x0",
        "conv2d",
        (2, 2, 10, 9),
        (4, 2, 2, 3),
        True,
        {"stride": (3, 2), "padding": (1, 0)},
        False,
    ),
    ("2d_dilation2", "conv2d", (1, 3, 9, 8), (2, 3, 3, 3), True, {"padding": 2, "dilation": 2}, True),
    ("2d_groups2_stride2", "conv2d", (2, 4, 6, 6), (6, 2, 3, 3), True, {"padding": 1, "stride": 2, "groups": 2}, True),
    ("2d_depthwise_same", "conv2d", (2, 4, 7, 7), (4, 1, 3, 3), True, {"padding": "same", "groups": 4}, False),
    ("2d_depthwise_x2", "conv2d", (2, 3, 6, 6), (6, 1, 3, 3), False, {"groups": 3}, False),
    ("2d_same_even_dilated", "conv2d", (2, 2, 7, 8), (3, 2, 2, 4), True, {"padding": "same", "dilation": (2, 1)}, True),
    ("2d_same_k4", "conv2d", (1, 2, 6, 5), (2, 2, 4, 4), False, {"padding": "same"}, False),
    ("2d_valid_k4", "conv2d", (2, 2, 6, 6), (3, 2, 4, 4), True, {"padding": "valid"}, False),
    ("2d_unbatched", "conv2d", (3, 8, 8), (5, 3, 3, 3), True, {"stride": 2, "padding": 1}, False),
    ("2d_k1x5_pad0x2", "conv2d", (2, 2, 5, 9), (3, 2, 1, 5), True, {"padding": (0, 2)}, False),
    ("2d_k2_stride3_gaps", "conv2d", (2, 2, 9, 10), (2, 2, 2, 2), True, {"stride": 3}, False),
    (
        "2d_dilation_1x2_stride_2x1",
        "conv2d",
        (2, 2, 9, 11),
        (3, 2, 3, 3),
        True,
        {"stride": (2, 1), "dilation": (1, 2), "padding": (1, 2)},
        False,
    ),
    ("1d_k3_pad1", "conv1d", (2, 3, 10), (4, 3, 3), True, {"padding": 1}, True),
    (
        "1d_k5_s2_d2_groups2",
        "conv1d",
        (2, 4, 17),
        (6, 2, 5),
        False,
        {"stride": 2, "dilation": 2, "padding": 3, "groups": 2},
        False,
    ),
    ("1d_same_k4", "conv1d", (2, 2, 9), (3, 2, 4), True, {"padding": "same"}, False),
    ("1d_unbatched_stride3", "conv1d", (3, 12), (2, 3, 2), True, {"stride": 3}, False),
    ("1d_valid_k1", "conv1d", (2, 3, 6), (2, 3, 1), True, {"padding": "valid"}, False),
    (
        "t2d_k3_s2_p1_op1",
        "conv_transpose2d",
        (2, 4, 5, 5),
        (4, 3, 3, 3),
        True,
        {"stride": 2, "padding": 1, "output_padding": 1},
        True,
    ),
    ("t2d_k4_s2_p1_nobias", "conv_transpose2d", (2, 2, 4, 4), (2, 3, 4, 4), False, {"stride": 2, "padding": 1}, False),
    (
        "t2d_groups2_dilation2",
        "conv_transpose2d",
        (2, 4, 4, 5),
        (4, 2, 3, 3),
        True,
        {"stride": (2, 1), "output_padding": (1, 0), "groups": 2, "dilation": 2},
        True,
    ),
    (
        "t2d_k2x3_s3x1_op2",
        "conv_transpose2d",
        (2, 2, 3, 4),
        (2, 2, 2, 3),
        True,
        {"stride": (3, 1), "padding": (0, 1), "output_padding": (2, 0)},
        False,
    ),
    (
        "t2d_op_beyond_padding",
        "conv_transpose2d",
        (1, 2, 4, 4),
        (2, 2, 3, 3),
        True,
        {"dilation": 2, "output_padding": 1},
        True,
    ),
    ("t2d_unbatched", "conv_transpose2d", (3, 4, 4), (3, 2, 3, 3), True, {"stride": 2}, False),
    ("t2d_k1", "conv_transpose2d", (2, 3, 4, 4), (3, 2, 1, 1), True, {}, False),
    (
        "t1d_k3_s2_p1_op1",
        "conv_transpose1d",
        (2, 3, 6),
        (3, 4, 3),
        True,
        {"stride": 2, "padding": 1, "output_padding": 1},
        False,
    ),
    ("t1d_groups3_k4_s3", "conv_transpose1d", (2, 6, 5), (6, 1, 4), False, {"stride": 3, "groups": 3}, False),
]

# name, class, constructor arguments, input shape
MODULES = [
    ("Conv2d_default", "Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}, (2, 3, 6, 6)),
    (
        "Conv2d_nobias_groups",
        "Conv2d",
        {
            "in_channels": 4,
            "out_channels": 6,
            "kernel_size": (2, 3),
            "stride": 2,
            "padding": 1,
            "groups": 2,
            "bias": False,
        },
        (2, 4, 7, 7),
    ),
    (
        "Conv2d_reflect",
        "Conv2d",
        {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"},
        (2, 2, 5, 6),
    ),
    (
        "Conv2d_replicate_same",
        "Conv2d",
        {"in_channels": 2, "out_channels": 3, "kernel_size": 4, "padding": "same", "padding_mode": "replicate"},
        (2, 2, 6, 5),
    ),
    (
        "Conv2d_circular_dilated",
        "Conv2d",
        {
            "in_channels": 2,
            "out_channels": 2,
            "kernel_size": 3,
            "padding": 2,
            "dilation": 2,
            "padding_mode": "circular",
        },
        (1, 2, 6, 7),
    ),
    ("Conv1d_default", "Conv1d", {"in_channels": 3, "out_channels": 5, "kernel_size": 3, "padding": "same"}, (2, 3, 8)),
    (
        "Conv1d_circular",
        "Conv1d",
        {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1, "padding_mode": "circular"},
        (2, 2, 9),
    ),
    (
        "ConvTranspose2d_default",
        "ConvTranspose2d",
        {"in_channels": 4, "out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
        (2, 4, 4, 4),
    ),
    (
        "ConvTranspose2d_groups_nobias",
        "ConvTranspose2d",
        {"in_channels": 4, "out_channels": 6, "kernel_size": 2, "stride": 2, "groups": 2, "bias": False, "dilation": 2},
        (2, 4, 3, 3),
    ),
    (
        "ConvTranspose1d_default",
        "ConvTranspose1d",
        {"in_channels": 3, "out_channels": 2, "kernel_size": 4, "stride": 2, "padding": 1},
        (2, 3, 5),
    ),
]


def values(name, shape, part):
    """Deterministic N(0, 1) values for one array of one case (the same in every run)."""
    return np.random.default_rng([zlib.crc32(name.encode()), part]).standard_normal(shape)


def numpy_of(tensor):
    return tensor.detach().cpu().numpy().copy()


def run_case(torch, case, store):
    name, function, x_shape, w_shape, has_bias, kwargs, double = case
    prefix = f"fn/{name}"
    fn = getattr(torch.nn.functional, function)
    arrays = {"x": values(name, x_shape, 0), "weight": values(name, w_shape, 1)}
    if has_bias:
        transposed = "transpose" in function  # its weight is (in, out/groups, *k)
        channels = w_shape[1] * kwargs.get("groups", 1) if transposed else w_shape[0]
        arrays["bias"] = values(name, (channels,), 2)
    for dtype, suffix in ((torch.float64, ""), (torch.float32, "_32")):
        leaves = {key: torch.tensor(array, dtype=dtype, requires_grad=True) for key, array in arrays.items()}
        out = fn(leaves["x"], leaves["weight"], leaves.get("bias"), **kwargs)
        v = torch.tensor(values(name, tuple(out.shape), 3), dtype=dtype)
        loss = (out * v).sum()
        grads = torch.autograd.grad(loss, list(leaves.values()), create_graph=double and suffix == "")
        store[f"{prefix}/out{suffix}"] = numpy_of(out)
        for key, grad in zip(leaves, grads):
            store[f"{prefix}/grad_{key}{suffix}"] = numpy_of(grad)
        if double and suffix == "":
            u = {key: values(name, arrays[key].shape, 4 + i) for i, key in enumerate(("x", "weight"))}
            second = sum((g * torch.tensor(u[key])).sum() for key, g in zip(leaves, grads) if key in u)
            grad2 = torch.autograd.grad(second, [leaves["x"], leaves["weight"]], allow_unused=True)
            for key, g2 in zip(("x", "weight"), grad2):
                store[f"{prefix}/grad2_{key}"] = numpy_of(g2) if g2 is not None else np.zeros(arrays[key].shape)


def run_module(torch, case, store):
    name, cls, kwargs, x_shape = case
    prefix = f"module/{name}"
    module = getattr(torch.nn, cls)(**kwargs).to(torch.float64)
    state = module.state_dict()
    store[f"{prefix}/keys"] = np.array(list(state))
    store[f"{prefix}/shapes"] = np.array([str(tuple(t.shape)) for t in state.values()])
    store[f"{prefix}/repr"] = np.array(repr(module))
    with torch.no_grad():
        for i, (pname, param) in enumerate(module.named_parameters()):
            value = values(f"{name}/{pname}", tuple(param.shape), 10 + i)
            param.copy_(torch.tensor(value))
    x = values(name, x_shape, 0)
    leaf = torch.tensor(x, requires_grad=True)
    out = module(leaf)
    v = values(name, tuple(out.shape), 3)
    (out * torch.tensor(v)).sum().backward()
    store[f"{prefix}/out"] = numpy_of(out)
    store[f"{prefix}/grad_x"] = numpy_of(leaf.grad)
    for pname, param in module.named_parameters():
        store[f"{prefix}/grad/{pname}"] = numpy_of(param.grad)


def run_output_size(torch, store):
    """ConvTranspose2d.forward(x, output_size=...) picks the output_padding."""
    module = torch.nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1).to(torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(values("output_size", tuple(module.weight.shape), 1)))
        module.bias.copy_(torch.tensor(values("output_size", (3,), 2)))
    x = values("output_size", (1, 2, 4, 4), 0)
    out = module(torch.tensor(x), output_size=(1, 3, 11, 12))
    store["output_size/out"] = numpy_of(out)


def main():
    try:
        import torch
    except ImportError:
        sys.exit(f"make_torch_fixtures_conv.py needs PyTorch; the tests read the committed {OUTPUT.name}")
    store = {"cases": np.array(json.dumps(CASES)), "modules": np.array(json.dumps(MODULES))}
    for case in CASES:
        run_case(torch, case, store)
    for case in MODULES:
        run_module(torch, case, store)
    run_output_size(torch, store)
    store["meta/torch_version"] = np.array(torch.__version__)
    np.savez_compressed(OUTPUT, **store)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(store)} arrays, {OUTPUT.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
