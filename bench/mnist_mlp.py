"""Benchmark: the MNIST reference MLP trained with nnlib and with torch on the same CPU.

Model (reference page 001): 784-256-128-10, ReLU, dropout 0.2, Adam lr 1e-3, batch 64,
inputs normalised with mean 0.1307 and std 0.3081. Both frameworks start from the same
initial weights, see the same batches in the same order and use the same number of threads.
Each framework runs in its own process so that its peak memory can be measured alone.

    python bench/mnist_mlp.py                 # 10 epochs, all cores, writes bench/results/
    python bench/mnist_mlp.py --epochs 2 --threads 1

Target: nnlib no slower than torch (ratio <= 1.0), both >= 98.0% test accuracy in 10 epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEAN, STD = 0.1307, 0.3081
SIZES = (784, 256, 128, 10)


def load_data(data_dir: str | None):
    """Full MNIST, normalised, float32; stops if only the offline sample is available."""
    import numpy as np

    from nnlib.data import load_mnist

    data = load_mnist(data_dir, offline_fallback=False)
    x_train = ((data.x_train - MEAN) / STD).astype(np.float32)
    x_test = ((data.x_test - MEAN) / STD).astype(np.float32)
    return x_train, data.y_train, x_test, data.y_test


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


def run_nnlib(args, x_train, y_train, x_test, y_test, batches) -> dict:
    """Train with nnlib; return per-epoch seconds and test accuracy."""
    import numpy as np

    from nnlib import nn, optim

    model = build_nnlib(args.seed)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    seconds, accuracy, losses = [], [], []
    for epoch_batches in batches:
        model.train()
        start = time.perf_counter()
        total = 0.0
        for idx in epoch_batches:
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            model.backward(loss_fn.backward())
            opt.step()
            total += loss * len(idx)
        seconds.append(time.perf_counter() - start)
        losses.append(total / len(x_train))
        model.eval()
        pred = np.concatenate(
            [model(x_test[i : i + 1000]).argmax(1) for i in range(0, len(x_test), 1000)]
        )
        accuracy.append(float((pred == y_test).mean()))
        log(f"nnlib epoch {len(seconds)}: {seconds[-1]:.2f} s, test accuracy {accuracy[-1]:.4f}")
    return {"seconds_per_epoch": seconds, "test_accuracy": accuracy, "train_loss": losses}


def run_torch(args, x_train, y_train, x_test, y_test, batches) -> dict:
    """Train the identical model with torch, starting from nnlib's initial weights."""
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    reference = build_nnlib(args.seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(SIZES[2], SIZES[3]),
    )  # fmt: skip
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(reference.state_dict()[name]))
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    seconds, accuracy, losses = [], [], []
    for epoch_batches in batches:
        model.train()
        start = time.perf_counter()
        total = 0.0
        for idx in epoch_batches:
            ti = torch.from_numpy(idx)
            opt.zero_grad()
            loss = loss_fn(model(xt[ti]), yt[ti])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds.append(time.perf_counter() - start)
        losses.append(total / len(x_train))
        model.eval()
        with torch.no_grad():
            pred = model(torch.from_numpy(x_test)).argmax(1).numpy()
        accuracy.append(float((pred == y_test).mean()))
        log(f"torch epoch {len(seconds)}: {seconds[-1]:.2f} s, test accuracy {accuracy[-1]:.4f}")
    return {"seconds_per_epoch": seconds, "test_accuracy": accuracy, "train_loss": losses}


def log(message: str) -> None:
    """Progress to stderr (stdout carries the child's JSON result)."""
    print(message, file=sys.stderr, flush=True)


