"""Write tests/fixtures/torch_pool.npz: PyTorch's values for max_pool1d/2d, avg_pool1d/2d,
adaptive_avg_pool2d, their modules and Dropout2d's repr.

Run it where PyTorch is installed (the tests never import torch)::

    /work/torchenv/bin/python scripts/make_torch_fixtures_pool.py

The cases are defined here and stored with the values (``cases`` holds JSON text), so the test
builds the same calls from the fixture alone. Keys:

- ``case/{name}/x``, ``/v``  the input (float64; the float32 run rounds it) and the upstream
  gradient of L = sum(out · v)
- ``case/{name}/out``, ``/grad_x``  PyTorch's output and ∂L/∂x (float64), and the same with suffix
  ``_32`` from a float32 run; ``/indices`` return_indices=True's indices (max pooling only)
- ``repr/{name}``  repr() of the case's module; ``repr/Dropout2d``  of ``nn.Dropout2d(0.3)``

Inputs: "distinct" values are a scaled permutation (no ties, spaced far wider than a finite
difference step); "ties" are small integers (many windows have several maxima); "zeros" is a
ReLU output (whole windows of zeros); "nan" has a few NaNs, twice in some windows.
"""

import json
import pathlib
import sys
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "torch_pool.npz"

# name, function, input shape, kwargs, input values
CASES = [
    ("max2d_k2", "max_pool2d", [2, 2, 6, 6], {"kernel_size": 2}, "distinct"),
    ("max2d_k3_s2_p1", "max_pool2d", [2, 2, 7, 7], {"kernel_size": 3, "stride": 2, "padding": 1}, "distinct"),
    ("max2d_overlap", "max_pool2d", [2, 2, 5, 6], {"kernel_size": 3, "stride": 1}, "distinct"),
    ("max2d_floor_crop", "max_pool2d", [2, 2, 7, 7], {"kernel_size": 2}, "distinct"),
    ("max2d_ceil", "max_pool2d", [2, 2, 7, 7], {"kernel_size": 2, "ceil_mode": True}, "distinct"),
    (
        "max2d_ceil_pad",
        "max_pool2d",
        [1, 2, 8, 8],
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        "distinct",
    ),
    ("max2d_dilation", "max_pool2d", [2, 2, 8, 9], {"kernel_size": 3, "stride": 1, "dilation": 2}, "distinct"),
    (
        "max2d_rect",
        "max_pool2d",
        [2, 2, 7, 9],
        {"kernel_size": [2, 3], "stride": [1, 2], "padding": [1, 1], "dilation": [1, 2]},
        "distinct",
    ),
    ("max2d_unbatched", "max_pool2d", [3, 6, 6], {"kernel_size": 2}, "distinct"),
    ("max2d_ties", "max_pool2d", [2, 3, 6, 6], {"kernel_size": 2}, "ties"),
    ("max2d_ties_overlap", "max_pool2d", [2, 2, 7, 7], {"kernel_size": 3, "stride": 2, "padding": 1}, "ties"),
    ("max2d_relu_zeros", "max_pool2d", [2, 3, 6, 6], {"kernel_size": 2}, "zeros"),
    ("max2d_nan", "max_pool2d", [2, 2, 6, 6], {"kernel_size": 2}, "nan"),
    ("max2d_nan_overlap", "max_pool2d", [2, 2, 6, 6], {"kernel_size": 3, "stride": 1, "padding": 1}, "nan"),
    ("max1d_k2", "max_pool1d", [2, 3, 10], {"kernel_size": 2}, "distinct"),
    (
        "max1d_k3_s2_p1_d2",
        "max_pool1d",
        [2, 3, 11],
        {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2},
        "distinct",
    ),
    ("max1d_ceil", "max_pool1d", [2, 3, 10], {"kernel_size": 3, "stride": 2, "ceil_mode": True}, "distinct"),
    ("max1d_unbatched", "max_pool1d", [3, 9], {"kernel_size": 2}, "distinct"),
    ("max1d_ties", "max_pool1d", [2, 3, 12], {"kernel_size": 3, "stride": 2, "padding": 1}, "ties"),
    ("avg2d_k2", "avg_pool2d", [2, 2, 6, 6], {"kernel_size": 2}, "distinct"),
    ("avg2d_k3_s2_p1", "avg_pool2d", [2, 2, 7, 7], {"kernel_size": 3, "stride": 2, "padding": 1}, "distinct"),
    (
        "avg2d_k3_s2_p1_exclude_pad",
        "avg_pool2d",
        [2, 2, 7, 7],
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
        "distinct",
    ),
    ("avg2d_overlap", "avg_pool2d", [2, 2, 5, 6], {"kernel_size": 3, "stride": 1}, "distinct"),
    ("avg2d_floor_crop", "avg_pool2d", [2, 2, 7, 7], {"kernel_size": 2}, "distinct"),
    (
        "avg2d_ceil",
        "avg_pool2d",
        [2, 2, 7, 7],
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        "distinct",
    ),
    (
        "avg2d_ceil_exclude_pad",
        "avg_pool2d",
        [2, 2, 8, 8],
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
        "distinct",
    ),
    ("avg2d_ceil_no_pad", "avg_pool2d", [2, 2, 7, 7], {"kernel_size": 2, "ceil_mode": True}, "distinct"),
    (
        "avg2d_divisor_override",
        "avg_pool2d",
        [2, 2, 7, 7],
        {"kernel_size": 3, "stride": 2, "padding": 1, "divisor_override": 5},
        "distinct",
    ),
    (
        "avg2d_rect",
        "avg_pool2d",
        [2, 2, 7, 9],
        {"kernel_size": [2, 3], "stride": [1, 2], "padding": [1, 0]},
        "distinct",
    ),
    ("avg2d_unbatched", "avg_pool2d", [3, 6, 6], {"kernel_size": 2}, "distinct"),
    ("avg1d_k2", "avg_pool1d", [2, 3, 10], {"kernel_size": 2}, "distinct"),
    (
        "avg1d_k3_s2_p1_exclude_pad",
        "avg_pool1d",
        [2, 3, 11],
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
        "distinct",
    ),
    (
        "avg1d_ceil",
        "avg_pool1d",
        [2, 3, 10],
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        "distinct",
    ),
    ("avg1d_unbatched", "avg_pool1d", [3, 9], {"kernel_size": 2}, "distinct"),
    ("adaptive_divides", "adaptive_avg_pool2d", [2, 2, 8, 6], {"output_size": [4, 3]}, "distinct"),
    ("adaptive_not_dividing", "adaptive_avg_pool2d", [2, 2, 7, 9], {"output_size": [3, 4]}, "distinct"),
    ("adaptive_larger", "adaptive_avg_pool2d", [2, 2, 5, 4], {"output_size": [7, 3]}, "distinct"),
    ("adaptive_none", "adaptive_avg_pool2d", [2, 2, 7, 5], {"output_size": [3, None]}, "distinct"),
    ("adaptive_int", "adaptive_avg_pool2d", [2, 2, 7, 7], {"output_size": 3}, "distinct"),
    ("adaptive_global", "adaptive_avg_pool2d", [2, 3, 5, 6], {"output_size": 1}, "distinct"),
    ("adaptive_unbatched", "adaptive_avg_pool2d", [3, 7, 9], {"output_size": [4, 5]}, "distinct"),
]

