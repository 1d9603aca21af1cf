"""A PyTorch training program, ported to chainrule by changing its imports, retraces PyTorch's run.

The fixture tests/fixtures/torch_port.npz (written by ``scripts/make_torch_fixtures_port.py`` where
PyTorch is installed; these tests never import torch) holds PyTorch's own initial weights, the
row indices of every batch, the loss of every step and the final weights of this program:
a 64-64-32-10 ReLU MLP on scikit-learn's digits (pixels / 16), ``CrossEntropyLoss``,
``Adam(lr=1e-3)``, batch 32, 3 epochs of 56 batches = 168 steps. Side by side, the only change is
the imports (and ``torch.from_numpy`` -> ``cr.from_numpy``)::

    import torch                                      import chainrule as cr
    from torch import nn, optim                       from chainrule import nn, optim

    model = nn.Sequential(                            model = nn.Sequential(
        nn.Linear(64, 64), nn.ReLU(),                     nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 32), nn.ReLU(),                     nn.Linear(64, 32), nn.ReLU(),
        nn.Linear(32, 10))                                nn.Linear(32, 10))
    model = model.to(dtype)                           model = model.to(dtype)
    model.load_state_dict({k: torch.from_numpy(a)     model.load_state_dict({k: cr.from_numpy(a)
                           for k, a in init.items()})                        for k, a in init.items()})
    loss_fn = nn.CrossEntropyLoss()                   loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(),        optimizer = optim.Adam(model.parameters(),
                           lr=1e-3)                                          lr=1e-3)
    x_all = torch.from_numpy(x_all).to(dtype)         x_all = cr.from_numpy(x_all).to(dtype)
    y_all = torch.from_numpy(y_all)                   y_all = cr.from_numpy(y_all)
    for indices in steps:                             for indices in steps:
        x, y = x_all[indices], y_all[indices]             x, y = x_all[indices], y_all[indices]
        optimizer.zero_grad()                             optimizer.zero_grad()
        loss = loss_fn(model(x), y)                       loss = loss_fn(model(x), y)
        loss.backward()                                   loss.backward()
        optimizer.step()                                  optimizer.step()
        losses.append(loss.item())                        losses.append(loss.item())

Tolerances. float32: the fixture script also runs the program in float64 from the same (exactly
cast) weights; PyTorch's float32 run drifts from it by at most 4.5e-7 relative in the losses and
4.4e-7 absolute in the final weights (weights ~0.1-0.3): float32 round-off accumulated over 168
steps, a few ulps (ulp(1) = 1.2e-7). Two correct float32 implementations that sum in different
orders (NumPy's OpenBLAS vs PyTorch's MKL) can each drift that far, in different directions, so
they may differ by ~1e-6: rtol 1e-5 with atol 1e-6 covers that (chainrule was measured at 2.0e-7
relative in the losses and 1.8e-7 absolute in the weights) and still catches small slips: Adam
with eps=1e-7 instead of 1e-8 fails from step 24, betas=(0.9, 0.99) from step 9, weight_decay=1e-4
from step 2. float64: the same drift scaled by 2^-29 is ~1e-15 (measured: 3.8e-16 and 1.8e-16);
rtol 1e-10 / atol 1e-12 (as in test_torch_reference.py) leaves room for different summation
orders and nothing else.
"""

import functools
import hashlib
import pathlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_port.npz"
REGENERATE = "regenerate it with `python scripts/make_torch_fixtures_port.py` where PyTorch is installed"

PRECISIONS = [
    pytest.param(cr.float32, np.float32, "f32/", 1e-5, 1e-6, id="float32"),
    pytest.param(cr.float64, np.float64, "f64/", 1e-10, 1e-12, id="float64"),
]


@functools.cache
def reference():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def stored(key):
    ref = reference()
    if key not in ref:
        pytest.fail(f"{FIXTURE.name} has no {key!r}: {REGENERATE}")
    return ref[key]


def initial_state():
    return {key[len("init/") :]: value for key, value in reference().items() if key.startswith("init/")}


@functools.cache
def digits():
    """scikit-learn's digits as the fixture script made them: (1797, 64) float32 pixels / 16, int64 labels."""
    datasets = pytest.importorskip("sklearn.datasets", reason="the digits data come from scikit-learn")
    bunch = datasets.load_digits()
    return (bunch.data / 16).astype(np.float32), bunch.target.astype(np.int64)


def sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def train(x_all, y_all, init, steps, dtype):
    """The fixture script's ``train``, ported: only the imports and ``torch.`` -> ``cr.`` differ."""
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model = model.to(dtype)
    model.load_state_dict({name: cr.from_numpy(array) for name, array in init.items()})
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    x_all = cr.from_numpy(x_all).to(dtype)
    y_all = cr.from_numpy(y_all)

    losses = []
    for indices in steps:
        x, y = x_all[indices], y_all[indices]
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses), model


def test_data_match_what_pytorch_trained_on():
    x_all, y_all = digits()
    assert x_all.shape == (1797, 64) and y_all.shape == (1797,)
    assert sha256(x_all) == str(stored("data/x_sha256")), "digits features differ from the fixture's"
    assert sha256(y_all) == str(stored("data/y_sha256")), "digits labels differ from the fixture's"
    steps = stored("steps/indices")
    assert steps.shape == (168, 32) and steps.dtype == np.int64
    assert steps.min() >= 0 and steps.max() < len(x_all)
    for epoch in range(3):  # each epoch's 56 batches draw distinct rows (a permutation, last 5 dropped)
        rows = steps[56 * epoch : 56 * (epoch + 1)].ravel()
        assert len(np.unique(rows)) == rows.size


def test_pytorch_state_dict_loads_into_the_ported_model_unchanged():
    init = initial_state()
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    assert list(model.state_dict()) == list(init), "parameter names differ from PyTorch's state_dict keys"
    model.load_state_dict({name: cr.from_numpy(array) for name, array in init.items()})
    for name, value in model.state_dict().items():
        loaded = value.numpy()
        assert loaded.dtype == np.float32, f"{name}: {loaded.dtype}"
        np.testing.assert_array_equal(loaded, init[name], err_msg=name)


@pytest.mark.parametrize("dtype, numpy_dtype, prefix, rtol, atol", PRECISIONS)
def test_ported_program_retraces_pytorch(dtype, numpy_dtype, prefix, rtol, atol):
    x_all, y_all = digits()
    steps = stored("steps/indices")
    init = {name: array.astype(numpy_dtype) for name, array in initial_state().items()}
    losses, model = train(x_all, y_all, init, steps, dtype)

    expected = stored(f"{prefix}losses")
    assert expected.shape == (len(steps),)
    differs = ~np.isclose(losses, expected, rtol=rtol, atol=atol)
    first = int(np.argmax(differs)) if differs.any() else None
    assert first is None, (
        f"{differs.sum()} of {len(steps)} losses differ from PyTorch's; first at step {first}: "
        f"chainrule {losses[first]!r}, PyTorch {expected[first]!r}"
    )
    assert expected[-1] < 0.75 * expected[0], "the reference run should have learned something"

    final = model.state_dict()
    assert list(final) == [k[len(prefix + "final/") :] for k in reference() if k.startswith(prefix + "final/")]
    for name, value in final.items():
        array = value.numpy()
        assert array.dtype == numpy_dtype, f"{name}: dtype {array.dtype}, expected {numpy_dtype.__name__}"
        np.testing.assert_allclose(array, stored(f"{prefix}final/{name}"), rtol=rtol, atol=atol, err_msg=name)
