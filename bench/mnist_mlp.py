"""Benchmark: the MNIST reference MLP trained with nnlib and with torch, epochs interleaved.

Model (reference page 001): 784-256-128-10, ReLU, dropout 0.2, Adam lr 1e-3, batch 64 (the
batch size of lesson 10 and exercise 07), inputs normalised with mean 0.1307 and std 0.3081.

Both frameworks run in one process and take turns, one epoch each: nnlib epoch 1, torch epoch
1, nnlib epoch 2, torch epoch 2, ... Each such pair sees the same shuffling permutation (the
same batches in the same order), so a slow spell of a shared machine hits both frameworks of a
pair instead of deciding the comparison. Both start from the same initial weights (nnlib's He
initialisation, copied into torch) and use the same number of threads (NumPy's BLAS and torch's
intra-op pool, both set to --threads). The dropout masks differ (each framework draws its own).

    python bench/mnist_mlp.py                 # 10 pairs, all cores, writes bench/results/
    python bench/mnist_mlp.py --threads 1     # both frameworks on one thread
    python bench/mnist_mlp.py --quick         # 3 short pairs (10000 samples), prints only

Reported per pair: nnlib seconds, torch seconds and their ratio; then the median ratio, the
fraction of the machine's float32 peak each framework reaches and the test accuracy.

Target: median ratio nnlib/torch <= 0.8, nnlib >= 98.0% test accuracy within 10 epochs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEAN, STD = 0.1307, 0.3081
SIZES = (784, 256, 128, 10)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TARGET_RATIO, TARGET_ACCURACY = 0.8, 0.98


def log(message: str) -> None:
    """Progress to stderr."""
    print(message, file=sys.stderr, flush=True)


def load_data(data_dir: str | None):
    """Full MNIST, normalised, float32; stops if only the offline sample is available."""
    import numpy as np

    from nnlib.data import load_mnist

    data = load_mnist(data_dir, offline_fallback=False)
    x_train = ((data.x_train - MEAN) / STD).astype(np.float32)
    x_test = ((data.x_test - MEAN) / STD).astype(np.float32)
    return x_train, data.y_train, x_test, data.y_test


def epoch_flops(n_samples: int, sizes=SIZES) -> tuple[int, str]:
    """Matrix-multiply FLOPs of one training epoch, and the formula they come from.

    A Linear layer in -> out on a batch of B rows costs 2*B*in*out in the forward pass,
    2*B*in*out for the weight gradient and 2*B*in*out for the input gradient, which the first
    layer does not need (nobody asks for the gradient of the images). Summed over the batches
    of an epoch B becomes the number of samples N. Biases, activations, dropout, the loss and
    the optimiser (O(parameters) or O(B*out) each) are left out.
    """
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    flops = sum(2 * n_samples * i * o * (2 if k == 0 else 3) for k, (i, o) in enumerate(pairs))
    terms = " + ".join(f"{2 if k == 0 else 3}*{i}*{o}" for k, (i, o) in enumerate(pairs))
    return flops, f"2 * N * ({terms}) with N = {n_samples}"


def matmul_peak(repeats: int = 5, size: int = 2048) -> float:
    """The practical float32 peak: FLOP/s of np.matmul on size x size matrices, best of repeats."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    np.matmul(a, b)  # warm-up: threads started, pages touched
    best = min(_timed(lambda: np.matmul(a, b)) for _ in range(repeats))
    return 2 * size**3 / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def build_nnlib(seed: int):
    """The reference MLP in nnlib (float32)."""
    import nnlib
    from nnlib import nn

    nnlib.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(SIZES[2], SIZES[3]),
    )  # fmt: skip


def build_torch(reference):
    """The same MLP in torch, with the weights of the nnlib model `reference`."""
    import torch

    model = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(SIZES[2], SIZES[3]),
    )  # fmt: skip
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(reference.state_dict()[name]))
    return model