MODULES = {
    "max_pool1d": "MaxPool1d",
    "max_pool2d": "MaxPool2d",
    "avg_pool1d": "AvgPool1d",
    "avg_pool2d": "AvgPool2d",
    "adaptive_avg_pool2d": "AdaptiveAvgPool2d",
}


def make_input(name, shape, kind):
    rng = np.random.default_rng([zlib.crc32(name.encode()), 0])
    n = int(np.prod(shape))
    if kind == "distinct":
        return ((rng.permutation(n) - n / 2) / n * 4).reshape(shape)
    if kind == "ties":
        return rng.integers(0, 3, size=shape).astype(np.float64)
    if kind == "zeros":
        return np.maximum(rng.standard_normal(shape) - 0.8, 0)
    x = rng.standard_normal(shape)  # "nan"
    flat = x.reshape(-1)
    flat[rng.choice(n, size=max(2, n // 12), replace=False)] = np.nan
    flat[1] = flat[0] = np.nan  # two NaNs in the first window
    return x


def as_call_kwargs(kwargs):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}


def numpy_of(tensor):
    return tensor.detach().cpu().numpy().copy()


def run_case(torch, case, store):
    name, function, shape, kwargs, kind = case
    prefix = f"case/{name}"
    x = make_input(name, shape, kind)
    store[f"{prefix}/x"] = x
    call = getattr(torch.nn.functional, function)
    v = None
    for dtype, suffix in ((torch.float64, ""), (torch.float32, "_32")):
        leaf = torch.tensor(x, dtype=dtype, requires_grad=True)
        out = call(leaf, **as_call_kwargs(kwargs))
        if v is None:
            rng = np.random.default_rng([zlib.crc32(name.encode()), 1])
            v = rng.standard_normal(tuple(out.shape))
            store[f"{prefix}/v"] = v
        (out * torch.tensor(v, dtype=dtype)).sum().backward()
        store[f"{prefix}/out{suffix}"] = numpy_of(out)
        store[f"{prefix}/grad_x{suffix}"] = numpy_of(leaf.grad)
    if function.startswith("max"):
        _, indices = call(torch.tensor(x), **as_call_kwargs(kwargs), return_indices=True)
        store[f"{prefix}/indices"] = numpy_of(indices)
    module = getattr(torch.nn, MODULES[function])(**as_call_kwargs(kwargs))
    store[f"repr/{name}"] = np.array(repr(module))


def main():
    try:
        import torch
    except ImportError:
        sys.exit(f"make_torch_fixtures_pool.py needs PyTorch; the tests read the committed {OUTPUT.name}")
    store = {"cases": np.array(json.dumps(CASES)), "modules": np.array(json.dumps(MODULES))}
    for case in CASES:
        run_case(torch, case, store)
    store["repr/Dropout2d"] = np.array(repr(torch.nn.Dropout2d(0.3)))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUTPUT, **store)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(store)} arrays, {OUTPUT.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
