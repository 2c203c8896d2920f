"""Instrumented PyTorch objects and checks for the graded training-loop and MNIST exercises.

The tests of assignments 06 (a PyTorch training loop) and 07 (an MNIST classifier) check what
the student's code *does*, never its source text. They hand it objects that record what happens
to them and then read the records:

* `OffDeviceTensor`: the type of the batches an instrumented loader yields. ``.to(...)`` returns
  an ordinary tensor, so a model or loss that still receives an `OffDeviceTensor` knows that
  ``xb.to(device)`` was forgotten (this works on a CPU-only machine, where moving to "cpu" would
  otherwise change nothing visible);
* `InstrumentedModel`: a small classifier that records, at every forward pass, whether it was in
  training mode, whether gradient tracking was on, whether its input was moved to the device and
  whether the computation graphs of earlier batches are still alive (a loss accumulated as a
  tensor keeps them); a hook on one parameter records, at every ``backward()``, whether the
  gradients had been cleared before;
* `RecordingSGD`: ``torch.optim.SGD`` that records its ``zero_grad()`` and ``step()`` calls and,
  at each step, whether it found gradients;
* `RecordingLoss`: cross-entropy that records every batch it sees (logits, targets, loss value),
  from which the expected sample-averaged loss and accuracy are computed;
* `make_loader`: a real ``torch.utils.data.DataLoader`` (with ``.dataset`` and ``.batch_size``)
  whose last batch is smaller than the others and whose batches are `OffDeviceTensor` s;
* `training_setup` bundles them; `check_train_one_epoch` and `check_evaluate` run the student's
  function on a setup and turn the records into a `GradingFailure` that names the mistake
  (gradients never cleared, ``zero_grad()`` after ``backward()``, ``step()`` before
  ``backward()``, training in eval mode, evaluating in train mode or with gradient tracking,
  batches not moved to the device, averages over batches instead of samples, tensors returned
  instead of floats, graphs kept across steps);
* `LoopSpy` stands in for ``train_one_epoch`` and ``evaluate`` (correct versions) while a
  student's training function runs, and records how it was called;
* for MNIST: `required_accuracy`, `classifier_metrics` (the test evaluates the model itself),
  `check_classifier_module`, `retrain_without_test_set` (retrains with the student's code while
  every way to the test set leads to a canary set with wrong labels, to detect training on the
  test set) and `KnownClassifier` (a model with known predictions and dropout, for ``predict``).

Everything here is public: it holds no hidden test data. The hidden tests draw their inputs
from a seeded generator (``nncourse.checks.rng``) and pass them to these helpers.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import gc
import numbers
import sys
import types
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from nncourse import checks
from nncourse.checks import GradingFailure

__all__ = [
    "FULL_MNIST_ACCURACY",
    "HISTORY_KEYS",
    "RESULTS",
    "SAMPLE_MNIST_ACCURACY",
    "ForwardRecord",
    "InstrumentedModel",
    "KnownClassifier",
    "LoopSpy",
    "OffDeviceTensor",
    "RecordingLoss",
    "RecordingSGD",
    "RetrainResult",
    "TrainingSetup",
    "call_student",
    "check_classifier_module",
    "check_evaluate",
    "check_no_test_set_training",
    "check_predict",
    "check_toy_training",
    "check_train_one_epoch",
    "classifier_metrics",
    "forbid_training_helpers",
    "make_loader",
    "moons_loaders",
    "reference_evaluate",
    "reference_train_one_epoch",
    "required_accuracy",
    "retrain_without_test_set",
    "training_setup",
]


# ---------------------------------------------------------------------------------------------
# Batches that know whether they were moved to the device
# ---------------------------------------------------------------------------------------------


class OffDeviceTensor(torch.Tensor):
    """A batch as the loader yields it, before ``.to(device)``.

    ``.to(...)`` (with any arguments) returns an ordinary ``torch.Tensor``; every other
    operation keeps the type. So a model that receives an `OffDeviceTensor` can tell that its
    input was never moved to the device, even on a machine where the device is the CPU.
    """

    def to(self, *args: Any, **kwargs: Any) -> torch.Tensor:  # type: ignore[override]
        return super().to(*args, **kwargs).as_subclass(torch.Tensor)


def _plain(t: torch.Tensor) -> torch.Tensor:
    return t.as_subclass(torch.Tensor) if isinstance(t, OffDeviceTensor) else t


def _moved(t: object) -> bool:
    return not isinstance(t, OffDeviceTensor)


def _collate(batch: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[Any, Any]:
    xs, ys = zip(*batch, strict=True)
    return (torch.stack(xs).as_subclass(OffDeviceTensor),
            torch.stack(ys).as_subclass(OffDeviceTensor))


def make_loader(X: np.ndarray, y: np.ndarray, batch_size: int) -> torch.utils.data.DataLoader:
    """A DataLoader over (X float32, y int64), in order, yielding `OffDeviceTensor` batches."""
    dataset = torch.utils.data.TensorDataset(
        torch.as_tensor(np.asarray(X, dtype=np.float32)), torch.as_tensor(np.asarray(y, np.int64))
    )
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                       collate_fn=_collate)


# ---------------------------------------------------------------------------------------------
# The event log and the instrumented objects
# ---------------------------------------------------------------------------------------------


@dataclass
class ForwardRecord:
    """What an `InstrumentedModel` saw at one forward pass."""

    training: bool
    grad_enabled: bool
    moved: bool
    batch: int
    stale_graphs: int  # computation graphs of batches before the previous one still alive


@dataclass
class Event:
    """One entry of a `Log`: kind is forward, backward, zero_grad or step."""

    kind: str
    detail: Any = None


@dataclass
class Log:
    """The ordered events of one run of student code on instrumented objects."""

    events: list[Event] = field(default_factory=list)

    def add(self, kind: str, detail: Any = None) -> None:
        self.events.append(Event(kind, detail))

    def of(self, kind: str) -> list[Any]:
        return [e.detail for e in self.events if e.kind == kind]

    def clear(self) -> None:
        self.events.clear()


def _grad_state(param: torch.Tensor) -> str:
    """'none', 'zero' or 'set': the state of param.grad."""
    grad = param.grad
    if grad is None:
        return "none"
    return "zero" if not bool(torch.any(grad != 0)) else "set"


class _GraphToken:
    """Lives as long as the computation graph of one forward pass (see `_TrackGraph`)."""


class _TrackGraph(torch.autograd.Function):
    """Identity whose graph node holds a `_GraphToken`: the token dies with the graph."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, token: _GraphToken) -> torch.Tensor:
        ctx.token = token
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class InstrumentedModel(nn.Module):
    """A classifier (any ``net``) that records every forward pass and backward pass.

    At each forward pass it records a `ForwardRecord` in ``log``; inputs that are still
    `OffDeviceTensor` s are recorded as not moved and then used as ordinary tensors, so the
    other checks can still run. A hook on the last parameter of ``net`` records, at every
    ``backward()``, the state of that parameter's gradient *before* the new gradient is added
    ('none' or 'zero' when it was cleared, 'set' when an old gradient is still there).
    ``zero_grad()`` on the model is recorded too.
    """

    def __init__(self, net: nn.Module, log: Log) -> None:
        super().__init__()
        self.net = net
        self.log = log
        self._tokens: list[weakref.ref[_GraphToken]] = []
        self._watched = (list(net.parameters())[-1],)  # a tuple: not registered as parameter
        self.watched.register_hook(self._on_backward)

    @property
    def watched(self) -> torch.Tensor:
        """The parameter whose gradient is watched (the last one of ``net``)."""
        return self._watched[0]

    def _on_backward(self, grad: torch.Tensor) -> None:
        self.log.add("backward", _grad_state(self.watched))

    def _stale_graphs(self) -> int:
        earlier = self._tokens[:-1]
        alive = sum(ref() is not None for ref in earlier)
        if alive:  # graphs in reference cycles wait for the collector: give them the chance
            gc.collect()
            alive = sum(ref() is not None for ref in earlier)
        return alive

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        record = ForwardRecord(
            training=self.training,
            grad_enabled=torch.is_grad_enabled(),
            moved=_moved(x),
            batch=int(x.shape[0]) if x.ndim else 1,
            stale_graphs=self._stale_graphs(),
        )
        self.log.add("forward", record)
        out = self.net(_plain(x))
        if torch.is_grad_enabled() and out.requires_grad:
            token = _GraphToken()
            self._tokens.append(weakref.ref(token))
            out = _TrackGraph.apply(out, token)
        return out

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.log.add("zero_grad", "model")
        super().zero_grad(set_to_none=set_to_none)


