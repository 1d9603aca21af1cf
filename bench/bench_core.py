"""chainrule against PyTorch (CPU) in one run: per-op overhead and an MLP training step.

Both frameworks run in the same process, interleaved: every repetition times each side once, the
order reversed on every other repetition, and the figure is the median over repetitions. Ratios
are chainrule time / PyTorch time (below 1 means chainrule is faster).

    python bench/bench_core.py                        # 1 and 2 BLAS threads, 7 repetitions
    python bench/bench_core.py --threads 1 --reps 5 --json out.json
    python bench/bench_core.py --unset-openblas-coretype

Thread counts are fixed before NumPy loads its BLAS, so the parent re-runs this script once per
count (``--child N``) with OMP/OPENBLAS/MKL_NUM_THREADS=N; ``torch.set_num_threads(N)`` follows.
Without PyTorch installed, chainrule (and the NumPy floor) still run, alone.

Benchmarks
  perop  100 chained elementwise ops (x*a, tanh, x+b, sigmoid, exp) on (8,) float32 tensors that
         require grad, then .sum() and backward: µs per op, forward+backward and forward alone.
  mlp    784-256-128-10 ReLU MLP, batch 128, float32, loss -(log_softmax(z, 1)[arange(N), y]).mean(),
         backward, manual SGD under no_grad (p.sub_(lr * p.grad); p.grad = None). Same initial
         weights and data on every side; a hand-written NumPy step is the floor.
"""

import argparse
import gc
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
OPENBLAS_TUNING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
TARGETS = {"perop": 1.0, "mlp": 0.9}  # chainrule / PyTorch, at most
SIDES = ("chainrule", "pytorch", "numpy")


# --------------------------------------------------------------------------------------- parent
def main():
    args = parse_args()
    if args.child is not None:
        result = run_child(args)
        if args.child_out:
            with open(args.child_out, "w") as f:
                json.dump(result, f)
        return
    threads = [int(n) for n in args.threads.split(",")]
    header = describe_machine(args)
    print_header(header)
    results = run_children(__file__, threads, args.unset_openblas_coretype, child_flags(args))
    print_summary(results, header)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": header, "results": results}, f, indent=2)
        print(f"\nfigures written to {args.json}")


