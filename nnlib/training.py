"""Training loops, evaluation and metrics for nnlib models and for PyTorch models.

The loop that `fit` runs for every mini-batch is the one written by hand in the lessons:

    optimizer.zero_grad()
    out = model(xb)
    loss = loss_fn(out, yb)
    model.backward(loss_fn.backward())    # torch: loss.backward()
    optimizer.step()

Losses and accuracies are averaged over *samples*, not batches, so a smaller last batch
counts for exactly as many samples as it holds.

Accuracy is chosen from the loss function:

    CrossEntropyLoss, NLLLoss   argmax over the classes of the (N, C) output
    BCEWithLogitsLoss           logits: predict 1 where the output is > 0
    BCELoss                     probabilities: predict 1 where the output is > 0.5
    anything else (MSELoss)     no accuracy is recorded

torch is imported only inside the `*_torch` functions, so `import nnlib` stays light.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlib.metrics import confusion_matrix  # re-exported: nnlib.training.confusion_matrix
from nnlib.random import manual_seed

__all__ = [
    "History",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "evaluate_torch",
    "fit",
    "fit_torch",
    "predict",
    "set_seed",
    "show_progress",
]


# ---------------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------------


def set_seed(seed: int) -> None:
    """Seed Python's `random`, NumPy's global generator, nnlib's generator and torch (if installed).

    After `set_seed(s)` the same code gives the same weights, batches and results.
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - students' code may still use the legacy global API
    manual_seed(seed)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)  # also seeds every CUDA device


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------

# How to turn a model's output into predicted classes, by the name of the loss function.
_ACCURACY_RULES = {
    "CrossEntropyLoss": "argmax",
    "NLLLoss": "argmax",
    "cross_entropy": "argmax",
    "nll_loss": "argmax",
    "BCEWithLogitsLoss": "logits",
    "binary_cross_entropy_with_logits": "logits",
    "BCELoss": "probs",
    "binary_cross_entropy": "probs",
}


def _accuracy_rule(loss_fn: object) -> str | None:
    """'argmax', 'logits', 'probs' or None (no accuracy), from a loss module or function."""
    name = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
    return _ACCURACY_RULES.get(name)


def _count_correct(output: Any, target: Any, rule: str) -> tuple[Any, int]:
    """Number of correct predictions and of predictions; works on NumPy arrays and torch tensors.

    The count is returned as an array/tensor scalar so that torch does not have to wait for
    the GPU on every batch; convert it with float() once per epoch.
    """
    if rule == "argmax":
        predicted = output.argmax(1)
        if target.ndim == 2:  # one-hot rows or class probabilities
            target = target.argmax(1)
        return (predicted == target.reshape(-1)).sum(), predicted.shape[0]
    threshold = 0.0 if rule == "logits" else 0.5
    predicted = output.reshape(-1) > threshold
    truth = target.reshape(-1) > 0.5
    return (predicted == truth).sum(), predicted.shape[0]


def accuracy(output: np.ndarray, target: np.ndarray, from_logits: bool = True) -> float:
    """Fraction of correct predictions: argmax for (N, C) outputs, else a threshold.

    For (N,) or (N, 1) outputs the threshold is 0 for logits and 0.5 for probabilities
    (`from_logits=False`). `target` holds class labels (N,), one-hot rows (N, C) or 0/1 values.
    """
    output, target = np.asarray(output), np.asarray(target)
    if output.ndim == 2 and output.shape[1] > 1:
        rule = "argmax"
    else:
        rule = "logits" if from_logits else "probs"
    if len(output) != len(target):
        raise ValueError(
            f"output and target must have the same number of samples, "
            f"got shapes {output.shape} and {target.shape}"
        )
    correct, total = _count_correct(output, target, rule)
    return float(correct) / total


class _Totals:
    """Running sums over one pass through the data: loss times batch size, correct predictions."""

    def __init__(self, rule: str | None) -> None:
        self.rule = rule
        self.loss_sum: Any = 0.0
        self.samples = 0
        self.correct: Any = 0
        self.predictions = 0

    def add(self, loss: Any, output: Any, target: Any) -> None:
        """Add one batch: `loss` is the batch's mean loss."""
        n = len(output)
        self.loss_sum = self.loss_sum + loss * n
        self.samples += n
        if self.rule is not None:
            correct, total = _count_correct(output, target, self.rule)
            self.correct = self.correct + correct
            self.predictions += total

    def metrics(self, prefix: str = "") -> dict[str, float]:
        """{'loss': ..., 'accuracy': ...} averaged over samples, names with `prefix`."""
        if self.samples == 0:
            raise ValueError(
                "the data yielded no batches; pass a DataLoader or a list of batches "
                "(a generator is used up after one epoch)"
            )
        out = {prefix + "loss": float(self.loss_sum) / self.samples}
        if self.rule is not None:
            out[prefix + "accuracy"] = float(self.correct) / self.predictions
        return out


# ---------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------