class RecordingSGD(torch.optim.SGD):
    """``torch.optim.SGD`` that records ``zero_grad()`` and ``step()`` in ``log``.

    At each step it records the state of ``watched``'s gradient ('none', 'zero' or 'set').
    """

    def __init__(self, params: Any, log: Log, watched: torch.Tensor, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self._log = log
        self._watched = watched

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._log.add("zero_grad", "optimizer")
        super().zero_grad(set_to_none=set_to_none)

    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        self._log.add("step", _grad_state(self._watched))
        return super().step(closure)


@dataclass
class LossRecord:
    """One call of a `RecordingLoss`: the batch's logits and targets (detached) and its loss."""

    logits: torch.Tensor
    targets: torch.Tensor
    value: float
    moved: bool


class RecordingLoss(nn.Module):
    """``nn.CrossEntropyLoss()`` that records every call (see `LossRecord`)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.CrossEntropyLoss()
        self.records: list[LossRecord] = []

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        moved = _moved(targets)
        targets = _plain(targets)
        loss = self.inner(_plain(logits), targets)
        self.records.append(LossRecord(_plain(logits).detach().clone(), targets.detach().clone(),
                                       float(loss.detach()), moved))
        return loss


# ---------------------------------------------------------------------------------------------
# Reference loops (for expected values and for `LoopSpy`)
# ---------------------------------------------------------------------------------------------


def reference_train_one_epoch(model: nn.Module, loss_fn: Any, optimizer: Any, loader: Any,
                              device: Any) -> tuple[float, float]:
    """One correct training epoch: (mean loss, accuracy), both averaged over samples."""
    model.train()
    total_loss, correct, count = 0.0, 0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        out = model(xb)
        loss = loss_fn(out, yb)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(yb)
        correct += int((out.argmax(dim=1) == yb).sum().item())
        count += len(yb)
    return total_loss / count, correct / count


def reference_evaluate(model: nn.Module, loss_fn: Any, loader: Any,
                       device: Any) -> tuple[float, float]:
    """A correct evaluation: (mean loss, accuracy) in eval mode without gradient tracking."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            total_loss += loss_fn(out, yb).item() * len(yb)
            correct += int((out.argmax(dim=1) == yb).sum().item())
            count += len(yb)
    return total_loss / count, correct / count


# ---------------------------------------------------------------------------------------------
# Running student code without nnlib's ready-made loops
# ---------------------------------------------------------------------------------------------


class _Delegated(BaseException):
    """Raised by a stand-in for a forbidden helper (BaseException: `except Exception` misses)."""


def _forbidden_helpers() -> dict[int, str]:
    """id -> name of the ready-made training helpers a student must not call."""
    import nnlib.training

    helpers: dict[int, str] = {}
    for name, value in vars(nnlib.training).items():
        if callable(value) and not name.startswith("_") and not isinstance(value, type):
            if getattr(value, "__module__", "") == "nnlib.training":
                helpers[id(value)] = f"nnlib.training.{name}"
    for name in ("reference_train_one_epoch", "reference_evaluate"):
        helpers[id(globals()[name])] = f"nncourse.instruments.{name}"
    return helpers


@contextlib.contextmanager
def forbid_training_helpers(namespace: MutableMapping[str, Any] | None,
                            used: list[str]) -> Iterator[None]:
    """Replace nnlib's training loops (``nnlib.training``) by tripwires during the block.

    Covers the module attributes, the names in ``namespace`` (the student's globals) bound to
    them and ``import nnlib.training`` / ``from nnlib.training import ...`` inside the block.
    The names of the helpers that were called are appended to ``used``.
    """
    import nnlib
    import nnlib.training

    helpers = _forbidden_helpers()
    modules = [nnlib, nnlib.training, sys.modules[__name__]]

    def tripwire(label: str) -> Callable[..., Any]:
        def tripped(*args: Any, **kwargs: Any) -> Any:
            used.append(label)
            raise _Delegated(label)

        return tripped

    patched: list[tuple[Any, str, Any]] = []
    real_import = builtins.__import__

    def guarded_import(name: str, globals: Any = None, locals: Any = None,  # noqa: A002
                       fromlist: Any = (), level: int = 0) -> Any:
        if level == 0 and (name == "nnlib.training" or (name == "nnlib" and fromlist
                                                        and "training" in fromlist)):
            used.append(f"import {name}")
            raise _Delegated(name)
        return real_import(name, globals, locals, fromlist, level)

    try:
        for module in modules:
            for attr, value in list(vars(module).items()):
                if id(value) in helpers and not isinstance(value, types.ModuleType):
                    patched.append((module, attr, value))
                    setattr(module, attr, tripwire(helpers[id(value)]))
        if namespace is not None:
            for key, value in list(namespace.items()):
                if id(value) in helpers:
                    patched.append((namespace, key, value))
                    namespace[key] = tripwire(helpers[id(value)])
        builtins.__import__ = guarded_import
        yield
    finally:
        builtins.__import__ = real_import
        for owner, attr, value in reversed(patched):
            if isinstance(owner, dict):
                owner[attr] = value
            else:
                setattr(owner, attr, value)


def call_student(fn: object, *args: object, what: str, time_limit: float = 20.0) -> Any:
    """`checks.call` on the objects themselves (no copies), without nnlib's training loops.

    A function that hands the work to ``nnlib.training`` (``fit_torch``, ``evaluate_torch``,
    ...) fails with a message saying that the loop must be written by hand.
    """
    namespace = getattr(fn, "__globals__", None)
    used: list[str] = []
    try:
        with forbid_training_helpers(namespace, used):
            return checks.call(fn, *args, what=what, copy_args=False, time_limit=time_limit)
    except _Delegated:
        pass
    raise GradingFailure(
        f"{what} used {', '.join(dict.fromkeys(used))}.\n"
        "This exercise asks you to write the loop yourself with PyTorch, so a version that hands "
        "the work to nnlib's ready-made training functions gets no points here.\n"
        "Likely mistake: calling nnlib.training.fit_torch / evaluate_torch; write the loop over "
        "the batches yourself."
    )


# ---------------------------------------------------------------------------------------------
# Assignment 06: set-ups and checks of train_one_epoch and evaluate
# ---------------------------------------------------------------------------------------------


@dataclass
class TrainingSetup:
    """Instrumented model, loss, optimizer and loader, plus a plain twin for expected values.

    ``twin`` / ``twin_optimizer`` start from the same weights and hyper-parameters as ``model``
    / ``optimizer``; ``reference()`` runs the correct loop on them.
    """

    model: InstrumentedModel
    loss_fn: RecordingLoss
    optimizer: RecordingSGD
    loader: torch.utils.data.DataLoader
    device: Any
    log: Log
    twin: nn.Module
    twin_optimizer: torch.optim.Optimizer
    start_mode: str
    sizes: list[int]
    initial: list[torch.Tensor]

    @property
    def n_samples(self) -> int:
        return sum(self.sizes)

    def args(self, with_optimizer: bool = True) -> tuple[Any, ...]:
        if with_optimizer:
            return self.model, self.loss_fn, self.optimizer, self.loader, self.device
        return self.model, self.loss_fn, self.loader, self.device


def _net(n_in: int, hidden: int, n_classes: int, dropout: float) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(n_in, hidden), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, n_classes))
    return nn.Sequential(*layers)