def run_children(script, threads, unset_openblas_coretype, flags):
    """Run ``script --child N`` once per thread count N, with the thread variables set before NumPy
    loads its BLAS; returns {"N": the child's JSON result}."""
    results = {}
    for n in threads:
        env = dict(os.environ)
        env.update({name: str(n) for name in THREAD_VARS})
        if unset_openblas_coretype:
            for name in OPENBLAS_TUNING_VARS:
                env.pop(name, None)
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            out_path = f.name
        command = [sys.executable, os.path.abspath(script), "--child", str(n), "--child-out", out_path]
        command += flags
        sys.stdout.flush()
        finished = subprocess.run(command, env=env)
        if finished.returncode != 0:
            sys.exit(f"child run with {n} thread(s) failed (exit status {finished.returncode})")
        with open(out_path) as f:
            results[str(n)] = json.load(f)
        os.unlink(out_path)
    return results


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="comma-separated BLAS/OpenMP thread counts (default 1,2)")
    parser.add_argument("--reps", type=int, default=7, help="repetitions per benchmark, median reported (>= 5)")
    parser.add_argument("--bench", default="perop,mlp", help="which benchmarks: perop, mlp (default both)")
    parser.add_argument("--seconds", type=float, default=0.25, help="target time of one timed block per side")
    parser.add_argument("--no-torch", action="store_true", help="run chainrule (and NumPy) alone")
    parser.add_argument(
        "--unset-openblas-coretype",
        action="store_true",
        help="remove OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the children's environment",
    )
    parser.add_argument("--json", metavar="PATH", help="write all figures to PATH")
    parser.add_argument("--child", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reps < 5:
        parser.error("--reps must be at least 5")
    return args


def child_flags(args):
    flags = ["--reps", str(args.reps), "--bench", args.bench, "--seconds", str(args.seconds)]
    return flags + (["--no-torch"] if args.no_torch else [])


def layer_bench_main(script, doc, benches, bench, seconds=0.25, alone="chainrule", profile=None, profile_run=None):
    """The parent and child sides of a benchmark script over ``benches`` (bench_train, bench_cnn,
    bench_rnn, bench_norm, bench_examples): parse its arguments, run one child process per thread
    count, in which ``bench(name, libs, args)`` returns each benchmark's summary row (None: skipped);
    with ``--profile STEPS`` (when the script offers it: ``profile`` describes it) one 1-thread child
    calls ``profile_run(cr, args)`` instead. Then print the summary and write the JSON."""
    args = layer_bench_arguments(doc, benches, seconds, alone, profile)
    if args.child is not None:
        result = layer_bench_child(args, bench, profile_run)
        if args.child_out:
            with open(args.child_out, "w") as f:
                json.dump(result, f)
        return
    header = describe_machine(args)
    print_header(header)
    profiling = getattr(args, "profile", None)
    threads = [1] if profiling else [int(n) for n in args.threads.split(",")]
    flags = child_flags(args) + (["--profile", str(profiling)] if profiling else [])
    results = run_children(script, threads, args.unset_openblas_coretype, flags)
    if profiling:
        return
    print_summary(results, header)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": header, "results": results}, f, indent=2)
        print(f"\nfigures written to {args.json}")


def layer_bench_child(args, bench, profile_run=None):
    """One thread count's child process: the libraries, the announcement, then every benchmark."""
    threads = args.child
    cr, torch = child_libraries(args)
    if getattr(args, "profile", None):
        profile_run(cr, args)
        return {"threads": threads, "profile_steps": args.profile}
    pools, busy = announce_child(threads, torch)
    result = {"threads": threads, "threadpools": pools, "other_busy_cores_at_start": busy, "benchmarks": {}}
    libs = {"chainrule": cr, "pytorch": torch}
    for name in args.bench.split(","):
        row = bench(name, libs, args)
        if row is not None:
            result["benchmarks"][name] = row
    print()
    return result


def layer_bench_arguments(doc, benches, seconds, alone, profile):
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="comma-separated BLAS/OpenMP thread counts (default 1,2)")
    parser.add_argument("--reps", type=int, default=7, help="repetitions per benchmark, median reported (>= 5)")
    parser.add_argument("--bench", default=",".join(benches), help=f"which benchmarks: {', '.join(benches)}")
    parser.add_argument("--seconds", type=float, default=seconds, help="target time of one timed block per side")
    parser.add_argument("--no-torch", action="store_true", help=f"run {alone} alone")
    parser.add_argument(
        "--unset-openblas-coretype",
        action="store_true",
        help="remove OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the children's environment",
    )
    if profile:
        parser.add_argument("--profile", type=int, metavar="STEPS", help=f"instead of timing: cProfile STEPS {profile}")
    parser.add_argument("--json", metavar="PATH", help="write all figures to PATH")
    parser.add_argument("--child", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reps < 5:
        parser.error("--reps must be at least 5")
    unknown = set(args.bench.split(",")) - set(benches)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; expected some of {', '.join(benches)}")
    return args


def describe_machine(args):
    """Versions, BLAS libraries, CPU and the OpenBLAS tuning variables, for the header."""
    import numpy as np

    info = {
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average": load_average(),
        "numpy": np.__version__,
        "numpy_blas": numpy_blas(np),
        "openblas_env": {name: os.environ.get(name) for name in OPENBLAS_TUNING_VARS},
        "openblas_env_unset_for_children": bool(args.unset_openblas_coretype),
    }
    chainrule = import_chainrule()
    info["chainrule"] = f"{chainrule.__version__} ({os.path.normpath(os.path.dirname(chainrule.__file__))})"
    torch = None if args.no_torch else import_torch()
    info["torch"] = torch.__version__ if torch else None
    if torch:
        found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
        info["torch_blas"] = found.group(1) if found else "unknown"
    return info


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def numpy_blas(np):
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - older NumPy: no dict mode
        return "unknown (numpy.show_config has no dict mode)"


def print_header(info):
    print("chainrule vs PyTorch (CPU), interleaved in one process; ratio = chainrule time / PyTorch time")
    load = "" if info["load_average"] is None else f"   load average (1 min): {info['load_average']:.2f}"
    print(f"  python {info['python']}   cpu: {info['cpu']}   usable cores: {info['cpus_usable']}{load}")
    print(f"  chainrule {info['chainrule']}")
    print(f"  numpy {info['numpy']}   BLAS: {info['numpy_blas']}")
    if info["torch"]:
        print(f"  torch {info['torch']}   BLAS: {info['torch_blas']}")
    else:
        print("  torch: NOT INSTALLED (or --no-torch) -- chainrule and the NumPy floor run alone, no ratios")
    for name, value in info["openblas_env"].items():
        state = f"set to {value!r}" if value is not None else "not set"
        print(f"  {name}: {state}")
    if info["openblas_env_unset_for_children"]:
        print("  --unset-openblas-coretype: both removed from the benchmark processes' environment")
    print()


def print_summary(results, info):
    print("\nsummary (medians)")
    torch_on = bool(info["torch"])
    print(
        f"  {'threads':>7}  {'benchmark':<22} {'chainrule':>12} {'pytorch':>12} {'numpy':>12}"
        f" {'cr/torch':>9} {'target':>7} {'cr/numpy':>9}"
    )
    for n, result in results.items():
        for name, row in result["benchmarks"].items():
            cell = {side: f"{row[side]['median']:.3g} {row['unit']}" if side in row else "-" for side in SIDES}
            ratio = f"{row['ratio_torch']:.2f}x" if torch_on and "ratio_torch" in row else "-"
            target = f"<={row['target']}x" if torch_on and "target" in row else "-"
            floor = f"{row['ratio_numpy']:.2f}x" if "ratio_numpy" in row else "-"
            print(
                f"  {n:>7}  {name:<22} {cell['chainrule']:>12} {cell['pytorch']:>12} {cell['numpy']:>12}"
                f" {ratio:>9} {target:>7} {floor:>9}"
            )


# ---------------------------------------------------------------------------------------- child
def child_libraries(args):
    """In a child run: set the thread count (when run by hand; the parent sets it already) before
    NumPy loads its BLAS, then import chainrule and, unless --no-torch, PyTorch with that many
    threads. Returns (chainrule, torch or None)."""
    for name in THREAD_VARS:
        os.environ.setdefault(name, str(args.child))
    import numpy as np  # noqa: F401 - loads its BLAS now, with the thread count above

    cr = import_chainrule()
    torch = None if args.no_torch else import_torch()
    if torch:
        torch.set_num_threads(args.child)
    return cr, torch


def announce_child(threads, torch):
    """Print a child run's thread settings, its thread pools and how busy the CPU is; returns
    (the pools' summary, busy cores or None)."""
    print(
        f"=== {threads} thread(s): {', '.join(f'{v}={os.environ.get(v)}' for v in THREAD_VARS)}"
        + (f", torch.get_num_threads()={torch.get_num_threads()}" if torch else "")
    )
    pools = threadpool_summary()
    print(f"    {pools}")
    busy = busy_cores()
    if busy is not None:
        warning = "  -- WARNING: other processes use the CPU; figures (2 threads above all) are unreliable"
        print(f"    cores busy with other work just before the run: {busy:.2f}{'' if busy < 0.25 else warning}")
    return pools, busy


def run_child(args):
    threads = args.child
    cr, torch = child_libraries(args)
    pools, busy = announce_child(threads, torch)
    result = {"threads": threads, "threadpools": pools, "other_busy_cores_at_start": busy, "benchmarks": {}}
    benches = args.bench.split(",")
    if "perop" in benches:
        result["benchmarks"].update(bench_perop(cr, torch, args))
    if "mlp" in benches:
        result["benchmarks"].update(bench_mlp(cr, torch, args))
    print()
    return result


def threadpool_summary():
    try:
        import threadpoolctl
    except ImportError:
        return "threadpoolctl not installed (pip install threadpoolctl to see BLAS/OpenMP pools)"
    parts = []
    for pool in threadpoolctl.threadpool_info():
        arch = f", core type {pool['architecture']}" if pool.get("architecture") else ""
        parts.append(
            f"{pool['internal_api']} {pool.get('version') or ''} ({pool['prefix']}): "
            f"{pool['num_threads']} thread(s){arch}"
        )
    return "threadpools: " + "; ".join(parts) if parts else "threadpools: none found"


def load_average():
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def busy_cores(seconds=0.5):
    """Cores kept busy by other processes while this one sleeps ``seconds`` (Linux /proc/stat);
    None where that cannot be read. The 1-minute load average lags too much to warn with."""

    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 == total0:
        return 0.0
    return (1 - (idle1 - idle0) / (total1 - total0)) * (os.cpu_count() or 1)


def import_chainrule():
    try:
        import chainrule
    except ImportError:  # run from a checkout without installing
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
        import chainrule
    return chainrule


def import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# -------------------------------------------------------------------------------------- timing
def run_interleaved(sides, reps, seconds, warmup):
    """Median seconds per call of each side's function.

    ``sides``: {name: fn}. Every repetition times each side over the same number of calls; the
    order of the sides is reversed on every other repetition so that neither always goes first.
    """
    names = list(sides)
    for name in names:
        for _ in range(warmup):
            sides[name]()
    # calls per timed block: enough for ``seconds`` on the slowest side (best of 3 short trials,
    # so that one disturbed trial does not shrink the blocks)
    slowest = max(min(_time(sides[name], max(1, warmup)) for _ in range(3)) for name in names)
    calls = max(5, math.ceil(seconds / slowest))
    times = {name: [] for name in names}
    for rep in range(reps):
        order = names if rep % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(_time(sides[name], calls))
    return {name: summarize(values) for name, values in times.items()}, calls


def _time(fn, calls):
    gc.collect()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def summarize(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "all": values}


def scaled(stats, factor):
    return {key: ([v * factor for v in value] if key == "all" else value * factor) for key, value in stats.items()}


def verdict(ratio, target):
    return "ok" if ratio <= target else "ABOVE TARGET"


def agreement(values, what, reference="chainrule"):
    """The sanity line: do ``values`` ({side: [numbers]}) agree with ``reference``'s (relative 1e-4)?"""
    shown = "; ".join(f"{side} " + " ".join(f"{v:.5f}" for v in vs) for side, vs in values.items())
    if len(values) == 1:
        return f"sanity: {next(iter(values))} alone: {what} {shown}"
    expected = values[reference]
    worst = max(abs(a - b) / abs(b) for side in values for a, b in zip(values[side], expected))
    if worst < 1e-4:
        return f"sanity: {what} agree (max rel. diff {worst:.1e}): {shown}"
    return f"SANITY FAILURE: {what} differ (max rel. diff {worst:.1e}): {shown}"


def report(name, title, stats, calls, args, check, target, floor="numpy-floor"):
    """Print one benchmark's medians and ratios (against PyTorch and, where a "numpy" side ran,
    against that ``floor``); return its row for ``print_summary``."""
    stats = {side: scaled(value, 1e3) for side, value in stats.items()}
    print(f"{title}; {args.reps} reps x {calls} calls, median (min-max) ms per call")
    for side, value in stats.items():
        label = f"numpy ({floor})" if side == "numpy" else side
        print(f"    {label:<20} {value['median']:8.3f}  ({value['min']:.3f}-{value['max']:.3f})")
    row = {"bench": name, "unit": "ms", **stats}
    if "numpy" in stats:
        row["ratio_numpy"] = stats["chainrule"]["median"] / stats["numpy"]["median"]
    if target is not None:
        row["target"] = target
    if "pytorch" in stats:
        row["ratio_torch"] = stats["chainrule"]["median"] / stats["pytorch"]["median"]
        paired = [c / t for c, t in zip(stats["chainrule"]["all"], stats["pytorch"]["all"])]
        judged = f"  target <= {target}x: {verdict(row['ratio_torch'], target)}" if target is not None else ""
        print(
            f"    ratio chainrule/pytorch      {row['ratio_torch']:.2f}x  (per-rep {min(paired):.2f}-{max(paired):.2f})"
            + judged
        )
        if "numpy" in stats:
            print(f"    ratio pytorch/{floor:<14} {stats['pytorch']['median'] / stats['numpy']['median']:.2f}x")
    else:
        print("    PyTorch not available: no ratio")
    if "numpy" in stats:
        print(f"    ratio chainrule/{floor:<12} {row['ratio_numpy']:.2f}x")
    print(f"    {check}\n")
    return row


# ------------------------------------------------------------------------------- benchmark: perop
N_OPS = 100
OPS_PER_BLOCK = 5  # x*a, tanh, x+b, sigmoid, exp


def chain(x, a, b):
    """100 elementwise ops, then a sum. Values stay in a small range: exp follows a sigmoid."""
    for _ in range(N_OPS // OPS_PER_BLOCK):
        x = (x * a).tanh()
        x = (x + b).sigmoid().exp()
    return x.sum()


def bench_perop(cr, torch, args):
    import numpy as np

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(8).astype(np.float32) for _ in range(3)]
    sides, leaves = {}, {}
    for name, lib in (("chainrule", cr), ("pytorch", torch)):
        if lib is None:
            continue
        tensors = [lib.tensor(array.copy(), requires_grad=True) for array in arrays]
        leaves[name] = tensors
        sides[f"{name} fwd+bwd"] = make_perop_step(tensors, backward=True)
        sides[f"{name} fwd"] = make_perop_step(tensors, backward=False)

    # sanity: one forward+backward, same gradients on both sides
    check = ""
    if torch is not None:
        for tensors in leaves.values():
            for t in tensors:
                t.grad = None
            chain(*tensors).backward()
        worst = max(rel_err(c.grad.numpy(), t.grad.numpy()) for c, t in zip(leaves["chainrule"], leaves["pytorch"]))
        check = f"sanity: gradients of the 100-op chain agree with PyTorch, max rel. error {worst:.1e}"
        if worst > 1e-4:
            check = f"SANITY FAILURE: gradients differ from PyTorch, max rel. error {worst:.1e}"

    stats, calls = run_interleaved(sides, args.reps, args.seconds, warmup=20)
    per_op = {name: scaled(value, 1e6 / N_OPS) for name, value in stats.items()}
    print(
        f"[perop] {N_OPS} chained elementwise ops (mul, tanh, add, sigmoid, exp) on (8,) float32, "
        f"+ sum + backward; {args.reps} reps x {calls} calls, median (min-max) µs per op"
    )
    for name, value in per_op.items():
        print(f"    {name:<20} {value['median']:7.2f}  ({value['min']:.2f}-{value['max']:.2f})")
    rows = {}
    for kind in ("fwd+bwd", "fwd"):
        row = {"bench": "perop", "unit": "µs/op", "chainrule": per_op[f"chainrule {kind}"]}
        if torch is not None:
            row["pytorch"] = per_op[f"pytorch {kind}"]
            row["ratio_torch"] = row["chainrule"]["median"] / row["pytorch"]["median"]
            paired = [c / t for c, t in zip(row["chainrule"]["all"], row["pytorch"]["all"])]
            print(
                f"    ratio chainrule/pytorch {kind:<8} {row['ratio_torch']:.2f}x  "
                f"(per-rep {min(paired):.2f}-{max(paired):.2f})"
                + (
                    f"  target <= {TARGETS['perop']}x: {verdict(row['ratio_torch'], TARGETS['perop'])}"
                    if kind == "fwd+bwd"
                    else ""
                )
            )
        if kind == "fwd+bwd":
            row["target"] = TARGETS["perop"]
        rows[f"perop {kind}"] = row
    if check:
        print(f"    {check}")
    else:
        print("    PyTorch not available: no ratio")
    return rows


def make_perop_step(tensors, backward):
    x, a, b = tensors

    def step():
        loss = chain(x, a, b)
        if backward:
            loss.backward()
            x.grad = a.grad = b.grad = None

    return step


def rel_err(a, b):
    import numpy as np

    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


# --------------------------------------------------------------------------------- benchmark: mlp
SIZES = (784, 256, 128, 10)
BATCH = 128
LR = 0.05
SANITY_STEPS = 3


def initial_mlp(np):
    """Weights (PyTorch's default Linear init, drawn with NumPy) and one batch of data."""
    rng = np.random.default_rng(1234)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH).astype(np.int64)
    return params, x, y