@dataclass
class History:
    """Metrics per epoch: history['loss'][k] is the training loss of epoch k + 1.

    Keys that `fit` records: 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', 'seconds'
    (accuracy only for classification losses, val_* only with validation data).
    """

    metrics: dict[str, list[float]] = field(default_factory=dict)

    def log(self, **values: float) -> None:
        """Append one epoch's values, e.g. history.log(loss=0.3, accuracy=0.9)."""
        for name, value in values.items():
            self.metrics.setdefault(name, []).append(value)

    def __getitem__(self, metric: str) -> list[float]:
        return self.metrics[metric]

    def __contains__(self, metric: str) -> bool:
        return metric in self.metrics

    def __len__(self) -> int:
        """Number of epochs recorded."""
        return max((len(v) for v in self.metrics.values()), default=0)

    def best_epoch(self, metric: str = "val_loss") -> int:
        """Epoch number (from 1) with the best value: highest accuracy, lowest anything else."""
        values = self.metrics[metric]
        index = int(np.argmax(values)) if "accuracy" in metric else int(np.argmin(values))
        return index + 1

    def best(self, metric: str = "val_loss") -> float:
        """Best value of a metric: the highest accuracy, or the lowest loss."""
        return self.metrics[metric][self.best_epoch(metric) - 1]

    def plot(self, metrics: tuple[str, ...] = ("loss", "accuracy")) -> Any:
        """Plot training and validation curves with nnlib.plots.plot_history; returns the Figure."""
        from nnlib.plots import plot_history  # here: matplotlib only when a plot is asked for

        return plot_history(self, metrics=metrics)


# ---------------------------------------------------------------------------------------------
# Progress bar
# ---------------------------------------------------------------------------------------------


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (an IPython ZMQ shell)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def show_progress(progress: bool = True) -> bool:
    """Whether a progress bar should be drawn for `progress=True` ("auto").

    No bar if `progress` is False, if the environment variable NNLIB_PROGRESS is "0", or if
    NBGRADER_EXECUTION is set (nbgrader marks cells that write to stderr as failed).
    Otherwise a bar is drawn when stderr is a terminal or the code runs in a Jupyter kernel.
    """
    if not progress:
        return False
    if os.environ.get("NNLIB_PROGRESS") == "0" or "NBGRADER_EXECUTION" in os.environ:
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty()) or _in_notebook()


def _tqdm_class(notebook: bool) -> Any:
    """tqdm's widget bar if `notebook` and ipywidgets is installed, else its text bar.

    Not tqdm.auto: it takes the widget bar whenever ipykernel has been imported, even in a
    process that is no kernel (a grader, a test run), where that bar is drawn nowhere."""
    if notebook:
        from tqdm.notebook import IProgress, tqdm

        if IProgress is not None:
            return tqdm
    from tqdm.std import tqdm

    return tqdm


def _epoch_bar(epochs: int, progress: bool) -> Any:
    """tqdm over range(1, epochs + 1); a silent, disabled one when no bar should be shown."""
    show = show_progress(progress)
    tqdm = _tqdm_class(show and _in_notebook())
    return tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not show)


def _postfix(row: dict[str, float]) -> dict[str, str]:
    """The metrics shown beside the bar, shortly formatted."""
    return {k: f"{v:.4g}" for k, v in row.items() if k not in ("lr", "seconds")}


# ---------------------------------------------------------------------------------------------
# nnlib models
# ---------------------------------------------------------------------------------------------


def _batches(data: Any, batch_size: int | None = None) -> Iterator[tuple[Any, Any]]:
    """Yield (xb, yb) from a loader, or slices of an (X, y) tuple (one slice if no batch_size)."""
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray):
        X, y = data[0], np.asarray(data[1])
        if len(X) != len(y):
            raise ValueError(f"X and y have {len(X)} and {len(y)} samples; they must match")
        step = batch_size or len(X)
        for start in range(0, len(X), step):
            yield X[start : start + step], y[start : start + step]
    else:
        yield from data