class NnlibRun:
    """nnlib's model, loss and optimiser; one call of epoch() trains one epoch."""

    name = "nnlib"

    def __init__(self, seed, x_train, y_train, x_test, y_test):
        from nnlib import nn, optim

        self.model = build_nnlib(seed)
        self.loss_fn = nn.CrossEntropyLoss()
        self.opt = optim.Adam(self.model.parameters(), lr=1e-3)
        self.x, self.y, self.x_test, self.y_test = x_train, y_train, x_test, y_test

    def epoch(self, batches) -> float:
        """Train on `batches` (index arrays); return the mean training loss."""
        model, loss_fn, opt, x, y = self.model, self.loss_fn, self.opt, self.x, self.y
        model.train()
        total = 0.0
        for idx in batches:
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            # input_grad=False: like torch, skip the gradient of the images (dL/dx of layer 1)
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
            total += loss * len(idx)
        return total / sum(len(idx) for idx in batches)

    def accuracy(self) -> float:
        import numpy as np

        self.model.eval()
        xs, ys = self.x_test, self.y_test
        pred = np.concatenate(
            [self.model(xs[i : i + 1000]).argmax(1) for i in range(0, len(xs), 1000)]
        )
        return float((pred == ys).mean())


class TorchRun:
    """torch's model (nnlib's initial weights), loss and optimiser, one epoch per call."""

    name = "torch"

    def __init__(self, reference, x_train, y_train, x_test, y_test):
        import torch

        self.torch = torch
        self.model = build_torch(reference)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        # Views of the same NumPy arrays: no copy of the data set.
        self.x, self.y = torch.from_numpy(x_train), torch.from_numpy(y_train)
        self.x_test, self.y_test = torch.from_numpy(x_test), y_test

    def epoch(self, batches) -> float:
        model, loss_fn, opt, x, y = self.model, self.loss_fn, self.opt, self.x, self.y
        model.train()
        total = 0.0
        for idx in batches:  # torch index tensors, made before the clock started
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        return total / sum(len(idx) for idx in batches)

    def accuracy(self) -> float:
        self.model.eval()
        with self.torch.no_grad():
            pred = self.model(self.x_test).argmax(1).numpy()
        return float((pred == self.y_test).mean())


def set_threads(threads: int) -> dict:
    """Use `threads` threads in NumPy's BLAS and in torch; return what each library reports."""
    import torch

    torch.set_num_threads(threads)
    blas = []
    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        threadpool_limits(threads, user_api="blas")
        blas = [
            f"{i['internal_api']} {i.get('version') or ''} ({i['num_threads']} threads)".strip()
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ]
    except ImportError:  # the environment variables set in main() still apply
        pass
    return {"numpy_blas": blas, "torch_threads": torch.get_num_threads()}