def make_framework_step(lib, arrays, x_array, y_array):
    """One training step in chainrule or PyTorch; the code is the same for both."""
    params = [lib.tensor(array.copy(), requires_grad=True) for array in arrays]
    x, y = lib.tensor(x_array), lib.tensor(y_array)
    w1, b1, w2, b2, w3, b3 = params

    def step():
        h = (x @ w1 + b1).relu()
        h = (h @ w2 + b2).relu()
        logits = h @ w3 + b3
        loss = -(lib.log_softmax(logits, dim=1)[lib.arange(BATCH), y]).mean()
        loss.backward()
        with lib.no_grad():
            for p in params:
                p.sub_(LR * p.grad)
                p.grad = None
        return loss

    return step


def make_numpy_step(np, arrays, x, y):
    """The same step by hand in NumPy: forward, backward, SGD update (the floor)."""
    w1, b1, w2, b2, w3, b3 = [array.copy() for array in arrays]
    rows = np.arange(BATCH)

    def step():
        z1 = x @ w1 + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2 + b2
        h2 = np.maximum(z2, 0)
        logits = h2 @ w3 + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = -(shifted[rows, y] - np.log(total[:, 0])).mean()
        g = e / total  # d loss / d logits = (softmax - onehot) / N
        g[rows, y] -= 1
        g /= BATCH
        gw3, gb3 = h2.T @ g, g.sum(axis=0)
        g = (g @ w3.T) * (z2 > 0)
        gw2, gb2 = h1.T @ g, g.sum(axis=0)
        g = (g @ w2.T) * (z1 > 0)
        gw1, gb1 = x.T @ g, g.sum(axis=0)
        for p, gp in ((w1, gw1), (b1, gb1), (w2, gw2), (b2, gb2), (w3, gw3), (b3, gb3)):
            p -= LR * gp
        return loss

    return step