def training_setup(
    rng: np.random.Generator,
    *,
    n_features: int = 3,
    n_classes: int = 3,
    hidden: int = 6,
    batch_size: int = 8,
    n_batches: int = 3,
    last: int = 2,
    lr: float = 0.5,
    momentum: float = 0.0,
    dropout: float = 0.0,
    start_mode: str = "train",
    device: Any = "cpu",
    spread: float = 2.0,
) -> TrainingSetup:
    """A fresh instrumented set-up drawn from ``rng``.

    The loader holds ``n_batches - 1`` full batches of ``batch_size`` and a last batch of
    ``last`` samples (``last < batch_size``, so averages over batches and over samples differ).
    The model is left in ``start_mode`` ('train' or 'eval') before the student's code runs.
    """
    sizes = [batch_size] * (n_batches - 1) + [last]
    n = sum(sizes)
    X = rng.normal(0.0, spread, size=(n, n_features)).astype(np.float32)
    y = rng.integers(0, n_classes, size=n).astype(np.int64)
    torch_seed = int(rng.integers(0, 2**31 - 1))
    with torch.random.fork_rng():
        torch.manual_seed(torch_seed)
        net = _net(n_features, hidden, n_classes, dropout)
    twin = copy.deepcopy(net)
    log = Log()
    model = InstrumentedModel(net, log)
    optimizer = RecordingSGD(model.parameters(), log, model.watched, lr=lr, momentum=momentum)
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=lr, momentum=momentum)
    model.train(start_mode == "train")
    return TrainingSetup(
        model=model, loss_fn=RecordingLoss(), optimizer=optimizer,
        loader=make_loader(X, y, batch_size), device=device, log=log, twin=twin,
        twin_optimizer=twin_optimizer, start_mode=start_mode, sizes=sizes,
        initial=[p.detach().clone() for p in net.parameters()],
    )


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        grad = ", requires_grad=True" if value.requires_grad else ""
        return f"a torch.Tensor of shape {tuple(value.shape)}{grad}"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    return f"{type(value).__name__} {value!r}"[:80]


def _as_number(value: object, what: str) -> float:
    """A Python number from ``value``, or a failure saying that it must be a float."""
    if isinstance(value, torch.Tensor):
        raise GradingFailure(
            f"{what} is {_describe(value)}, expected a Python float.\n"
            "Likely mistake: returning a tensor; take the number out with .item() (a tensor "
            "that requires grad also keeps the whole computation graph alive)."
        )
    if isinstance(value, np.ndarray) or isinstance(value, bool) or not isinstance(
        value, numbers.Real
    ):
        raise GradingFailure(
            f"{what} is {_describe(value)}, expected a Python float.\n"
            "Likely mistake: return plain numbers, e.g. total_loss / n_samples."
        )
    return float(value)


@dataclass
class _Expected:
    loss: float
    accuracy: float
    batch_losses: list[float]
    batch_correct: list[int]
    batch_sizes: list[int]


def _expected_from_records(records: Sequence[LossRecord]) -> _Expected:
    losses = [r.value for r in records]
    correct = [int((r.logits.argmax(dim=1) == r.targets).sum()) for r in records]
    sizes = [len(r.targets) for r in records]
    n = sum(sizes)
    loss = sum(v * s for v, s in zip(losses, sizes, strict=True)) / n
    return _Expected(loss, sum(correct) / n, losses, correct, sizes)


