"""Write tests/fixtures/torch_loss.npz: PyTorch's values for every loss and option combination.

Run it where PyTorch is installed (tests/test_losses.py reads the file and never imports torch)::

    /work/torchenv/bin/python scripts/make_torch_fixtures_loss.py

Each case is a call ``F.<fn>(input, target, **kwargs)``, described in the file so that the tests
make the same call in chainrule:

- ``meta/specs``      JSON {case: {"fn", "module" (the nn class, null if it has no such option),
                      "kwargs", "input", "target" (keys under data/), "arrays" ({kwarg: key}, e.g.
                      weight), "layout64", "layout32" ([name, shape] of each packed result)}}
- ``data/{key}``      the inputs, shared between cases: float64, or int64 class indices
- ``{case}/64``       packed float64 results: v (the upstream gradient, L = sum(out * v)), out,
                      grad_input, grad_target (float targets only), in the order of layout64
- ``{case}/32``       the same computed in float32 (inputs and v cast): out32, grad_input32, ...

(Results are packed into two arrays per case because a .npz entry costs ~300 bytes of headers.)
``meta/torch_version`` records the PyTorch that made the file.
"""

import json
import pathlib
import sys
import warnings
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "torch_loss.npz"

REDUCTIONS = ("none", "mean", "sum")
MODULES = {
    "mse_loss": "MSELoss",
    "l1_loss": "L1Loss",
    "huber_loss": "HuberLoss",
    "smooth_l1_loss": "SmoothL1Loss",
    "cross_entropy": "CrossEntropyLoss",
    "nll_loss": "NLLLoss",
    "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "kl_div": "KLDivLoss",
}


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def class_indices(rng, shape, n_classes, ignore=None, ignored=0):
    """int64 indices in [0, C); the first ``ignored`` entries (flattened) set to ``ignore``."""
    target = rng.integers(0, n_classes, size=shape).astype(np.int64)
    if ignored:
        target.reshape(-1)[:ignored] = ignore
    return target