def child(args) -> None:
    """Run one framework and print its results as JSON."""
    import numpy as np

    x_train, y_train, x_test, y_test = load_data(args.data_dir)
    rng = np.random.default_rng(args.seed)
    batches = []
    for _ in range(args.epochs):
        order = rng.permutation(len(x_train))
        starts = range(0, len(order), args.batch_size)
        batches.append([order[i : i + args.batch_size] for i in starts])
    run = run_nnlib if args.framework == "nnlib" else run_torch
    result = run(args, x_train, y_train, x_test, y_test, batches)
    # ru_maxrss is in KiB on Linux.
    result["peak_memory_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


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


def parent(args) -> None:
    """Run both frameworks in child processes, compare, print and save the results."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    results = {}
    for framework in ("nnlib", "torch"):
        command = [sys.executable, __file__, "--framework", framework] + [
            f"--epochs={args.epochs}", f"--threads={args.threads}", f"--seed={args.seed}",
            f"--batch-size={args.batch_size}",
        ]  # fmt: skip
        if args.data_dir:
            command.append(f"--data-dir={args.data_dir}")
        out = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True)
        results[framework] = json.loads(out.stdout.strip().splitlines()[-1])

    def mean_epoch(name: str) -> float:
        secs = results[name]["seconds_per_epoch"]
        return sum(secs) / len(secs)

    def median_epoch(name: str) -> float:
        return statistics.median(results[name]["seconds_per_epoch"])

    summary = {
        "benchmark": "MNIST MLP 784-256-128-10, ReLU, dropout 0.2, Adam 1e-3, batch 64",
        "epochs": args.epochs,
        "machine": machine_description(args.threads),
        "date": time.strftime("%Y-%m-%d"),
        "results": results,
        "mean_seconds_per_epoch": {k: mean_epoch(k) for k in results},
        "median_seconds_per_epoch": {k: median_epoch(k) for k in results},
        # The median: one epoch slowed by another process on the machine does not decide it.
        "ratio_nnlib_over_torch": median_epoch("nnlib") / median_epoch("torch"),
        "ratio_of_means": mean_epoch("nnlib") / mean_epoch("torch"),
        "best_test_accuracy": {k: max(v["test_accuracy"]) for k, v in results.items()},
    }
    summary["target_met"] = bool(
        summary["ratio_nnlib_over_torch"] <= 1.0
        and all(acc >= 0.98 for acc in summary["best_test_accuracy"].values())
    )
    text = render(summary)
    print(text)
    if args.out:
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "mnist_mlp.json").write_text(json.dumps(summary, indent=2) + "\n")
        (out_dir / "mnist_mlp.md").write_text(text + "\n")


def render(summary: dict) -> str:
    """A Markdown report of the summary."""
    m = summary["machine"]
    res = summary["results"]
    lines = [
        f"# {summary['benchmark']}",
        "",
        f"Measured {summary['date']} on {m['cpu']} ({m['cores']} cores, {m['threads']} threads), "
        f"Python {m['python']}, NumPy {m['numpy']}, torch {m['torch']}.",
        "",
        "| epoch | nnlib s | torch s | nnlib test acc | torch test acc |",
        "|---:|---:|---:|---:|---:|",
    ]
    for i in range(summary["epochs"]):
        lines.append(
            f"| {i + 1} | {res['nnlib']['seconds_per_epoch'][i]:.2f} "
            f"| {res['torch']['seconds_per_epoch'][i]:.2f} "
            f"| {res['nnlib']['test_accuracy'][i]:.2%} | {res['torch']['test_accuracy'][i]:.2%} |"
        )
    mean = summary["mean_seconds_per_epoch"]
    median = summary["median_seconds_per_epoch"]
    lines += [
        "",
        f"- median seconds per epoch: nnlib {median['nnlib']:.2f}, torch {median['torch']:.2f}; "
        f"ratio nnlib/torch = {summary['ratio_nnlib_over_torch']:.2f}",
        f"- mean seconds per epoch: nnlib {mean['nnlib']:.2f}, torch {mean['torch']:.2f}; "
        f"ratio {summary['ratio_of_means']:.2f}",
        f"- best test accuracy: nnlib {summary['best_test_accuracy']['nnlib']:.2%}, "
        f"torch {summary['best_test_accuracy']['torch']:.2%}",
        f"- peak memory: nnlib {res['nnlib']['peak_memory_mib']:.0f} MiB, "
        f"torch {res['torch']['peak_memory_mib']:.0f} MiB",
        f"- target (ratio <= 1.0, both >= 98.0%): {'met' if summary['target_met'] else 'NOT met'}",
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse arguments and run as parent or child."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="folder with the four MNIST files")
    parser.add_argument("--out", default=str(HERE / "results"), help="where results are saved")
    parser.add_argument("--framework", choices=["nnlib", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.framework:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