def _metric_hints(expected: _Expected, loader: Any) -> tuple[list, list]:
    losses, correct, sizes = expected.batch_losses, expected.batch_correct, expected.batch_sizes
    n_batches, n = len(sizes), sum(sizes)
    weighted = sum(v * s for v, s in zip(losses, sizes, strict=True))
    nominal = len(loader) * loader.batch_size
    loss_hints = [
        ("the loss was averaged over batches (mean of the batch losses): the smaller last batch "
         "then counts as much as a full one. Weight each batch's loss by its number of samples "
         "(loss.item() * len(yb)) and divide by the number of samples",
         float(np.mean(losses))),
        ("the loss was divided by len(loader) * batch_size, which counts the smaller last batch "
         "as full: divide by the number of samples actually seen", weighted / nominal),
        ("the weighted sum of the losses was divided by the number of batches: divide by the "
         "number of samples", weighted / n_batches),
        ("the losses were summed but not averaged: divide by the number of samples",
         weighted),
        ("the batch losses were added up without weighting or averaging", float(np.sum(losses))),
        ("only the last batch's loss was returned: accumulate over all batches", losses[-1]),
    ]
    accs = [c / s for c, s in zip(correct, sizes, strict=True)]
    accuracy_hints = [
        ("the accuracy was averaged over batches (mean of the batch accuracies): the smaller "
         "last batch then counts as much as a full one. Count the correct predictions over the "
         "whole epoch and divide by the number of samples", float(np.mean(accs))),
        ("the accuracy was divided by len(loader) * batch_size, which counts the smaller last "
         "batch as full: divide by the number of samples actually seen", sum(correct) / nominal),
        ("the accuracy is in percent: return a fraction between 0 and 1", 100.0 * sum(correct) / n),
        ("this is the number of correct predictions: divide it by the number of samples",
         float(sum(correct))),
        ("the correct predictions were divided by the number of batches, not of samples",
         sum(correct) / n_batches),
        ("only the last batch's accuracy was returned: count over all batches", accs[-1]),
    ]
    return loss_hints, accuracy_hints


def _result_pair(result: object, what: str) -> tuple[float, float]:
    loss, accuracy = checks.as_tuple(result, ["mean_loss", "accuracy"], what=what)
    return (_as_number(loss, f"the mean loss returned by {what}"),
            _as_number(accuracy, f"the accuracy returned by {what}"))


def _check_metrics(result: object, setup: TrainingSetup, what: str, reveal: bool) -> None:
    """The returned (mean loss, accuracy) against the batches the loss function saw."""
    loss, accuracy = _result_pair(result, what)
    records = setup.loss_fn.records
    checks.assert_true(records, f"{what} never called loss_fn: compute the loss of every batch "
                       "with loss_fn(model(xb), yb).")
    seen = sum(len(r.targets) for r in records)
    checks.assert_true(
        seen >= setup.n_samples,
        f"{what} computed the loss of {seen} samples, but the loader holds "
        f"{setup.n_samples}.\nLikely mistake: the loop stops early or skips the last batch; "
        "use every batch of the loader once.")
    expected = _expected_from_records(records)
    loss_hints, accuracy_hints = _metric_hints(expected, setup.loader)
    checks.assert_close(loss, expected.loss, what=f"the mean loss returned by {what}",
                        rtol=1e-5, atol=1e-7, reveal=reveal, hints=loss_hints)
    checks.assert_close(accuracy, expected.accuracy, what=f"the accuracy returned by {what}",
                        rtol=1e-6, atol=1e-9, reveal=reveal, hints=accuracy_hints)


def _check_no_stale_graphs(setup: TrainingSetup, what: str) -> None:
    for index, record in enumerate(setup.log.of("forward")):
        checks.assert_true(
            record.stale_graphs == 0,
            f"{what}: at batch {index + 1} the computation graph of "
            f"{record.stale_graphs} earlier batch(es) was still alive.\nLikely mistake: "
            "accumulating a tensor that requires grad across steps (total_loss += loss, or "
            "keeping the outputs in a list); "
            "accumulate plain numbers with loss.item() (or tensors after .detach()).")


def _check_train_mode(setup: TrainingSetup, what: str) -> None:
    forwards = setup.log.of("forward")
    checks.assert_true(forwards, f"{what} never called the model.")
    in_eval = [i + 1 for i, r in enumerate(forwards) if not r.training]
    if in_eval:
        if setup.start_mode == "eval":
            why = ("the model was in eval mode before the call (as evaluate leaves it) and "
                   "train_one_epoch never switched it back: call model.train() at the start "
                   "of every epoch")
        else:
            why = "something switched the model to eval mode: training runs in model.train()"
        raise GradingFailure(
            f"{what}: the model was in eval mode during training (at batch {in_eval[0]}).\n"
            f"Likely mistake: {why}.")
    no_grad = [i + 1 for i, r in enumerate(forwards) if not r.grad_enabled]
    checks.assert_true(
        not no_grad,
        f"{what}: gradient tracking was off during the forward pass of batch "
        f"{no_grad[0] if no_grad else 0}.\n"
        "Likely mistake: training inside torch.no_grad() or torch.inference_mode(); only "
        "evaluation turns gradient tracking off.")


def _check_moved(setup: TrainingSetup, what: str) -> None:
    forwards = setup.log.of("forward")
    stranded = [i + 1 for i, r in enumerate(forwards) if not r.moved]
    first = stranded[0] if stranded else 0
    checks.assert_true(
        not stranded,
        f"{what}: the inputs of batch {first} reached the model without being moved to "
        f"the device ({setup.device!r}).\nLikely mistake: forgetting xb = xb.to(device) for "
        "each batch (it matters as soon as the model is on a GPU).")
    targets = [i + 1 for i, r in enumerate(setup.loss_fn.records) if not r.moved]
    first = targets[0] if targets else 0
    checks.assert_true(
        not targets,
        f"{what}: the targets of batch {first} reached loss_fn without being moved to the "
        f"device ({setup.device!r}).\nLikely mistake: moving the inputs but not the labels; "
        "use yb = yb.to(device) too.")


