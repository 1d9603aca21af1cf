"""Write tests/fixtures/torch_rnn.npz: PyTorch's values for chainrule's recurrent layers, cells and Embedding.

Run it where PyTorch is installed (the tests never import torch)::

    /work/torchenv/bin/python scripts/make_torch_fixtures_rnn.py

Each case builds the PyTorch module, copies random weights (NumPy, seeded by the case name) into
it, runs it in float64 and in float32 and backpropagates L = Σ_k Σ(out_k ⊙ v_k) over every output
(output, h_n, c_n; or the cell's h', c'). Keys, for case ``c``:

- ``c/config``  JSON: the class name, constructor args and kwargs, and whether states are passed
- ``c/x``, ``c/state/{j}`` (h_0, c_0 if passed), ``c/v/{k}``  inputs, float64
- ``c/params``  every parameter's values, flattened and concatenated in named_parameters() order
  (which is the state_dict's order: these modules have no buffers)
- ``c/out/{k}``, ``c/grad_x``, ``c/grad_state/{j}``, ``c/grads``  PyTorch's results in float64
  (``c/grads`` flattened like ``c/params``), and the same with suffix ``_32`` from the float32 run
  (the same values rounded to float32)
- ``c/state_dict``  state_dict keys in order, ``c/state_shapes`` their shapes as text
(Parameters are packed into one array per case to keep the file small.)

Embedding cases use integer indices ``c/x`` and have no states.
"""

import json
import pathlib
import sys
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "torch_rnn.npz"

T, N, IN, H = 5, 2, 3, 4
DEEP = {"num_layers": 2, "bidirectional": True}

# name, class, constructor kwargs, input shape, pass initial states?
CASES = [
    ("rnn_tanh", "RNN", {**DEEP}, (T, N, IN), True),
    ("rnn_tanh_batch_first", "RNN", {**DEEP, "batch_first": True}, (N, T, IN), False),
    ("rnn_relu", "RNN", {**DEEP, "nonlinearity": "relu", "batch_first": True}, (N, T, IN), True),
    ("rnn_relu_nobias_unbatched", "RNN", {"nonlinearity": "relu", "bias": False}, (T, IN), True),
    ("lstm", "LSTM", {**DEEP}, (T, N, IN), True),
    ("lstm_batch_first", "LSTM", {**DEEP, "batch_first": True}, (N, T, IN), False),
    ("lstm_batch_first_states", "LSTM", {**DEEP, "batch_first": True}, (N, T, IN), True),
    ("lstm_nobias", "LSTM", {"num_layers": 2, "bias": False}, (T, N, IN), True),
    ("lstm_unbatched", "LSTM", {**DEEP}, (T, IN), True),
    ("lstm_unbatched_nohx", "LSTM", {"bidirectional": True}, (T, IN), False),
    ("gru", "GRU", {**DEEP}, (T, N, IN), True),
    ("gru_batch_first", "GRU", {**DEEP, "batch_first": True}, (N, T, IN), False),
    ("gru_nobias", "GRU", {"num_layers": 2, "bias": False, "bidirectional": True}, (T, N, IN), True),
    ("gru_unbatched", "GRU", {"num_layers": 2}, (T, IN), True),
    ("rnn_cell", "RNNCell", {}, (N, IN), True),
    ("rnn_cell_relu_nobias", "RNNCell", {"nonlinearity": "relu", "bias": False}, (N, IN), True),
    ("rnn_cell_unbatched", "RNNCell", {}, (IN,), False),
    ("lstm_cell", "LSTMCell", {}, (N, IN), True),
    ("lstm_cell_nobias_unbatched", "LSTMCell", {"bias": False}, (IN,), True),
    ("lstm_cell_nohx", "LSTMCell", {}, (N, IN), False),
    ("gru_cell", "GRUCell", {}, (N, IN), True),
    ("gru_cell_nobias", "GRUCell", {"bias": False}, (N, IN), True),
    ("gru_cell_unbatched", "GRUCell", {}, (IN,), True),
]
EMBEDDINGS = [
    # name, constructor kwargs, indices
    ("embedding", {"num_embeddings": 7, "embedding_dim": 3}, [[0, 2, 4, 2], [6, 2, 1, 0]]),
    ("embedding_padding", {"num_embeddings": 7, "embedding_dim": 3, "padding_idx": 2}, [[0, 2, 4, 2], [6, 2, 1, 0]]),
    ("embedding_padding_negative", {"num_embeddings": 6, "embedding_dim": 2, "padding_idx": -1}, [5, 0, 5, 3]),
    ("embedding_freq", {"num_embeddings": 5, "embedding_dim": 2, "scale_grad_by_freq": True}, [[1, 1, 3], [1, 4, 3]]),
]


def numpy_of(tensor):
    return tensor.detach().cpu().numpy().copy()


def rng_for(name, stream):
    return np.random.default_rng([zlib.crc32(name.encode()), stream])