def bench_mlp(cr, torch, args):
    import numpy as np

    arrays, x, y = initial_mlp(np)
    libs = {"chainrule": cr, "pytorch": torch}

    # sanity: SANITY_STEPS steps from the same start give the same losses everywhere
    fresh = {name: make_framework_step(lib, arrays, x, y) for name, lib in libs.items() if lib is not None}
    fresh["numpy"] = make_numpy_step(np, arrays, x, y)
    losses = {name: [step().item() for _ in range(SANITY_STEPS)] for name, step in fresh.items()}
    reference = losses["numpy"]
    worst = max(abs(a - b) / abs(b) for name in losses for a, b in zip(losses[name], reference))
    shown = "; ".join(f"{name} " + " ".join(f"{v:.5f}" for v in values) for name, values in losses.items())
    check = (
        f"sanity: losses over {SANITY_STEPS} steps agree (max rel. diff {worst:.1e}): {shown}"
        if worst < 1e-4
        else f"SANITY FAILURE: losses differ (max rel. diff {worst:.1e}): {shown}"
    )

    sides = {name: make_framework_step(lib, arrays, x, y) for name, lib in libs.items() if lib is not None}
    sides["numpy"] = make_numpy_step(np, arrays, x, y)
    stats, calls = run_interleaved(sides, args.reps, args.seconds, warmup=3)
    stats = {name: scaled(value, 1e3) for name, value in stats.items()}
    print(
        f"[mlp] {'-'.join(map(str, SIZES))} ReLU MLP, batch {BATCH}, float32, log_softmax NLL, SGD step; "
        f"{args.reps} reps x {calls} steps, median (min-max) ms per step"
    )
    for name, value in stats.items():
        print(f"    {name:<20} {value['median']:7.3f}  ({value['min']:.3f}-{value['max']:.3f})")
    row = {"bench": "mlp", "unit": "ms", "target": TARGETS["mlp"], **stats}
    row["ratio_numpy"] = stats["chainrule"]["median"] / stats["numpy"]["median"]
    if torch is not None:
        row["ratio_torch"] = stats["chainrule"]["median"] / stats["pytorch"]["median"]
        paired = [c / t for c, t in zip(stats["chainrule"]["all"], stats["pytorch"]["all"])]
        print(
            f"    ratio chainrule/pytorch      {row['ratio_torch']:.2f}x  (per-rep {min(paired):.2f}-{max(paired):.2f})"
            f"  target <= {TARGETS['mlp']}x: {verdict(row['ratio_torch'], TARGETS['mlp'])}"
        )
        print(f"    ratio pytorch/numpy-floor    {stats['pytorch']['median'] / stats['numpy']['median']:.2f}x")
    else:
        print("    PyTorch not available: no ratio")
    print(f"    ratio chainrule/numpy-floor  {row['ratio_numpy']:.2f}x")
    print(f"    {check}")
    return {"mlp step": row}


if __name__ == "__main__":
    main()