def _check_step_order(setup: TrainingSetup, what: str) -> None:
    """zero_grad before backward, step after backward, once per batch."""
    n_batches = len(setup.sizes)
    saw_backward = False
    zero_after_backward = False
    batch = 0
    for event in setup.log.events:
        if event.kind == "forward":
            batch += 1
        elif event.kind == "backward":
            if event.detail == "set":
                raise GradingFailure(
                    f"{what}: at batch {batch} the gradients of the previous batch were still "
                    "there when backward() ran, so the two were added up.\nLikely mistake: "
                    "optimizer.zero_grad() is missing from the loop (or runs only once, before "
                    "it); call it for every batch, before loss.backward().")
            saw_backward, zero_after_backward = True, False
        elif event.kind == "zero_grad":
            if saw_backward:
                zero_after_backward = True
        elif event.kind == "step":
            if not saw_backward:
                raise GradingFailure(
                    f"{what}: at batch {batch} optimizer.step() ran before loss.backward(), "
                    "so it used no gradient (or the previous batch's).\nLikely mistake: the "
                    "order of the steps; it is zero_grad(), forward, loss, backward(), step().")
            if zero_after_backward or event.detail != "set":
                raise GradingFailure(
                    f"{what}: at batch {batch} optimizer.step() found no gradients: they were "
                    "cleared between loss.backward() and step().\nLikely mistake: calling "
                    "optimizer.zero_grad() after backward(); call it before backward() (at the "
                    "start of each batch).")
            saw_backward = False
    steps, backwards = len(setup.log.of("step")), len(setup.log.of("backward"))
    checks.assert_true(
        backwards == n_batches,
        f"{what}: loss.backward() ran {backwards} times for {n_batches} batches.\nLikely "
        "mistake: call loss.backward() exactly once per batch.")
    checks.assert_true(
        steps == n_batches,
        f"{what}: optimizer.step() ran {steps} times for {n_batches} batches.\nLikely mistake: "
        "call optimizer.step() exactly once per batch, after loss.backward().")


def _check_parameters(setup: TrainingSetup, what: str) -> None:
    twin_loader = [(_plain(x), _plain(y)) for x, y in setup.loader]
    reference_train_one_epoch(setup.twin, nn.CrossEntropyLoss(), setup.twin_optimizer,
                              twin_loader, "cpu")
    for found, expected, initial in zip(setup.model.net.parameters(), setup.twin.parameters(),
                                        setup.initial, strict=True):
        checks.assert_close(
            found.detach().numpy(), expected.detach().numpy(),
            what=f"the model's parameters after {what}", rtol=1e-4, atol=1e-6,
            hints=[("the parameters did not change: optimizer.step() never updated them",
                    initial.numpy())])


def check_train_one_epoch(
    fn: object, setup: TrainingSetup, *, aspects: Sequence[str] = ("steps", "metrics", "mode"),
    what: str = "train_one_epoch", reveal: bool = False,
) -> tuple[float, float]:
    """Run the student's ``train_one_epoch`` on ``setup`` and check the requested aspects.

    * "mode": training mode at every batch (also when the model arrives in eval mode), gradient
      tracking on, inputs and targets moved to the device;
    * "steps": gradients cleared before every backward(), step() after backward() and once per
      batch, and the parameters equal to those of a correct epoch on a twin model;
    * "metrics": two Python floats, the mean loss and the accuracy over *samples* of the
      batches the loss function saw, and no computation graph kept across batches.

    Returns (mean loss, accuracy) as numbers when "metrics" is checked.
    """
    result = call_student(fn, *setup.args(), what=what)
    out = (float("nan"), float("nan"))
    if "mode" in aspects:
        _check_train_mode(setup, what)
        _check_moved(setup, what)
    if "steps" in aspects:
        _check_step_order(setup, what)
        _check_parameters(setup, what)
    if "metrics" in aspects:
        _check_metrics(result, setup, what, reveal)
        _check_no_stale_graphs(setup, what)
        out = _result_pair(result, what)
    return out


def check_evaluate(
    fn: object, setup: TrainingSetup, *, aspects: Sequence[str] = ("mode", "metrics"),
    what: str = "evaluate", reveal: bool = False,
) -> tuple[float, float]:
    """Run the student's ``evaluate`` on ``setup`` (model left in train mode) and check it.

    * "mode": eval mode and no gradient tracking at every forward pass, inputs and targets moved
      to the device, parameters and their gradients untouched;
    * "metrics": two Python floats, the mean loss and the accuracy over samples.
    """
    setup.model.train()
    result = call_student(fn, *setup.args(with_optimizer=False), what=what)
    if "mode" in aspects:
        forwards = setup.log.of("forward")
        checks.assert_true(forwards, f"{what} never called the model.")
        in_train = [i + 1 for i, r in enumerate(forwards) if r.training]
        checks.assert_true(
            not in_train,
            f"{what}: the model was in training mode during evaluation (at batch "
            f"{in_train[0] if in_train else 0}), so dropout was still active and the results "
            "are noisy.\nLikely mistake: forgetting model.eval() at the start of evaluate.")
        tracked = [i + 1 for i, r in enumerate(forwards) if r.grad_enabled]
        checks.assert_true(
            not tracked,
            f"{what}: gradient tracking was on during evaluation (at batch "
            f"{tracked[0] if tracked else 0}), which builds a computation graph for nothing "
            "and costs memory.\nLikely mistake: the loop is not inside `with torch.no_grad():` "
            "(or torch.inference_mode()).")
        _check_moved(setup, what)
        for found, initial in zip(setup.model.net.parameters(), setup.initial, strict=True):
            checks.assert_true(
                torch.equal(found.detach(), initial) and found.grad is None,
                f"{what} changed the model's parameters or gradients.\nLikely mistake: "
                "evaluation must not train: no backward() and no optimizer step.")
    if "metrics" in aspects:
        _check_metrics(result, setup, what, reveal)
        return _result_pair(result, what)
    return float("nan"), float("nan")


# ---------------------------------------------------------------------------------------------
# Assignment 06: the toy training run
# ---------------------------------------------------------------------------------------------


def moons_loaders(
    seed: int, n_samples: int = 400, noise: float = 0.2, batch_size: int = 32,
) -> tuple[torch.utils.data.DataLoader, torch.utils.data.DataLoader, torch.Tensor, torch.Tensor]:
    """(train_loader, test_loader, X_test, y_test) for the two-moons set (75 % / 25 %)."""
    from nnlib.data import make_moons, train_test_split

    X, y = make_moons(n_samples, noise=noise, seed=seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=seed)
    train = torch.utils.data.TensorDataset(torch.tensor(X_train, dtype=torch.float32),
                                           torch.tensor(y_train))
    test = torch.utils.data.TensorDataset(torch.tensor(X_test, dtype=torch.float32),
                                          torch.tensor(y_test))
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True,
                                    generator=generator),
        torch.utils.data.DataLoader(test, batch_size=100),
        test.tensors[0],
        test.tensors[1],
    )