def fit(
    model: Any,
    loss_fn: Any,
    optimizer: Any,
    train_loader: Iterable | tuple[np.ndarray, np.ndarray],
    epochs: int,
    val_data: Iterable | tuple[np.ndarray, np.ndarray] | None = None,
    scheduler: Any = None,
    progress: bool = True,
    early_stopping: int | None = None,
) -> History:
    """Train an nnlib model for `epochs` epochs and return its History.

    train_loader: a DataLoader (any re-iterable of (xb, yb) batches), or an (X, y) tuple of
        arrays for full-batch training.
    val_data: an (X, y) tuple or a loader, evaluated after every epoch (val_loss, val_accuracy).
    scheduler: its step() is called once per epoch.
    progress: True means "auto": one bar over the epochs, with the latest metrics beside it,
        drawn only if stderr is a terminal or the code runs in Jupyter, and neither
        NNLIB_PROGRESS=0 nor NBGRADER_EXECUTION is set (see `show_progress`). False: no bar.
    early_stopping: a patience: stop after this many epochs without a lower val_loss, then
        load the weights of the best epoch back into the model.
    """
    if early_stopping is not None and val_data is None:
        raise ValueError("early_stopping watches val_loss, so it needs val_data")
    rule = _accuracy_rule(loss_fn)
    history = History()
    best_loss, best_state, bad_epochs = math.inf, None, 0

    bar = _epoch_bar(epochs, progress)
    for _ in bar:
        start = time.perf_counter()
        groups = getattr(optimizer, "param_groups", None)  # torch's place for the rate
        lr = groups[0]["lr"] if groups else getattr(optimizer, "lr", None)
        model.train()
        totals = _Totals(rule)
        for xb, yb in _batches(train_loader):
            optimizer.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            model.backward(loss_fn.backward())
            optimizer.step()
            totals.add(loss, out, yb)
        row = totals.metrics()

        if val_data is not None:
            val_loss, val_accuracy = evaluate(model, loss_fn, val_data)
            row["val_loss"] = val_loss
            if val_accuracy is not None:
                row["val_accuracy"] = val_accuracy
        if scheduler is not None:
            scheduler.step()
        if lr is not None:
            row["lr"] = lr
        row["seconds"] = time.perf_counter() - start
        history.log(**row)
        bar.set_postfix(_postfix(row))

        if early_stopping is not None:
            if row["val_loss"] < best_loss:
                best_loss, best_state, bad_epochs = row["val_loss"], model.state_dict(), 0
            else:
                bad_epochs += 1
                if bad_epochs >= early_stopping:
                    break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def evaluate(
    model: Any, loss_fn: Any, data: Iterable | tuple[np.ndarray, np.ndarray], batch_size: int = 1000
) -> tuple[float, float | None]:
    """(mean loss, accuracy) of an nnlib model on (X, y) or a loader, in eval mode.

    accuracy is None when the loss is not a classification loss (see the module docstring).
    The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        totals = _Totals(_accuracy_rule(loss_fn))
        for xb, yb in _batches(data, batch_size):
            out = model(xb)
            totals.add(loss_fn(out, yb), out, yb)
    finally:
        model.train(was_training)
    metrics = totals.metrics()
    return metrics["loss"], metrics.get("accuracy")


def predict(model: Any, X: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Outputs of an nnlib model for all rows of X, computed in eval mode, batch by batch."""
    was_training = model.training
    model.eval()
    try:
        outputs = [model(X[start : start + batch_size]) for start in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(outputs)


# ---------------------------------------------------------------------------------------------
# PyTorch models
# ---------------------------------------------------------------------------------------------


def _default_device() -> str:
    """'cuda' if a GPU is available, else 'cpu'."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def fit_torch(
    model: Any,
    loss_fn: Any,
    optimizer: Any,
    train_loader: Iterable,
    epochs: int,
    val_loader: Iterable | None = None,
    device: Any = None,
    scheduler: Any = None,
    progress: bool = True,
) -> History:
    """Train a torch model for `epochs` epochs on (xb, yb) batches and return its History.

    The model is moved to `device` ('cuda' if available, else 'cpu', when None). Each step:
    zero_grad, forward, loss.backward(), step. `scheduler.step()` runs once per epoch
    (ReduceLROnPlateau gets the validation loss, or the training loss without val_loader).
    `progress` works as in `fit`.
    """
    import torch

    device = torch.device(device if device is not None else _default_device())
    model.to(device)
    rule = _accuracy_rule(loss_fn)
    history = History()

    bar = _epoch_bar(epochs, progress)
    for _ in bar:
        start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        totals = _Totals(rule)
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            optimizer.step()
            totals.add(loss.detach(), out.detach(), yb)
        row = totals.metrics()

        if val_loader is not None:
            val_loss, val_accuracy = evaluate_torch(model, loss_fn, val_loader, device)
            row["val_loss"] = val_loss
            if val_accuracy is not None:
                row["val_accuracy"] = val_accuracy
        if scheduler is not None:
            if type(scheduler).__name__ == "ReduceLROnPlateau":
                scheduler.step(row.get("val_loss", row["loss"]))
            else:
                scheduler.step()
        row["lr"] = lr
        row["seconds"] = time.perf_counter() - start
        history.log(**row)
        bar.set_postfix(_postfix(row))
    bar.close()
    return history


def evaluate_torch(
    model: Any, loss_fn: Any, loader: Iterable, device: Any = None
) -> tuple[float, float | None]:
    """(mean loss, accuracy) of a torch model over a loader, in eval mode under torch.no_grad().

    With device None the data goes to the device of the model's parameters. accuracy is None
    for a loss that is not a classification loss. The model's train/eval mode is restored.
    """
    import torch

    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else _default_device()
    was_training = model.training
    model.eval()
    totals = _Totals(_accuracy_rule(loss_fn))
    try:
        with torch.no_grad():
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                out = model(xb)
                totals.add(loss_fn(out, yb), out, yb)
    finally:
        model.train(was_training)
    metrics = totals.metrics()
    return metrics["loss"], metrics.get("accuracy")