def run(args) -> dict:
    """Interleave the epochs of both frameworks; return everything measured."""
    import numpy as np
    import torch

    threads_seen = set_threads(args.threads)
    x_train, y_train, x_test, y_test = load_data(args.data_dir)
    if args.train_samples:
        x_train, y_train = x_train[: args.train_samples], y_train[: args.train_samples]
    n = len(x_train)
    log(f"measuring the float32 matmul peak on {args.threads} thread(s) ...")
    peak = matmul_peak()  # measured again after the run; the better of the two is kept
    flops, formula = epoch_flops(n)

    nnlib_run = NnlibRun(args.seed, x_train, y_train, x_test, y_test)
    torch_run = TorchRun(nnlib_run.model, x_train, y_train, x_test, y_test)
    rng = np.random.default_rng(args.seed)
    pairs = []
    load_before = os.getloadavg()
    for pair in range(1, args.epochs + 1):
        order = rng.permutation(n)  # one permutation per pair, used by both frameworks
        np_batches = [order[i : i + args.batch_size] for i in range(0, n, args.batch_size)]
        batches = {
            "nnlib": np_batches,
            "torch": [torch.from_numpy(idx) for idx in np_batches],
        }
        row = {"pair": pair}
        for fw in (nnlib_run, torch_run):
            gc.collect()
            start, cpu_start = time.perf_counter(), time.process_time()
            loss = fw.epoch(batches[fw.name])
            row[f"{fw.name}_seconds"] = time.perf_counter() - start
            row[f"{fw.name}_cpu_seconds"] = time.process_time() - cpu_start
            row[f"{fw.name}_train_loss"] = float(loss)
            row[f"{fw.name}_test_accuracy"] = fw.accuracy()
        row["ratio"] = row["nnlib_seconds"] / row["torch_seconds"]
        row["cpu_ratio"] = row["nnlib_cpu_seconds"] / row["torch_cpu_seconds"]
        pairs.append(row)
        log(
            f"pair {pair}: nnlib {row['nnlib_seconds']:.2f} s ({row['nnlib_test_accuracy']:.2%}), "
            f"torch {row['torch_seconds']:.2f} s ({row['torch_test_accuracy']:.2%}), "
            f"ratio {row['ratio']:.2f}"
        )

    peak = max(peak, matmul_peak())
    median = {fw: statistics.median(r[f"{fw}_seconds"] for r in pairs) for fw in ("nnlib", "torch")}
    median_cpu = {
        fw: statistics.median(r[f"{fw}_cpu_seconds"] for r in pairs) for fw in ("nnlib", "torch")
    }
    final = {fw: pairs[-1][f"{fw}_test_accuracy"] for fw in ("nnlib", "torch")}
    summary = {
        "benchmark": "MNIST MLP 784-256-128-10, ReLU, dropout 0.2, Adam 1e-3, batch "
        f"{args.batch_size}, nnlib and torch epochs interleaved",
        "date": time.strftime("%Y-%m-%d"),
        "quick": args.quick,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "train_samples": n,
        "machine": machine_description(args.threads),
        "threads_seen": threads_seen,
        "load_average_before_after": [load_before[0], os.getloadavg()[0]],
        "pairs": pairs,
        "median_ratio": statistics.median(r["ratio"] for r in pairs),
        "median_cpu_ratio": statistics.median(r["cpu_ratio"] for r in pairs),
        "median_seconds": median,
        "flops_per_epoch": flops,
        "flops_formula": formula,
        "matmul_peak_flops": peak,
        "fraction_of_peak": {fw: flops / median[fw] / peak for fw in median},
        "median_cpu_seconds": median_cpu,
        "fraction_of_peak_cpu": {fw: flops / median_cpu[fw] / peak for fw in median_cpu},
        "final_test_accuracy": final,
        "best_test_accuracy": {
            fw: max(r[f"{fw}_test_accuracy"] for r in pairs) for fw in ("nnlib", "torch")
        },
    }
    summary["target_met"] = bool(
        summary["median_ratio"] <= TARGET_RATIO and final["nnlib"] >= TARGET_ACCURACY
    )
    return summary