class LoopSpy:
    """Correct ``train_one_epoch`` and ``evaluate`` that record how they are called."""

    def __init__(self) -> None:
        self.train_calls: list[tuple[Any, Any, Any, tuple[float, float]]] = []
        self.eval_calls: list[tuple[Any, Any, tuple[float, float]]] = []
        self._train = reference_train_one_epoch  # bound now: immune to tripwires set later
        self._evaluate = reference_evaluate

    def train_one_epoch(self, model: Any, loss_fn: Any, optimizer: Any, loader: Any,
                        device: Any = "cpu") -> tuple[float, float]:
        result = self._train(model, loss_fn, optimizer, loader, device)
        self.train_calls.append((model, loader, optimizer, result))
        return result

    def evaluate(self, model: Any, loss_fn: Any, loader: Any,
                 device: Any = "cpu") -> tuple[float, float]:
        result = self._evaluate(model, loss_fn, loader, device)
        self.eval_calls.append((model, loader, result))
        return result


HISTORY_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def check_toy_training(
    result: object, spy: LoopSpy, train_loader: Any, test_loader: Any, X_test: torch.Tensor,
    y_test: torch.Tensor, epochs: int, *, what: str = "train_toy_model",
    min_accuracy: float = 0.9, reveal: bool = False,
) -> float:
    """Check what ``train_toy_model`` returned, run with `LoopSpy` in place of the loops.

    The model must be an ``nn.Module`` trained by ``epochs`` calls of train_one_epoch on the
    training loader, each followed by one evaluate on the test loader; the history must hold
    the numbers those calls returned; the test itself measures the model's test accuracy.
    Returns that accuracy.
    """
    model, history = checks.as_tuple(result, ["model", "history"], what=what)
    checks.assert_true(isinstance(model, nn.Module),
                       f"{what} returned {_describe(model)} as the model, expected the trained "
                       "torch.nn.Module.")
    trains, evals = spy.train_calls, spy.eval_calls
    checks.assert_equal(len(trains), epochs, what=f"the number of train_one_epoch calls by {what} "
                        f"with epochs={epochs}", hints=[
        ("train_one_epoch must be called once per epoch", lambda f: True)])
    checks.assert_equal(len(evals), epochs, what=f"the number of evaluate calls by {what} with "
                        f"epochs={epochs}", hints=[
        ("call evaluate once per epoch, on the test loader, after train_one_epoch",
         lambda f: True)])
    checks.assert_true(all(c[1] is train_loader for c in trains),
                       f"{what} trained on another loader than train_loader.")
    checks.assert_true(all(c[1] is test_loader for c in evals),
                       f"{what} evaluated on another loader than test_loader.")
    checks.assert_true(
        all(c[0] is model for c in trains) and all(c[0] is model for c in evals),
        f"{what} returned another model than the one it trained (or trained several models)."
        "\nLikely mistake: build the model once, before the loop over the epochs.")
    checks.assert_true(isinstance(history, Mapping),
                       f"history is {_describe(history)}, expected a dict of lists.")
    missing = [k for k in HISTORY_KEYS if k not in history]
    checks.assert_true(not missing, f"history has no key {missing}: it needs "
                       f"{', '.join(HISTORY_KEYS)}.")
    columns = {
        "train_loss": [c[3][0] for c in trains],
        "train_accuracy": [c[3][1] for c in trains],
        "test_loss": [c[2][0] for c in evals],
        "test_accuracy": [c[2][1] for c in evals],
    }
    for key, expected in columns.items():
        found = history[key]
        checks.assert_true(
            isinstance(found, Sequence | np.ndarray) and len(found) == epochs,
            f"history[{key!r}] is {_describe(found)}, expected a list of {epochs} numbers, one "
            "per epoch.\nLikely mistake: append to the list every epoch (do not overwrite it).")
        hints = [(f"history[{key!r}] holds the values of another key: check which value goes "
                  "where", np.asarray(other)) for k, other in columns.items() if k != key]
        checks.assert_close([_as_number(v, f"an entry of history[{key!r}]") for v in found],
                            expected, what=f"history[{key!r}]", rtol=1e-9, reveal=reveal,
                            hints=hints)
    model.eval()
    with torch.no_grad():
        out = model(X_test)
    checks.assert_true(tuple(out.shape) == (len(X_test), 2),
                       f"the model's output for {len(X_test)} points has shape "
                       f"{tuple(out.shape)}, expected ({len(X_test)}, 2): one logit per class.")
    accuracy = int((out.argmax(dim=1) == y_test).sum()) / len(y_test)  # exact: 90 / 100 is 0.9
    losses = columns["train_loss"]
    checks.assert_true(
        losses[-1] < losses[0],
        f"the training loss did not go down ({losses[0]:.4f} in the first epoch, "
        f"{losses[-1]:.4f} in the last).\nLikely mistake: the learning rate (too small to move "
        "or so large that training diverges), or the optimizer is not given model.parameters().")
    checks.assert_true(
        accuracy >= min_accuracy,
        f"the trained model classifies {accuracy:.1%} of the test points correctly, below the "
        f"required {min_accuracy:.0%} (measured by the test on the test set).\nLikely mistake: "
        "a model that can only draw a straight boundary (no hidden layer, or no activation "
        "between the layers), or a learning rate too small for the number of epochs.")
    return accuracy


# ---------------------------------------------------------------------------------------------
# Assignment 07: MNIST
# ---------------------------------------------------------------------------------------------

#: Test accuracy the trained MNIST classifier must reach, by data source (see `load_mnist`).
FULL_MNIST_ACCURACY = 0.97
SAMPLE_MNIST_ACCURACY = 0.88


def required_accuracy(source: str) -> float:
    """The test accuracy required on ``load_mnist().source``: 'full' or 'sample'."""
    return FULL_MNIST_ACCURACY if source == "full" else SAMPLE_MNIST_ACCURACY


def _first_parameter_device(model: nn.Module) -> torch.device:
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def classifier_metrics(model: nn.Module, images: np.ndarray, labels: np.ndarray,
                       batch_size: int = 2000) -> tuple[float, float, np.ndarray]:
    """(accuracy, mean cross-entropy, predicted labels) of ``model`` measured by the test.

    Evaluated in eval mode without gradients, in batches, on the device of the model's
    parameters; the model's train/eval mode is restored afterwards.
    """
    device = _first_parameter_device(model)
    was_training = model.training
    model.eval()
    predicted, loss_sum = [], 0.0
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                xb = torch.as_tensor(images[start:start + batch_size]).to(device)
                yb = torch.as_tensor(labels[start:start + batch_size]).to(device)
                out = model(xb).float()
                loss_sum += float(nn.functional.cross_entropy(out, yb, reduction="sum"))
                predicted.append(out.argmax(dim=1).cpu().numpy())
    finally:
        model.train(was_training)
    predicted_all = np.concatenate(predicted)
    return float(np.mean(predicted_all == labels)), loss_sum / len(labels), predicted_all


