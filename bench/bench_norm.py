"""chainrule against PyTorch (CPU): BatchNorm2d, LayerNorm and GroupNorm, forward and backward.

The same measuring rules as bench_core.py, whose helpers this script imports: both frameworks in
one process, interleaved, the order reversed on every other repetition, medians over repetitions,
each thread count in its own child process with OMP/OPENBLAS/MKL_NUM_THREADS set before NumPy
loads its BLAS. Ratios are chainrule time / PyTorch time (below 1 means chainrule is faster).

    python bench/bench_norm.py                          # 1 and 2 threads, 7 repetitions
    python bench/bench_norm.py --threads 1 --bench bn2d_train,ln_train

Benchmarks (float32, the same input and upstream gradient on both sides):
  bn2d_train  nn.BatchNorm2d(16) in training mode on (64, 16, 28, 28) (a first conv layer's output
              on Fashion-MNIST): forward, running-statistics update, out.backward(v)
  bn2d_eval   the same layer in eval mode, forward alone under no_grad
  ln_train    nn.LayerNorm(256) on (64, 50, 256): forward and out.backward(v)
  gn_train    nn.GroupNorm(4, 16) on (32, 16, 28, 28): forward and out.backward(v)
Before timing, one step on each side is compared: outputs, input and parameter gradients.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_core as core  # noqa: E402 - bench/ is a folder of scripts; reuse the measuring helpers

CASES = {  # name: (layer, args, input shape, training, backward)
    "bn2d_train": ("BatchNorm2d", (16,), (64, 16, 28, 28), True, True),
    "bn2d_eval": ("BatchNorm2d", (16,), (64, 16, 28, 28), False, False),
    "ln_train": ("LayerNorm", (256,), (64, 50, 256), True, True),
    "gn_train": ("GroupNorm", (4, 16), (32, 16, 28, 28), True, True),
}


def main():
    core.layer_bench_main(__file__, __doc__, CASES, lambda name, libs, args: bench_case(libs, args, name))


# ---------------------------------------------------------------------------------------- child
def make_step(lib, layer, layer_args, x_array, v_array, training, backward):
    """One call of the benchmark on ``lib``; returns (step, outputs for the sanity check)."""
    module = getattr(lib.nn, layer)(*layer_args).train(training)
    x = lib.from_numpy(x_array.copy()).requires_grad_(backward)
    v = lib.from_numpy(v_array.copy())
    params = list(module.parameters())

    def step():
        if not backward:
            with lib.no_grad():
                return module(x)
        for tensor in [x] + params:
            tensor.grad = None
        out = module(x)
        out.backward(v)
        return out

    def results():
        out = step()
        grads = [x.grad] + [p.grad for p in params] if backward else []
        return [out.detach().numpy().copy()] + [g.numpy().copy() for g in grads]

    return step, results


def bench_case(libs, args, name):
    import numpy as np

    layer, layer_args, shape, training, backward = CASES[name]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    v = rng.standard_normal(shape).astype(np.float32)
    present = {side: lib for side, lib in libs.items() if lib is not None}
    sides, outputs = {}, {}
    for side, lib in present.items():
        sides[side], results = make_step(lib, layer, layer_args, x, v, training, backward)
        outputs[side] = results()
    if "pytorch" in outputs:
        worst = max(core.rel_err(a, b) for a, b in zip(outputs["chainrule"], outputs["pytorch"]))
        check = f"sanity: output and gradients agree with PyTorch (max rel. error {worst:.1e})"
        if worst > 1e-4:
            check = f"SANITY FAILURE: output or gradients differ from PyTorch (max rel. error {worst:.1e})"
    else:
        check = "sanity: PyTorch not available, nothing to compare with"
    stats, calls = core.run_interleaved(sides, args.reps, args.seconds, warmup=3)
    stats = {side: core.scaled(value, 1e3) for side, value in stats.items()}
    what = "forward, backward" if backward else "forward under no_grad"
    mode = "train" if training else "eval"
    print(f"[{name}] nn.{layer}{layer_args} ({mode}) on {shape} float32: {what}; {args.reps} reps x {calls} calls, ms")
    for side, value in stats.items():
        print(f"    {side:<20} {value['median']:7.3f}  ({value['min']:.3f}-{value['max']:.3f})")
    row = {"bench": name, "unit": "ms", **stats}
    if "pytorch" in stats:
        row["ratio_torch"] = stats["chainrule"]["median"] / stats["pytorch"]["median"]
        paired = [c / t for c, t in zip(stats["chainrule"]["all"], stats["pytorch"]["all"])]
        print(f"    ratio chainrule/pytorch  {row['ratio_torch']:.2f}x  (per-rep {min(paired):.2f}-{max(paired):.2f})")
    print(f"    {check}")
    return row


if __name__ == "__main__":
    main()