def machine_description(threads: int) -> dict:
    """What the numbers were measured on."""
    import numpy as np
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def render(s: dict) -> str:
    """A Markdown report of the summary."""
    m = s["machine"]
    blas = ", ".join(s["threads_seen"]["numpy_blas"]) or "unknown"
    lines = [
        f"# {s['benchmark']}",
        "",
        f"Measured {s['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}, "
        f"NumPy {m['numpy']} (BLAS: {blas}), torch {m['torch']} "
        f"({s['threads_seen']['torch_threads']} threads). Both frameworks use "
        f"{m['threads']} thread(s). Load average before/after: "
        f"{s['load_average_before_after'][0]:.1f} / {s['load_average_before_after'][1]:.1f} "
        "(the machine is shared, hence the interleaving).",
        "",
        f"{s['train_samples']} training samples per epoch, batch {s['batch_size']}; each pair "
        "runs an nnlib epoch, then a torch epoch, on the same shuffling permutation; both start "
        "from the same initial weights. Test accuracy on the 10000 test images after each epoch "
        "(not timed).",
        "",
        "| pair | nnlib s | torch s | nnlib/torch | nnlib CPU s | torch CPU s | CPU ratio "
        "| nnlib test acc | torch test acc |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in s["pairs"]:
        lines.append(
            f"| {r['pair']} | {r['nnlib_seconds']:.2f} | {r['torch_seconds']:.2f} "
            f"| {r['ratio']:.2f} | {r['nnlib_cpu_seconds']:.2f} | {r['torch_cpu_seconds']:.2f} "
            f"| {r['cpu_ratio']:.2f} "
            f"| {r['nnlib_test_accuracy']:.2%} | {r['torch_test_accuracy']:.2%} |"
        )
    med, frac = s["median_seconds"], s["fraction_of_peak"]
    gflop = s["flops_per_epoch"] / 1e9
    lines += [
        "",
        f"- **median ratio nnlib/torch: {s['median_ratio']:.2f}** (median seconds per epoch: "
        f"nnlib {med['nnlib']:.2f}, torch {med['torch']:.2f}); median ratio of the CPU "
        f"seconds (process time, less sensitive to other processes): {s['median_cpu_ratio']:.2f}",
        f"- FLOPs per epoch (matrix products only): {s['flops_formula']} = {gflop:.1f} GFLOP. "
        "Per Linear layer in->out and batch B: forward 2*B*in*out, weight gradient 2*B*in*out, "
        "input gradient 2*B*in*out except for the first layer, where nobody needs it.",
        f"- practical float32 peak: {s['matmul_peak_flops'] / 1e9:.1f} GFLOP/s, the best of 10 "
        f"np.matmul of two 2048x2048 float32 matrices on {m['threads']} thread(s) (5 before "
        "the epochs, 5 after): what this machine's BLAS reaches, not the CPU's data-sheet peak",
        f"- fraction of that peak at the median epoch: nnlib {frac['nnlib']:.1%} "
        f"({gflop / med['nnlib']:.1f} GFLOP/s), torch {frac['torch']:.1%} "
        f"({gflop / med['torch']:.1f} GFLOP/s); at the median CPU seconds (the time each one "
        f"actually ran): nnlib {s['fraction_of_peak_cpu']['nnlib']:.1%}, "
        f"torch {s['fraction_of_peak_cpu']['torch']:.1%}",
        f"- test accuracy after the last epoch: nnlib {s['final_test_accuracy']['nnlib']:.2%}, "
        f"torch {s['final_test_accuracy']['torch']:.2%} (best: nnlib "
        f"{s['best_test_accuracy']['nnlib']:.2%}, torch {s['best_test_accuracy']['torch']:.2%})",
        f"- target (median ratio <= {TARGET_RATIO}, nnlib >= {TARGET_ACCURACY:.1%} after the "
        f"last epoch): {'met' if s['target_met'] else 'NOT met'}"
        + (" (a --quick run: too short for the accuracy target)" if s["quick"] else ""),
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, set the thread counts, run and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="pairs of epochs (default 10)")
    parser.add_argument("--quick", action="store_true", help="3 pairs on 10000 samples")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--train-samples", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="folder with the four MNIST files")
    parser.add_argument(
        "--out", default=None, help="where to save results (default: bench/results/, not --quick)"
    )
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = 3 if args.quick else 10
    if args.quick and args.train_samples is None:
        args.train_samples = 10000
    out = args.out or (None if args.quick else str(HERE / "results"))
    # BLAS and OpenMP read these when they load, so before NumPy and torch are imported.
    for var in THREAD_VARS:
        os.environ[var] = str(args.threads)
    summary = run(args)
    text = render(summary)
    print(text)
    if out:
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "mnist_mlp.json").write_text(json.dumps(summary, indent=2) + "\n")
        (out_dir / "mnist_mlp.md").write_text(text + "\n")
        log(f"wrote {out_dir / 'mnist_mlp.md'} and mnist_mlp.json")


if __name__ == "__main__":
    main()