def cases():
    """(name, fn, kwargs, input key, target key, {kwarg: key}) for every combination the tests cover,
    and the arrays they share, by key."""
    data, out = {}, []

    def put(key, array):
        data[key] = array
        return key

    def add(name, fn, x, target, arrays=None, reductions=REDUCTIONS, **kwargs):
        for r in reductions:
            out.append((f"{name}_{r}", fn, dict(kwargs, reduction=r), x, target, arrays or {}))

    # -- regression, (4, 3) with every option; differences on both sides of delta and beta
    rng = rng_for("regression")
    x, y = put("regression/x", rng.standard_normal((4, 3)) * 1.5), put("regression/y", rng.standard_normal((4, 3)))
    weight = {"weight": put("regression/weight", rng.uniform(0.5, 2.0, size=(4, 3)))}
    add("mse", "mse_loss", x, y)
    add("l1", "l1_loss", x, y)
    add("huber", "huber_loss", x, y)
    add("huber_delta", "huber_loss", x, y, delta=0.6)
    add("smooth_l1", "smooth_l1_loss", x, y)
    add("smooth_l1_beta", "smooth_l1_loss", x, y, beta=0.7)
    add("smooth_l1_beta0", "smooth_l1_loss", x, y, beta=0.0)
    add("mse_weight", "mse_loss", x, y, weight)
    add("l1_weight", "l1_loss", x, y, weight)
    add("huber_weight", "huber_loss", x, y, weight, delta=0.8)
    rng = rng_for("regression3d")  # and (2, 3, 4)
    x, y = (
        put("regression3d/x", rng.standard_normal((2, 3, 4)) * 1.5),
        put("regression3d/y", rng.standard_normal((2, 3, 4))),
    )
    for fn in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"):
        add(f"{fn.replace('_loss', '')}_3d", fn, x, y, reductions=("none", "mean"))

    # -- cross-entropy and NLL with class indices: (N, C), (C,), (N, C, d1), (N, C, d1, d2)
    for tag, shape in {"2d": (6, 4), "1d": (4,), "3d": (2, 4, 3), "4d": (2, 3, 2, 2)}.items():
        rng = rng_for(f"classes{tag}")
        n_classes = shape[0] if len(shape) == 1 else shape[1]
        target_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
        logits = rng.standard_normal(shape) * 2
        x = put(f"classes{tag}/x", logits)
        log_probs = put(f"classes{tag}/log_probs", np.log(softmax(logits, axis=0 if len(shape) == 1 else 1)))
        target = put(f"classes{tag}/target", class_indices(rng, target_shape, n_classes))
        weight = {"weight": put(f"classes{tag}/weight", rng.uniform(0.3, 2.0, size=n_classes))}
        reductions = REDUCTIONS if tag in ("2d", "1d") else ("none", "mean")
        if tag == "4d":
            names = ("ce", "ce_weight_smooth", "ce_ignore_weight_smooth", "nll_ignore")
        else:
            names = ("ce", "ce_weight", "ce_smooth", "ce_weight_smooth", "nll", "nll_weight")
            names += ("ce_ignore", "ce_ignore_weight_smooth", "ce_ignore_index1", "nll_ignore") if target_shape else ()
        if target_shape:
            ignored = put(f"classes{tag}/ignored", class_indices(rng, target_shape, n_classes, ignore=-100, ignored=2))
        calls = {
            "ce": (x, target, None, {}),
            "ce_weight": (x, target, weight, {}),
            "ce_smooth": (x, target, None, {"label_smoothing": 0.2}),
            "ce_weight_smooth": (x, target, weight, {"label_smoothing": 0.3}),
            "nll": (log_probs, target, None, {}),
            "nll_weight": (log_probs, target, weight, {}),
        }
        if target_shape:
            calls["ce_ignore"] = (x, ignored, None, {})
            calls["ce_ignore_weight_smooth"] = (x, ignored, weight, {"label_smoothing": 0.1})
            calls["ce_ignore_index1"] = (x, target, weight, {"ignore_index": 1})
            calls["nll_ignore"] = (log_probs, ignored, weight, {})
        for name in names:
            inputs, targets, arrays, kwargs = calls[name]
            fn = "nll_loss" if name.startswith("nll") else "cross_entropy"
            add(f"{name}_{tag}", fn, inputs, targets, arrays, reductions=reductions, **kwargs)

    # -- cross-entropy with class probabilities (float targets of the input's shape)
    for tag, shape in {"2d": (5, 4), "1d": (4,), "3d": (2, 4, 3)}.items():
        rng = rng_for(f"probabilities{tag}")
        class_dim = 0 if len(shape) == 1 else 1
        x = put(f"probabilities{tag}/x", rng.standard_normal(shape) * 2)
        target = put(f"probabilities{tag}/target", softmax(rng.standard_normal(shape), axis=class_dim))
        weight = {"weight": put(f"probabilities{tag}/weight", rng.uniform(0.3, 2.0, size=shape[class_dim]))}
        reductions = REDUCTIONS if tag == "2d" else ("none", "mean")
        add(f"ce_prob_{tag}", "cross_entropy", x, target, reductions=reductions)
        add(f"ce_prob_weight_{tag}", "cross_entropy", x, target, weight, reductions=reductions)
        add(f"ce_prob_weight_smooth_{tag}", "cross_entropy", x, target, weight, reductions, label_smoothing=0.25)

    # -- binary cross-entropy on probabilities and on logits, (4, 3); weights broadcast
    rng = rng_for("binary")
    shape = (4, 3)
    probabilities = put("binary/probabilities", rng.uniform(0.05, 0.95, size=shape))
    logits = put("binary/logits", rng.standard_normal(shape) * 3)
    soft = put("binary/soft_target", rng.uniform(0, 1, size=shape))
    hard = put("binary/hard_target", (rng.uniform(0, 1, size=shape) > 0.5).astype(np.float64))
    element_weight = put("binary/element_weight", rng.uniform(0.5, 2.0, size=shape))
    class_weight = put("binary/class_weight", rng.uniform(0.5, 2.0, size=(3,)))
    pos_weight = put("binary/pos_weight", rng.uniform(0.5, 3.0, size=(3,)))
    add("bce", "binary_cross_entropy", probabilities, soft)
    add("bce_hard", "binary_cross_entropy", probabilities, hard)
    add("bce_weight", "binary_cross_entropy", probabilities, soft, {"weight": element_weight})
    add("bce_class_weight", "binary_cross_entropy", probabilities, hard, {"weight": class_weight})
    add("bcel", "binary_cross_entropy_with_logits", logits, soft)
    add("bcel_weight", "binary_cross_entropy_with_logits", logits, hard, {"weight": class_weight})
    add("bcel_pos_weight", "binary_cross_entropy_with_logits", logits, soft, {"pos_weight": pos_weight})
    both = {"weight": element_weight, "pos_weight": pos_weight}
    add("bcel_both", "binary_cross_entropy_with_logits", logits, hard, both)

    # -- KL divergence: log-probabilities against probabilities or log-probabilities
    rng = rng_for("kl")
    log_q = put("kl/log_q", np.log(softmax(rng.standard_normal((4, 5)), axis=1)))
    p = softmax(rng.standard_normal((4, 5)), axis=1)
    target, log_target = put("kl/p", p), put("kl/log_p", np.log(p))
    add("kl", "kl_div", log_q, target, reductions=REDUCTIONS + ("batchmean",))
    add("kl_log_target", "kl_div", log_q, log_target, reductions=REDUCTIONS + ("batchmean",), log_target=True)
    return data, out