def states_shape(cls, kwargs, x_shape):
    """Initial-state shape(s) for a case: (D·L, N, H) or (D·L, H) for layers, (N, H) / (H,) for cells."""
    count = 2 if cls.startswith("LSTM") else 1
    if cls.endswith("Cell"):
        shape = (x_shape[0], H) if len(x_shape) == 2 else (H,)
    else:
        layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
        batch = x_shape[0] if kwargs.get("batch_first") else x_shape[1]
        shape = (layers, batch, H) if len(x_shape) == 3 else (layers, H)
    return [shape] * count


def as_list(result):
    """A module's result as a flat list of tensors: output, h_n(, c_n) or h'(, c')."""
    if isinstance(result, tuple):
        flat = []
        for item in result:
            flat.extend(item if isinstance(item, tuple) else (item,))
        return flat
    return [result]


def run_case(torch, name, cls, kwargs, x_shape, with_states, store):
    store[f"{name}/config"] = np.array(
        json.dumps({"class": cls, "args": [IN, H], "kwargs": kwargs, "states": with_states})
    )
    module = getattr(torch.nn, cls)(IN, H, **kwargs)
    rng = rng_for(name, 0)
    values = {p: rng.uniform(-0.7, 0.7, tuple(t.shape)) for p, t in module.named_parameters()}
    x = rng.standard_normal(x_shape)
    states = [rng.standard_normal(shape) * 0.5 for shape in states_shape(cls, kwargs, x_shape)] if with_states else []
    store[f"{name}/x"] = x
    for j, state in enumerate(states):
        store[f"{name}/state/{j}"] = state
    store[f"{name}/params"] = np.concatenate([value.ravel() for value in values.values()])
    state_dict = module.state_dict()
    store[f"{name}/state_dict"] = np.array(list(state_dict))
    store[f"{name}/state_shapes"] = np.array([str(tuple(t.shape)) for t in state_dict.values()])
    vs = None
    for dtype, suffix in ((torch.float64, ""), (torch.float32, "_32")):
        module = module.to(dtype)
        with torch.no_grad():
            for p, param in module.named_parameters():
                param.copy_(torch.tensor(values[p]))
        module.zero_grad()
        leaf = torch.tensor(x, dtype=dtype, requires_grad=True)
        state_leaves = [torch.tensor(s, dtype=dtype, requires_grad=True) for s in states]
        if not state_leaves:
            result = module(leaf)
        elif cls.startswith("LSTM"):
            result = module(leaf, tuple(state_leaves))
        else:
            result = module(leaf, state_leaves[0])
        outputs = as_list(result)
        if vs is None:
            vrng = rng_for(name, 1)
            vs = [vrng.standard_normal(tuple(out.shape)) for out in outputs]
            for k, v in enumerate(vs):
                store[f"{name}/v/{k}"] = v
        sum((out * torch.tensor(v, dtype=dtype)).sum() for out, v in zip(outputs, vs)).backward()
        for k, out in enumerate(outputs):
            store[f"{name}/out/{k}{suffix}"] = numpy_of(out)
        store[f"{name}/grad_x{suffix}"] = numpy_of(leaf.grad)
        for j, state in enumerate(state_leaves):
            store[f"{name}/grad_state/{j}{suffix}"] = numpy_of(state.grad)
        store[f"{name}/grads{suffix}"] = np.concatenate(
            [numpy_of(p.grad).ravel() for _, p in module.named_parameters()]
        )


def run_embedding(torch, name, kwargs, indices, store):
    store[f"{name}/config"] = np.array(
        json.dumps({"class": "Embedding", "args": [], "kwargs": kwargs, "states": False})
    )
    module = torch.nn.Embedding(**kwargs)
    rng = rng_for(name, 0)
    weight = rng.standard_normal(tuple(module.weight.shape))
    if module.padding_idx is not None:
        weight[module.padding_idx] = 0.0
    x = np.array(indices, dtype=np.int64)
    store[f"{name}/x"] = x
    store[f"{name}/params"] = weight.ravel()
    store[f"{name}/state_dict"] = np.array(list(module.state_dict()))
    store[f"{name}/state_shapes"] = np.array([str(tuple(t.shape)) for t in module.state_dict().values()])
    v = rng_for(name, 1).standard_normal(x.shape + (kwargs["embedding_dim"],))
    store[f"{name}/v/0"] = v
    for dtype, suffix in ((torch.float64, ""), (torch.float32, "_32")):
        module = module.to(dtype)
        with torch.no_grad():
            module.weight.copy_(torch.tensor(weight))
        module.zero_grad()
        out = module(torch.tensor(x))
        (out * torch.tensor(v, dtype=dtype)).sum().backward()
        store[f"{name}/out/0{suffix}"] = numpy_of(out)
        store[f"{name}/grads{suffix}"] = numpy_of(module.weight.grad).ravel()


def main():
    try:
        import torch
    except ImportError:
        sys.exit(f"make_torch_fixtures_rnn.py needs PyTorch; the tests read the committed {OUTPUT.name}")
    store = {}
    for case in CASES:
        run_case(torch, *case, store)
    for case in EMBEDDINGS:
        run_embedding(torch, *case, store)
    store["meta/cases"] = np.array([case[0] for case in CASES] + [case[0] for case in EMBEDDINGS])
    store["meta/torch_version"] = np.array(torch.__version__)
    np.savez_compressed(OUTPUT, **store)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(store)} arrays, {OUTPUT.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