def check_classifier_module(model: object, *, what: str, sizes: Sequence[int] = (5,)) -> None:
    """``model`` is an ``nn.Module`` mapping float32 (N, 784) images to (N, 10) logits."""
    checks.assert_true(
        isinstance(model, nn.Module),
        f"{what} is {_describe(model)}, expected a torch.nn.Module (e.g. an nn.Sequential).\n"
        "Likely mistake: returning predictions, a state_dict or an array instead of the model.")
    checks.assert_true(
        any(p.requires_grad for p in model.parameters()),
        f"{what} has no trainable parameters: build it from layers such as nn.Linear.")
    device = _first_parameter_device(model)
    was_training = model.training
    model.eval()
    try:
        for n in sizes:
            x = torch.rand(n, 784, generator=torch.Generator().manual_seed(n)).to(device)
            try:
                with torch.no_grad():
                    out = model(x)
            except Exception as exc:
                raise GradingFailure(
                    f"{what} failed on a float32 batch of shape ({n}, 784): "
                    f"{type(exc).__name__}: {exc}\nLikely mistake: the model must take the "
                    "images as load_mnist returns them, flat rows of 784 pixels; a CNN must "
                    "reshape them itself (e.g. nn.Unflatten(1, (1, 28, 28)) as first layer)."
                ) from None
            checks.assert_true(
                isinstance(out, torch.Tensor) and tuple(out.shape) == (n, 10),
                f"{what} maps a batch of shape ({n}, 784) to {_describe(out)}, expected shape "
                f"({n}, 10): one logit per digit.\nLikely mistake: the size of the last layer "
                "(it must be 10).")
            checks.assert_true(bool(torch.all(torch.isfinite(out))),
                               f"{what} gives NaN or inf outputs.")
    finally:
        model.train(was_training)


@dataclass
class RetrainResult:
    """What `retrain_without_test_set` measured (kept for the next hidden test cell)."""

    error: str | None = None
    model: Any = None
    accuracy: float = float("nan")
    heldout_accuracy: float = float("nan")
    canary_agreement: float = float("nan")
    control_agreement: float = float("nan")
    source: str = ""


#: Results of the last `retrain_without_test_set`, by label (read by later test cells).
RESULTS: dict[str, RetrainResult] = {}


def _looks_like(value: object, target: np.ndarray) -> bool:
    """True when value holds the same numbers as target (an array, tensor or list)."""
    try:
        if isinstance(value, torch.Tensor):
            if tuple(value.shape) != target.shape:
                return False
            arr = value.detach().cpu().numpy()
        elif isinstance(value, np.ndarray):
            if value.shape != target.shape:
                return False
            arr = value
        else:
            return False
        return bool(np.array_equal(arr.astype(target.dtype, copy=False), target))
    except Exception:
        return False


def _replacement(value: object, real: np.ndarray, fake: np.ndarray) -> object:
    if isinstance(value, torch.Tensor):
        return torch.as_tensor(fake).to(value.device, value.dtype)
    return fake.astype(value.dtype, copy=True)  # type: ignore[union-attr]


@contextlib.contextmanager
def _test_set_hidden(namespace: MutableMapping[str, Any], real: Any, fake: Any) -> Iterator[None]:
    """Every way to the test set from ``namespace`` leads to ``fake`` during the block.

    ``real`` / ``fake`` are MNIST objects. Replaced: MNIST objects, arrays and tensors equal to
    the real test images or labels, TensorDatasets / DataLoaders over them, ``load_mnist`` in
    the namespace and in nnlib's modules.
    """
    import nnlib.data
    import nnlib.mnist
    from nnlib.mnist import MNIST

    def fake_load_mnist(*args: Any, **kwargs: Any) -> Any:
        return fake

    saved: list[tuple[Any, str, Any]] = []

    def swap(owner: Any, key: str, value: Any) -> None:
        if isinstance(owner, MutableMapping):
            saved.append((owner, key, owner[key]))
            owner[key] = value
        else:
            saved.append((owner, key, getattr(owner, key)))
            setattr(owner, key, value)

    def faked(value: object) -> object | None:
        if isinstance(value, MNIST):
            return fake
        for real_arr, fake_arr in ((real.x_test, fake.x_test), (real.y_test, fake.y_test)):
            if _looks_like(value, real_arr):
                return _replacement(value, real_arr, fake_arr)
        if isinstance(value, torch.utils.data.TensorDataset):
            tensors = [faked(t) for t in value.tensors]
            if any(t is not None for t in tensors):
                return torch.utils.data.TensorDataset(*[
                    new if new is not None else old
                    for new, old in zip(tensors, value.tensors, strict=True)])
        if isinstance(value, torch.utils.data.DataLoader):
            dataset = faked(value.dataset)
            if dataset is not None:
                return torch.utils.data.DataLoader(dataset, batch_size=value.batch_size or 1)
        return None

    try:
        for key, value in list(namespace.items()):
            if key.startswith("_") or isinstance(value, types.ModuleType):
                continue
            if value is nnlib.mnist.load_mnist:
                swap(namespace, key, fake_load_mnist)
                continue
            new = faked(value)
            if new is not None:
                swap(namespace, key, new)
        for module in (nnlib.data, nnlib.mnist):
            swap(module, "load_mnist", fake_load_mnist)
        yield
    finally:
        for owner, key, value in reversed(saved):
            if isinstance(owner, MutableMapping):
                owner[key] = value
            else:
                setattr(owner, key, value)