def numpy_of(tensor):
    return tensor.detach().cpu().numpy().copy()


def pack(arrays):
    """Named arrays as one flat array and their (name, shape) layout, to keep the file small."""
    layout = [[name, list(array.shape)] for name, array in arrays.items()]
    return np.concatenate([np.ravel(array) for array in arrays.values()]), layout


def run(torch, name, fn, kwargs, x_key, target_key, arrays, data):
    """PyTorch's values for one case: its spec and its packed float64 and float32 results."""
    functional = getattr(torch.nn.functional, fn)
    x, target = data[x_key], data[target_key]
    is_float_target = target.dtype.kind == "f"
    results = {}
    v = None
    for dtype, suffix in ((torch.float64, ""), (torch.float32, "32")):
        leaf = torch.tensor(x, dtype=dtype, requires_grad=True)
        t = torch.tensor(target, dtype=dtype if is_float_target else torch.int64, requires_grad=is_float_target)
        extra = {key: torch.tensor(data[value], dtype=dtype) for key, value in arrays.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kl_div's 'mean' warning
            out = functional(leaf, t, **extra, **kwargs)
        if v is None:
            v = rng_for(name + "/v").standard_normal(tuple(out.shape))
            results["v"] = v
        (out * torch.tensor(v, dtype=dtype)).sum().backward()
        results[f"out{suffix}"] = numpy_of(out)
        results[f"grad_input{suffix}"] = numpy_of(leaf.grad)
        if is_float_target:
            results[f"grad_target{suffix}"] = numpy_of(t.grad)
    values64, layout64 = pack({k: a for k, a in results.items() if a.dtype == np.float64})
    values32, layout32 = pack({k: a for k, a in results.items() if a.dtype == np.float32})
    weighted_elementwise = fn in ("mse_loss", "l1_loss", "huber_loss") and arrays  # no module has that weight
    spec = {
        "fn": fn,
        "module": None if weighted_elementwise else MODULES[fn],
        "kwargs": kwargs,
        "input": x_key,
        "target": target_key,
        "arrays": arrays,
        "layout64": layout64,
        "layout32": layout32,
    }
    return spec, values64, values32


def main():
    try:
        import torch
    except ImportError:
        sys.exit(f"make_torch_fixtures_loss.py needs PyTorch; the tests read {OUTPUT.relative_to(ROOT)} without it.")
    data, table = cases()
    store = {f"data/{key}": array for key, array in data.items()}
    specs = {}
    for name, fn, kwargs, x_key, target_key, arrays in table:
        assert name not in specs, f"case {name} repeats"
        specs[name], store[f"{name}/64"], store[f"{name}/32"] = run(
            torch, name, fn, kwargs, x_key, target_key, arrays, data
        )
    store["meta/specs"] = np.array(json.dumps(specs, sort_keys=True))
    store["meta/torch_version"] = np.array(torch.__version__)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUTPUT, **store)
    print(
        f"wrote {OUTPUT.relative_to(ROOT)}: {len(specs)} cases, {len(store)} arrays, "
        f"{OUTPUT.stat().st_size / 1024:.1f} KiB, torch {torch.__version__}"
    )


if __name__ == "__main__":
    main()
