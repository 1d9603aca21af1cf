"""Write tests/fixtures/torch_nn.npz: PyTorch's values for chainrule.nn's layers, modules and init.

Run it where PyTorch is installed (the tests never import torch)::

    python scripts/make_torch_fixtures_nn.py

The models and layer cases come from tests/nn_models.py, which both libraries run. Keys:

- ``layer/{name}/x``, ``/v``, ``/param/{p}``  the input, the upstream gradient of L = sum(out · v) and
  the parameter values (float64; the float32 run rounds the same values)
- ``layer/{name}/out``, ``/grad_x``, ``/grad/{p}``  PyTorch's output and gradients (float64), and the
  same with suffix ``_32`` from a float32 run
- ``nested/keys``, ``nested/shapes``  state_dict keys in order and their shapes (as text);
  ``nested/parameter_names``, ``nested/buffer_names``, ``nested/module_names``,
  ``nested/children``  the names PyTorch's iterators yield; ``nested/value/{key}`` the state dict
  as arrays, ``nested/x`` and ``nested/out`` an input and the eval-mode output of that model
- ``nested/repr``, ``small/repr``  repr() of the nested model and of a Sequential of every layer
- ``errors/strict``  PyTorch's message for a state dict with a missing key, an unexpected key and
  a shape mismatch
- ``init/fans``  (len(INIT_SHAPES), 2) fan_in, fan_out; ``init/gains``  calculate_gain for GAINS
"""

import pathlib
import sys
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from nn_models import GAINS, INIT_SHAPES, LAYERS, layer_input, nested_model, parameter_values, small_sequential  # noqa: E402

OUTPUT = ROOT / "tests" / "fixtures" / "torch_nn.npz"


def numpy_of(tensor):
    return tensor.detach().cpu().numpy().copy()


def run_layer(torch, layer, store):
    prefix = f"layer/{layer.name}"
    module = layer.build(torch.nn)
    values = parameter_values([(name, tuple(p.shape)) for name, p in module.named_parameters()])
    x = layer_input(layer)
    store[f"{prefix}/x"] = x
    for name, value in values.items():
        store[f"{prefix}/param/{name}"] = value
    v = None
    for dtype, suffix in ((torch.float64, ""), (torch.float32, "_32")):
        module = module.to(dtype)
        with torch.no_grad():
            for name, param in module.named_parameters():
                param.copy_(torch.tensor(values[name]))
        module.zero_grad()
        leaf = torch.tensor(x, dtype=dtype, requires_grad=True)
        out = module(leaf)
        if v is None:
            rng = np.random.default_rng([zlib.crc32(layer.name.encode()), 1])
            v = rng.standard_normal(tuple(out.shape))
            store[f"{prefix}/v"] = v
        (out * torch.tensor(v, dtype=dtype)).sum().backward()
        store[f"{prefix}/out{suffix}"] = numpy_of(out)
        store[f"{prefix}/grad_x{suffix}"] = numpy_of(leaf.grad)
        for name, param in module.named_parameters():
            store[f"{prefix}/grad/{name}{suffix}"] = numpy_of(param.grad)


def run_nested(torch, store):
    torch.manual_seed(0)
    model = nested_model(torch)
    with torch.no_grad():  # non-trivial buffers, so that loading them matters
        for _, buffer in model.named_buffers():
            buffer.copy_(torch.linspace(-0.5, 0.5, buffer.numel()))
    state = model.state_dict()
    store["nested/keys"] = np.array(list(state))
    store["nested/shapes"] = np.array([str(tuple(t.shape)) for t in state.values()])
    for key, tensor in state.items():
        store[f"nested/value/{key}"] = numpy_of(tensor)
    store["nested/parameter_names"] = np.array([name for name, _ in model.named_parameters()])
    store["nested/buffer_names"] = np.array([name for name, _ in model.named_buffers()])
    store["nested/module_names"] = np.array([name for name, _ in model.named_modules()])
    store["nested/children"] = np.array([name for name, _ in model.named_children()])
    x = np.random.default_rng(7).standard_normal((4, 3))
    model.eval()
    store["nested/x"] = x
    store["nested/out"] = numpy_of(model(torch.tensor(x, dtype=torch.float32)))
    store["nested/repr"] = np.array(repr(model))
    store["small/repr"] = np.array(repr(small_sequential(torch)))


def run_errors(torch, store):
    layer = torch.nn.Linear(2, 3)
    bad = {"weight": torch.zeros(3, 4), "running_mean": torch.zeros(3), "extra.bias": torch.zeros(1)}
    try:
        layer.load_state_dict(bad)
    except RuntimeError as error:
        store["errors/strict"] = np.array(str(error))
    else:
        raise AssertionError("PyTorch accepted a bad state dict")


def run_init(torch, store):
    fans = [torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)) for shape in INIT_SHAPES]
    store["init/fans"] = np.array(fans)
    store["init/gains"] = np.array([torch.nn.init.calculate_gain(name, param) for name, param in GAINS])


def main():
    try:
        import torch
    except ImportError:
        sys.exit(f"make_torch_fixtures_nn.py needs PyTorch; the tests read the committed {OUTPUT.name}")
    store = {}
    for layer in LAYERS:
        run_layer(torch, layer, store)
    run_nested(torch, store)
    run_errors(torch, store)
    run_init(torch, store)
    store["meta/torch_version"] = np.array(torch.__version__)
    np.savez_compressed(OUTPUT, **store)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(store)} arrays, {OUTPUT.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