def retrain_without_test_set(
    namespace: MutableMapping[str, Any], build_model: object, train_model: object,
    data: Any, rng: np.random.Generator, *, label: str, heldout: int,
    time_limit: float = 50.0,
) -> RetrainResult:
    """Train a new model with the student's ``build_model`` and ``train_model``, measure it.

    The training set is ``data``'s training set minus its last ``heldout`` images. While the
    student's code runs, every way to the test set that ``namespace`` offers (the MNIST object,
    ``load_mnist``, test arrays, tensors and loaders) leads instead to a *canary* set of the size
    of the real test set: training images with their ink inverted (``1 - x``) and every label
    shifted by the same random amount, ``(y + s) % 10``. The images are unlike any training
    image, so a model that trains on them learns the shifted labels quickly (random wrong labels
    on ordinary images would be drowned out by the rest of the training set). The test measures
    the model's accuracy on the real test set, and how often it predicts the canary labels on
    the canary images compared with the other shifts (the control): a model that was trained
    on "the test set" learned the canary labels. The result is stored in ``RESULTS[label]`` and
    returned; ``error`` holds the failure message if something broke.
    """
    from nnlib.mnist import MNIST

    result = RetrainResult(source=data.source)
    RESULTS[label] = result
    n_train = len(data.x_train) - heldout
    x_train, y_train = data.x_train[:n_train].copy(), data.y_train[:n_train].copy()
    x_held, y_held = data.x_train[n_train:].copy(), data.y_train[n_train:].copy()
    shift = int(rng.integers(1, 10))
    chosen = rng.choice(len(data.x_train), size=len(data.x_test), replace=len(data.x_test) > len(
        data.x_train))
    x_canary = (1.0 - data.x_train[chosen]).astype(data.x_train.dtype)
    y_source = data.y_train[chosen]
    canary = ((y_source + shift) % 10).astype(np.int64)
    controls = [((y_source + k) % 10).astype(np.int64) for k in range(1, 10) if k != shift]
    fake = MNIST(x_train=x_train.copy(), y_train=y_train.copy(), x_test=x_canary.copy(),
                 y_test=canary.copy(), source=data.source, data_dir=data.data_dir)
    try:
        with _test_set_hidden(namespace, data, fake), torch.random.fork_rng():
            torch.manual_seed(int(rng.integers(0, 2**31 - 1)))
            model = checks.call(build_model, what="build_model()")
            check_classifier_module(model, what="the model from build_model()")
            trained = checks.call(train_model, model, x_train, y_train,
                                  what="train_model(build_model(), images, labels)",
                                  copy_args=False, time_limit=time_limit)
        check_classifier_module(trained, what="the model returned by train_model")
        result.model = trained
        result.accuracy, _, _ = classifier_metrics(trained, data.x_test, data.y_test)
        result.heldout_accuracy, _, _ = classifier_metrics(trained, x_held, y_held)
        _, _, predicted = classifier_metrics(trained, x_canary, canary)
        result.canary_agreement = float(np.mean(predicted == canary))
        result.control_agreement = float(np.mean([np.mean(predicted == c) for c in controls]))
    except GradingFailure as failure:
        result.error = str(failure)
    return result


def check_no_test_set_training(result: RetrainResult, *, margin: float = 0.2) -> None:
    """Fail if the model of `retrain_without_test_set` learned the canary labels."""
    if result.error is not None:
        raise GradingFailure("The model could not be trained again, so the test could not check "
                             "what it was trained on:\n" + result.error)
    checks.assert_true(
        result.canary_agreement <= result.control_agreement + margin,
        "The model was trained on the test set: retrained by the test with train_model(model, "
        "images, labels), it learned labels that only the test set held (the test replaced the "
        "test set by altered images with deliberately wrong labels, and the model repeats "
        f"{result.canary_agreement:.0%} of them, against {result.control_agreement:.0%} for "
        "comparable labels it never saw).\nLikely mistake: train_model uses mnist.x_test / "
        "mnist.y_test (or a loader over them) for training; train only on the images and "
        "labels passed to it. The test set is only for the final measurement.")


class KnownClassifier(nn.Module):
    """A fixed linear classifier with heavy dropout on its input, for testing ``predict``.

    Its predictions in eval mode are known to the test (``expected``); in train mode dropout
    (p = 0.9) makes them noisy. It records, at every forward pass, the training flag, whether
    gradient tracking was on, and the type, dtype and shape of the input.
    """

    def __init__(self, rng: np.random.Generator, n_features: int = 784) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 10)
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(rng.normal(0, 1, size=(10, n_features))))
            self.linear.bias.copy_(torch.as_tensor(rng.normal(0, 1, size=10)))
        self.dropout = nn.Dropout(0.9)
        self.records: list[dict[str, Any]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.records.append({"training": self.training, "grad": torch.is_grad_enabled(),
                             "type": type(x), "dtype": getattr(x, "dtype", None),
                             "shape": tuple(getattr(x, "shape", ()))})
        return self.linear(self.dropout(x))

    def expected(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labels predicted in eval mode, mask of the images whose top two logits differ
        by more than 1e-3, where rounding cannot change the prediction)."""
        with torch.no_grad():
            logits = nn.functional.linear(torch.as_tensor(images), self.linear.weight,
                                          self.linear.bias).double()
        top2 = torch.topk(logits, 2, dim=1).values
        clear = (top2[:, 0] - top2[:, 1] > 1e-3).numpy()
        return logits.argmax(dim=1).numpy(), clear


def check_predict(fn: object, model: KnownClassifier, images: np.ndarray, *, what: str,
                  reveal: bool = False) -> None:
    """The student's ``predict(model, images)`` against `KnownClassifier` 's known labels."""
    model.train()
    expected, clear = model.expected(images)
    n = len(images)
    found = checks.call(fn, model, images, what=what, copy_args=False)
    checks.assert_true(model.records, f"{what} never called the model.")
    checks.assert_true(
        not any(r["training"] for r in model.records),
        f"{what}: the model was in training mode when predicting, so dropout was active and "
        "the predictions are noisy.\nLikely mistake: call model.eval() before predicting.")
    checks.assert_true(
        not any(r["grad"] for r in model.records),
        f"{what}: gradient tracking was on while predicting (a graph is built for nothing).\n"
        "Likely mistake: predict inside `with torch.no_grad():` (or torch.inference_mode()).")
    if isinstance(found, torch.Tensor):
        raise GradingFailure(
            f"{what} returned {_describe(found)}, expected a NumPy array.\nLikely mistake: "
            "convert at the end with .cpu().numpy().")
    checks.assert_true(isinstance(found, np.ndarray),
                       f"{what} returned {_describe(found)}, expected a NumPy array of labels.")
    checks.assert_true(
        found.dtype.kind in "iu",
        f"{what} returned an array of dtype {found.dtype}, expected integer labels (0-9).\n"
        "Likely mistake: returning the logits or probabilities instead of their argmax.")
    hints = [("the argmax was taken over the wrong axis: dim=1 picks the class of each image",
              lambda f: f.shape == (10,)),
             ("return one label per image, shape (N,)", lambda f: f.shape != (n,))]
    if found.shape != (n,):
        checks.assert_close(found, expected, what=what, reveal=reveal, hints=hints)
    # Compare where the two best logits are clearly apart (rounding cannot swap them there).
    checks.assert_close(found[clear], expected[clear], what=what, rtol=0, atol=0,
                        reveal=reveal, hints=hints)
