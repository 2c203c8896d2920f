"""Checks for the graded training-loop and MNIST exercises.

The tests of assignments 06 (a PyTorch training loop) and 07 (an MNIST classifier) check what
the student's code *does*, never its source text.

For 06 the work is split across the grading boundary. `nncourse.fixtures.training` (public
fixture code) builds, where the student's code runs, an instrumented set-up from a plain
description (`training_spec`: the data, sizes, seeds, lr, momentum, dropout, the model's mode
before the call), runs the student's function on it and reports a plain record: the ordered
``zero_grad`` / ``backward`` / ``step`` / forward events (with the model's mode, gradient
tracking, whether the batch was moved to the device and whether old computation graphs were
still alive), the batches the loss function saw, what the function returned and the
parameters afterwards. The checks here run in the grader: `check_train_one_epoch`,
`check_evaluate` and `check_toy_training` compute what a correct run gives from the
description alone (the parameters after a correct epoch, the sample-averaged loss and
accuracy of the batches seen, the moons' test labels) and turn the record into a
`GradingFailure` that names the mistake (gradients never cleared, ``zero_grad()`` after
``backward()``, ``step()`` before ``backward()``, training in eval mode, evaluating in train
mode or with gradient tracking, batches not moved to the device, averages over batches instead
of samples, tensors returned instead of floats, graphs kept across steps, a history that does
not hold what the loops returned, a toy model below the required accuracy).

For 07 the models live where the student's code runs: `nncourse.fixtures.mnist` runs them
there and reports plain facts, judged here. `required_accuracy`, `classifier_metrics` (the
test evaluates the model itself, from its outputs), `check_classifier_module`,
`train_new_model`, `retrain_without_test_set` (retrains with the student's code while every
way to the test set leads to a canary set with wrong labels, drawn here, to detect training on
the test set; `earlier_retrain` hands its result to the next test cell) and `KnownClassifier`
(a model with known predictions and dropout, for ``predict``).

Everything here is public: it holds no hidden test data. The hidden tests draw their inputs
from a seeded generator (``nncourse.checks.rng``) and pass them to these helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from nncourse import checks, remote
from nncourse.checks import GradingFailure
from nncourse.fixtures import mnist as mnist_fixtures
from nncourse.fixtures import training
from nncourse.fixtures.training import HISTORY_KEYS, moons_loaders
from nncourse.fixtures.training import describe as _describe

__all__ = [
    "FULL_MNIST_ACCURACY",
    "HISTORY_KEYS",
    "RESULTS",
    "SAMPLE_MNIST_ACCURACY",
    "KnownClassifier",
    "RetrainResult",
    "check_classifier_module",
    "check_evaluate",
    "check_no_test_set_training",
    "check_predict",
    "check_toy_training",
    "check_train_one_epoch",
    "classifier_metrics",
    "earlier_retrain",
    "moons_loaders",
    "required_accuracy",
    "retrain_without_test_set",
    "TrainedModel",
    "check_training_loop",
    "train_new_model",
    "training_spec",
]


# ---------------------------------------------------------------------------------------------
# Assignment 06: the set-ups of train_one_epoch and evaluate, and the judgement of their runs
# ---------------------------------------------------------------------------------------------


def training_spec(
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
    device: str = "cpu",
    spread: float = 2.0,
) -> dict[str, Any]:
    """The plain description of a fresh instrumented set-up, drawn from ``rng``.

    The loader will hold ``n_batches - 1`` full batches of ``batch_size`` and a last batch of
    ``last`` samples (``last < batch_size``, so averages over batches and over samples differ).
    The model is left in ``start_mode`` ('train' or 'eval') before the student's code runs.
    `nncourse.fixtures.training.run_loop` builds the set-up from it where the student's code
    runs; the checks below compute what a correct run gives from it.
    """
    sizes = [batch_size] * (n_batches - 1) + [last]
    n = sum(sizes)
    X = rng.normal(0.0, spread, size=(n, n_features)).astype(np.float32)
    y = rng.integers(0, n_classes, size=n).astype(np.int64)
    return {
        "X": X, "y": y, "sizes": sizes, "batch_size": int(batch_size),
        "n_features": int(n_features), "n_classes": int(n_classes), "hidden": int(hidden),
        "dropout": float(dropout), "torch_seed": int(rng.integers(0, 2**31 - 1)),
        "lr": float(lr), "momentum": float(momentum), "start_mode": str(start_mode),
        "device": str(device),
    }


def _initial_parameters(spec: Mapping[str, Any]) -> list[np.ndarray]:
    """The set-up's parameters before the student's code runs (rebuilt here from the spec)."""
    net = training.make_net(spec["n_features"], spec["hidden"], spec["n_classes"],
                            spec["dropout"], spec["torch_seed"])
    return [p.detach().numpy().copy() for p in net.parameters()]


def _expected_parameters(spec: Mapping[str, Any]) -> list[np.ndarray]:
    """The parameters after one correct epoch on ``spec`` (no dropout): plain SGD with
    momentum, buf = momentum * buf + grad (buf = grad at the first step), p -= lr * buf,
    on the gradient of each batch's mean cross-entropy."""
    net = training.make_net(spec["n_features"], spec["hidden"], spec["n_classes"], 0.0,
                            spec["torch_seed"])
    params = list(net.parameters())
    bufs: list[torch.Tensor | None] = [None] * len(params)
    X, y = torch.as_tensor(spec["X"]), torch.as_tensor(spec["y"])
    start = 0
    for size in spec["sizes"]:
        rows = slice(start, start + size)
        start += size
        loss = nn.functional.cross_entropy(net(X[rows]), y[rows])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                buf = bufs[i]
                bufs[i] = g.clone() if buf is None else spec["momentum"] * buf + g
                p -= spec["lr"] * bufs[i]
    return [p.detach().numpy().copy() for p in params]


def _as_number(value: Mapping[str, Any], what: str) -> float:
    """The number a fixture reported (see `nncourse.fixtures.training`), or a failure saying
    that it must be a float."""
    if value["kind"] == "tensor":
        raise GradingFailure(
            f"{what} is {value['text']}, expected a Python float.\n"
            "Likely mistake: returning a tensor; take the number out with .item() (a tensor "
            "that requires grad also keeps the whole computation graph alive)."
        )
    if value["kind"] != "number":
        raise GradingFailure(
            f"{what} is {value['text']}, expected a Python float.\n"
            "Likely mistake: return plain numbers, e.g. total_loss / n_samples."
        )
    return float(value["value"])


def _as_pair(returned: Mapping[str, Any], names: Sequence[str], what: str) -> None:
    """The failure of `checks.as_tuple` when the reported value was not a pair."""
    if not returned["pair"]:
        raise GradingFailure(
            f"{what} should return {len(names)} values, ({', '.join(names)}), but returned "
            f"{returned['text']}.\nLikely mistake: the return statement; return them as a tuple."
        )


@dataclass
class _Expected:
    loss: float
    accuracy: float
    batch_losses: list[float]
    batch_correct: list[int]
    batch_sizes: list[int]


def _expected_from_records(records: Sequence[Mapping[str, Any]]) -> _Expected:
    """Mean loss and accuracy over samples of the batches the loss function saw."""
    losses, correct, sizes = [], [], []
    for r in records:
        logits, targets = torch.as_tensor(r["logits"]), torch.as_tensor(r["targets"])
        losses.append(float(nn.functional.cross_entropy(logits, targets)))
        correct.append(int((logits.argmax(dim=1) == targets).sum()))
        sizes.append(len(targets))
    n = sum(sizes)
    loss = sum(v * s for v, s in zip(losses, sizes, strict=True)) / n
    return _Expected(loss, sum(correct) / n, losses, correct, sizes)


def _metric_hints(expected: _Expected, spec: Mapping[str, Any]) -> tuple[list, list]:
    losses, correct, sizes = expected.batch_losses, expected.batch_correct, expected.batch_sizes
    n_batches, n = len(sizes), sum(sizes)
    weighted = sum(v * s for v, s in zip(losses, sizes, strict=True))
    nominal = len(spec["sizes"]) * spec["batch_size"]
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


def _result_pair(record: Mapping[str, Any], what: str) -> tuple[float, float]:
    _as_pair(record["result"], ["mean_loss", "accuracy"], what)
    loss, accuracy = record["result"]["items"]
    return (_as_number(loss, f"the mean loss returned by {what}"),
            _as_number(accuracy, f"the accuracy returned by {what}"))


def _of(record: Mapping[str, Any], kind: str) -> list[Any]:
    return [detail for k, detail in record["events"] if k == kind]


def _check_metrics(record: Mapping[str, Any], spec: Mapping[str, Any], what: str,
                   reveal: bool) -> None:
    """The returned (mean loss, accuracy) against the batches the loss function saw."""
    loss, accuracy = _result_pair(record, what)
    records = record["losses"]
    checks.assert_true(records, f"{what} never called loss_fn: compute the loss of every batch "
                       "with loss_fn(model(xb), yb).")
    seen = sum(len(r["targets"]) for r in records)
    n_samples = sum(spec["sizes"])
    checks.assert_true(
        seen >= n_samples,
        f"{what} computed the loss of {seen} samples, but the loader holds "
        f"{n_samples}.\nLikely mistake: the loop stops early or skips the last batch; "
        "use every batch of the loader once.")
    _check_loss_inputs(record, what)
    after = _forwards_after_training(record)
    if after:
        _second_pass(after, what)
    expected = _expected_from_records(records)
    loss_hints, accuracy_hints = _metric_hints(expected, spec)
    checks.assert_close(loss, expected.loss, what=f"the mean loss returned by {what}",
                        rtol=1e-5, atol=1e-7, reveal=reveal, hints=loss_hints)
    checks.assert_close(accuracy, expected.accuracy, what=f"the accuracy returned by {what}",
                        rtol=1e-6, atol=1e-9, reveal=reveal, hints=accuracy_hints)


def _forwards_after_training(record: Mapping[str, Any]) -> set[int]:
    """The forward passes (numbered from 1) that came after the last optimiser step, when
    there were steps and forward passes before it too: a second pass over the data."""
    kinds = [kind for kind, _ in record["events"]]
    steps = [k for k, kind in enumerate(kinds) if kind == "step"]
    forwards = [k for k, kind in enumerate(kinds) if kind == "forward"]
    if not steps:
        return set()
    after = {i + 1 for i, k in enumerate(forwards) if k > steps[-1]}
    return after if len(after) < len(forwards) else set()


def _second_pass(after: set[int], what: str) -> None:
    raise GradingFailure(
        f"{what}: after its last optimizer.step() the model ran again (forward pass "
        f"{min(after)}): a second pass over the data.\nLikely mistake: take the loss and the "
        "accuracy from the training batches themselves (loss.item() and the outputs of each "
        "step), not from another pass after training.")


def _check_loss_inputs(record: Mapping[str, Any], what: str) -> None:
    """The loss function must get the model's raw outputs (logits), as they came out.

    (Their log-softmax is accepted too: cross-entropy gives it the same loss.)
    """
    outputs = [np.asarray(o, dtype=np.float64) for o in record.get("outputs", [])]
    for index, entry in enumerate(record["losses"]):
        given = np.asarray(entry["logits"], dtype=np.float64)
        same_shape = [o for o in outputs if o.shape == given.shape]
        if any(np.allclose(given, o, rtol=1e-5, atol=1e-6) for o in same_shape):
            continue
        logged = [torch.log_softmax(torch.as_tensor(o), dim=1).numpy() for o in same_shape]
        if any(np.allclose(given, o, rtol=1e-5, atol=1e-6) for o in logged):
            continue
        soft = [torch.softmax(torch.as_tensor(o), dim=1).numpy() for o in same_shape]
        if any(np.allclose(given, o, rtol=1e-5, atol=1e-6) for o in soft):
            why = ("a softmax was applied before the loss: nn.CrossEntropyLoss applies "
                   "log-softmax itself, so give it the model's raw outputs (logits)")
        elif any(np.allclose(given, -o, rtol=1e-5, atol=1e-6) for o in same_shape):
            why = "the outputs were negated: give loss_fn the model's outputs as they are"
        else:
            why = ("loss_fn must get the model's outputs for the batch, model(xb), as they "
                   "are (raw logits)")
        raise GradingFailure(
            f"{what}: at batch {index + 1} loss_fn got other values than the model's outputs.\n"
            f"Likely mistake: {why}.")


def _check_no_stale_graphs(record: Mapping[str, Any], what: str) -> None:
    for index, forward in enumerate(_of(record, "forward")):
        checks.assert_true(
            forward["stale_graphs"] == 0,
            f"{what}: at batch {index + 1} the computation graph of "
            f"{forward['stale_graphs']} earlier batch(es) was still alive.\nLikely mistake: "
            "accumulating a tensor that requires grad across steps (total_loss += loss, or "
            "keeping the outputs in a list); "
            "accumulate plain numbers with loss.item() (or tensors after .detach()).")


def _check_train_mode(record: Mapping[str, Any], spec: Mapping[str, Any], what: str) -> None:
    forwards = _of(record, "forward")
    checks.assert_true(forwards, f"{what} never called the model.")
    in_eval = [i + 1 for i, r in enumerate(forwards) if not r["training"]]
    after = _forwards_after_training(record)
    if in_eval and set(in_eval) <= after:
        _second_pass(after, what)
    if in_eval:
        if spec["start_mode"] == "eval":
            why = ("the model was in eval mode before the call (as evaluate leaves it) and "
                   "train_one_epoch never switched it back: call model.train() at the start "
                   "of every epoch")
        else:
            why = "something switched the model to eval mode: training runs in model.train()"
        raise GradingFailure(
            f"{what}: the model was in eval mode during training (at batch {in_eval[0]}).\n"
            f"Likely mistake: {why}.")
    no_grad = [i + 1 for i, r in enumerate(forwards) if not r["grad_enabled"]]
    checks.assert_true(
        not no_grad,
        f"{what}: gradient tracking was off during the forward pass of batch "
        f"{no_grad[0] if no_grad else 0}.\n"
        "Likely mistake: training inside torch.no_grad() or torch.inference_mode(); only "
        "evaluation turns gradient tracking off.")


def _check_moved(record: Mapping[str, Any], spec: Mapping[str, Any], what: str) -> None:
    stranded = [i + 1 for i, r in enumerate(_of(record, "forward")) if not r["moved"]]
    first = stranded[0] if stranded else 0
    checks.assert_true(
        not stranded,
        f"{what}: the inputs of batch {first} reached the model without being moved to "
        f"the device ({spec['device']!r}).\nLikely mistake: forgetting xb = xb.to(device) for "
        "each batch (it matters as soon as the model is on a GPU).")
    targets = [i + 1 for i, r in enumerate(record["losses"]) if not r["moved"]]
    first = targets[0] if targets else 0
    checks.assert_true(
        not targets,
        f"{what}: the targets of batch {first} reached loss_fn without being moved to the "
        f"device ({spec['device']!r}).\nLikely mistake: moving the inputs but not the labels; "
        "use yb = yb.to(device) too.")


def _check_step_order(record: Mapping[str, Any], spec: Mapping[str, Any], what: str) -> None:
    """zero_grad before backward, step after backward, once per batch."""
    n_batches = len(spec["sizes"])
    saw_backward = False
    zero_after_backward = False
    batch = 0
    for kind, detail in record["events"]:
        if kind == "forward":
            batch += 1
        elif kind == "backward":
            if detail == "set":
                raise GradingFailure(
                    f"{what}: at batch {batch} the gradients of the previous batch were still "
                    "there when backward() ran, so the two were added up.\nLikely mistake: "
                    "optimizer.zero_grad() is missing from the loop (or runs only once, before "
                    "it); call it for every batch, before loss.backward().")
            saw_backward, zero_after_backward = True, False
        elif kind == "zero_grad":
            if saw_backward:
                zero_after_backward = True
        elif kind == "step":
            if not saw_backward:
                raise GradingFailure(
                    f"{what}: at batch {batch} optimizer.step() ran before loss.backward(), "
                    "so it used no gradient (or the previous batch's).\nLikely mistake: the "
                    "order of the steps; it is zero_grad(), forward, loss, backward(), step().")
            if zero_after_backward or detail != "set":
                raise GradingFailure(
                    f"{what}: at batch {batch} optimizer.step() found no gradients: they were "
                    "cleared between loss.backward() and step().\nLikely mistake: calling "
                    "optimizer.zero_grad() after backward(); call it before backward() (at the "
                    "start of each batch).")
            saw_backward = False
    steps, backwards = len(_of(record, "step")), len(_of(record, "backward"))
    checks.assert_true(
        backwards == n_batches,
        f"{what}: loss.backward() ran {backwards} times for {n_batches} batches.\nLikely "
        "mistake: call loss.backward() exactly once per batch.")
    checks.assert_true(
        steps == n_batches,
        f"{what}: optimizer.step() ran {steps} times for {n_batches} batches.\nLikely mistake: "
        "call optimizer.step() exactly once per batch, after loss.backward().")


def _check_parameters(record: Mapping[str, Any], spec: Mapping[str, Any], what: str) -> None:
    for found, expected, initial in zip(record["params"], _expected_parameters(spec),
                                        _initial_parameters(spec), strict=True):
        checks.assert_close(
            found, expected, what=f"the model's parameters after {what}", rtol=1e-4, atol=1e-6,
            hints=[("the parameters did not change: optimizer.step() never updated them",
                    initial)])


def check_train_one_epoch(
    fn: object, spec: Mapping[str, Any], *,
    aspects: Sequence[str] = ("steps", "metrics", "mode"), what: str = "train_one_epoch",
    reveal: bool = False,
) -> tuple[float, float]:
    """Run the student's ``train_one_epoch`` on the set-up ``spec`` (`training_spec`) and check
    the requested aspects of its record (`nncourse.fixtures.training.run_loop`).

    * "mode": training mode at every batch (also when the model arrives in eval mode), gradient
      tracking on, inputs and targets moved to the device;
    * "steps": gradients cleared before every backward(), step() after backward() and once per
      batch, and the parameters equal to those of a correct epoch (computed here);
    * "metrics": two Python floats, the mean loss and the accuracy over *samples* of the
      batches the loss function saw, and no computation graph kept across batches.

    Returns (mean loss, accuracy) as numbers when "metrics" is checked.
    """
    record = checks.fixture(training.run_loop, fn, spec, what=what)
    out = (float("nan"), float("nan"))
    if "mode" in aspects:
        _check_train_mode(record, spec, what)
        _check_moved(record, spec, what)
    if "steps" in aspects:
        _check_step_order(record, spec, what)
        _check_parameters(record, spec, what)
    if "metrics" in aspects:
        _check_metrics(record, spec, what, reveal)
        _check_no_stale_graphs(record, what)
        out = _result_pair(record, what)
    return out


def check_evaluate(
    fn: object, spec: Mapping[str, Any], *, aspects: Sequence[str] = ("mode", "metrics"),
    what: str = "evaluate", reveal: bool = False,
) -> tuple[float, float]:
    """Run the student's ``evaluate`` on the set-up ``spec`` (model left in train mode) and
    check its record.

    * "mode": eval mode and no gradient tracking at every forward pass, inputs and targets moved
      to the device, parameters and their gradients untouched;
    * "metrics": two Python floats, the mean loss and the accuracy over samples.
    """
    record = checks.fixture(training.run_loop, fn, spec, evaluate=True, what=what)
    if "mode" in aspects:
        forwards = _of(record, "forward")
        checks.assert_true(forwards, f"{what} never called the model.")
        in_train = [i + 1 for i, r in enumerate(forwards) if r["training"]]
        checks.assert_true(
            not in_train,
            f"{what}: the model was in training mode during evaluation (at batch "
            f"{in_train[0] if in_train else 0}), so dropout was still active and the results "
            "are noisy.\nLikely mistake: forgetting model.eval() at the start of evaluate.")
        tracked = [i + 1 for i, r in enumerate(forwards) if r["grad_enabled"]]
        checks.assert_true(
            not tracked,
            f"{what}: gradient tracking was on during evaluation (at batch "
            f"{tracked[0] if tracked else 0}), which builds a computation graph for nothing "
            "and costs memory.\nLikely mistake: the loop is not inside `with torch.no_grad():` "
            "(or torch.inference_mode()).")
        _check_moved(record, spec, what)
        for found, grad_none, initial in zip(record["params"], record["grads_none"],
                                             _initial_parameters(spec), strict=True):
            checks.assert_true(
                np.array_equal(found, initial) and grad_none,
                f"{what} changed the model's parameters or gradients.\nLikely mistake: "
                "evaluation must not train: no backward() and no optimizer step.")
    if "metrics" in aspects:
        _check_metrics(record, spec, what, reveal)
        return _result_pair(record, what)
    return float("nan"), float("nan")


# ---------------------------------------------------------------------------------------------
# Assignment 06: the toy training run
# ---------------------------------------------------------------------------------------------


def check_toy_training(
    fn: object, seed: int, epochs: int, *, what: str = "train_toy_model",
    call_what: str | None = None, min_accuracy: float = 0.9, reveal: bool = False,
) -> float:
    """Run the student's ``train_toy_model`` on the moons of ``seed`` and check what it did.

    It runs with stand-ins for train_one_epoch and evaluate that record their calls
    (`nncourse.fixtures.training.run_toy_model`). The model must be an ``nn.Module`` trained
    by ``epochs`` calls of train_one_epoch on the training loader, each followed by one
    evaluate on the test loader; the history must hold the numbers those calls returned; the
    test measures the model's accuracy on the test points itself. Returns that accuracy.
    ``call_what`` names the call in messages about it (an error, a forbidden helper).
    """
    if call_what is None:
        call_what = f"{what}(train_loader, test_loader, epochs={epochs})"
    facts = checks.fixture(training.run_toy_model, fn, seed, epochs, what=call_what)
    _as_pair(facts["result"], ["model", "history"], what)
    checks.assert_true(facts["model"]["module"],
                       f"{what} returned {facts['model']['text']} as the model, expected the "
                       "trained torch.nn.Module.")
    trains, evals = facts["train_calls"], facts["eval_calls"]
    checks.assert_equal(len(trains), epochs, what=f"the number of train_one_epoch calls by {what} "
                        f"with epochs={epochs}", hints=[
        ("train_one_epoch must be called once per epoch", lambda f: True)])
    checks.assert_equal(len(evals), epochs, what=f"the number of evaluate calls by {what} with "
                        f"epochs={epochs}", hints=[
        ("call evaluate once per epoch, on the test loader, after train_one_epoch",
         lambda f: True)])
    checks.assert_true(all(c["loader"] for c in trains),
                       f"{what} trained on another loader than train_loader.")
    checks.assert_true(all(c["loader"] for c in evals),
                       f"{what} evaluated on another loader than test_loader.")
    checks.assert_true(
        all(c["model"] for c in trains) and all(c["model"] for c in evals),
        f"{what} returned another model than the one it trained (or trained several models)."
        "\nLikely mistake: build the model once, before the loop over the epochs.")
    history = facts["history"]
    checks.assert_true(history["mapping"],
                       f"history is {history['text']}, expected a dict of lists.")
    missing = [k for k in HISTORY_KEYS if k not in history["keys"]]
    checks.assert_true(not missing, f"history has no key {missing}: it needs "
                       f"{', '.join(HISTORY_KEYS)}.")
    columns = {
        "train_loss": [c["result"][0] for c in trains],
        "train_accuracy": [c["result"][1] for c in trains],
        "test_loss": [c["result"][0] for c in evals],
        "test_accuracy": [c["result"][1] for c in evals],
    }
    for key, expected in columns.items():
        found = history["columns"][key]
        checks.assert_true(
            found["sequence"],
            f"history[{key!r}] is {found['text']}, expected a list of {epochs} numbers, one "
            "per epoch.\nLikely mistake: append to the list every epoch (do not overwrite it).")
        hints = [(f"history[{key!r}] holds the values of another key: check which value goes "
                  "where", np.asarray(other)) for k, other in columns.items() if k != key]
        checks.assert_close([_as_number(v, f"an entry of history[{key!r}]")
                             for v in found["items"]],
                            expected, what=f"history[{key!r}]", rtol=1e-9, reveal=reveal,
                            hints=hints)
    _, X_test, _, y_test = training.moons_data(seed)
    logits = facts.get("logits")
    shape = tuple(logits.shape) if isinstance(logits, np.ndarray) else facts.get("output")
    checks.assert_true(shape == (len(X_test), 2),
                       f"the model's output for {len(X_test)} points has shape "
                       f"{shape}, expected ({len(X_test)}, 2): one logit per class.")
    accuracy = int((logits.argmax(axis=1) == y_test).sum()) / len(y_test)  # exact: 90/100 is 0.9
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


# The models of 07 live where the student's code runs: `nncourse.fixtures.mnist` runs them there
# and reports plain facts (what a model is, its outputs, the predictions of a retrained model,
# what `predict` did to a known model), which the checks below judge.


def _described(value: object) -> str:
    """`describe` of a value, asked where it lives when it is a proxy for a kernel object."""
    if isinstance(value, remote.RemoteObject):
        return str(checks.fixture(mnist_fixtures.describe, value))
    return _describe(value)


def _is_tensor(value: object) -> bool:
    if isinstance(value, remote.RemoteObject):
        return value._remote_type in ("Tensor", "Parameter")
    return isinstance(value, torch.Tensor)


def _metrics(logits: object, labels: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(accuracy, mean cross-entropy, predicted labels) of the logits a fixture reported."""
    labels = np.asarray(labels, dtype=np.int64)
    if not (isinstance(logits, np.ndarray) and logits.shape == (len(labels), 10)
            and logits.dtype.kind == "f"):
        raise GradingFailure(f"the model's outputs could not be measured (found "
                             f"{_describe(logits)}, expected shape ({len(labels)}, 10)).")
    out = torch.as_tensor(logits.astype(np.float32))
    loss = float(nn.functional.cross_entropy(out, torch.as_tensor(labels), reduction="sum"))
    predicted = out.argmax(dim=1).numpy()
    return float(np.mean(predicted == labels)), loss / len(labels), predicted


def classifier_metrics(model: nn.Module, images: np.ndarray, labels: np.ndarray,
                       batch_size: int = 2000) -> tuple[float, float, np.ndarray]:
    """(accuracy, mean cross-entropy, predicted labels) of ``model`` measured by the test.

    The model runs where it lives (`nncourse.fixtures.mnist.logits`): in eval mode without
    gradients, in batches, on the device of its parameters, its train/eval mode restored
    afterwards; the measurement is made here from its outputs.
    """
    return _metrics(checks.fixture(mnist_fixtures.logits, model, images, batch_size), labels)


def _judge_classifier(facts: Mapping[str, Any], *, what: str) -> None:
    """Fail unless `nncourse.fixtures.mnist.classifier_facts` describe a usable classifier."""
    checks.assert_true(
        facts["module"],
        f"{what} is {facts['described']}, expected a torch.nn.Module (e.g. an nn.Sequential).\n"
        "Likely mistake: returning predictions, a state_dict or an array instead of the model.")
    checks.assert_true(
        facts["trainable"],
        f"{what} has no trainable parameters: build it from layers such as nn.Linear.")
    for run in facts["runs"]:
        n = run["n"]
        if run["error"] is not None:
            raise GradingFailure(
                f"{what} failed on a float32 batch of shape ({n}, 784): {run['error']}\n"
                "Likely mistake: the model must take the images as load_mnist returns them, "
                "flat rows of 784 pixels; a CNN must reshape them itself (e.g. "
                "nn.Unflatten(1, (1, 28, 28)) as first layer).")
        checks.assert_true(
            run["shape"] == [n, 10],
            f"{what} maps a batch of shape ({n}, 784) to {run['described']}, expected shape "
            f"({n}, 10): one logit per digit.\nLikely mistake: the size of the last layer "
            "(it must be 10).")
        checks.assert_true(run["finite"], f"{what} gives NaN or inf outputs.")
        checks.assert_true(
            not run.get("probabilities"),
            f"{what} outputs probabilities (each row is >= 0 and sums to 1), not logits.\n"
            "Likely mistake: a softmax at the end of the model; nn.CrossEntropyLoss applies "
            "log-softmax itself, so the model must end with its last nn.Linear (raw logits).")


def check_classifier_module(model: object, *, what: str, sizes: Sequence[int] = (5,)) -> int:
    """``model`` is an ``nn.Module`` mapping float32 (N, 784) images to (N, 10) logits.

    Tried on random batches of the given sizes where the model lives
    (`nncourse.fixtures.mnist.classifier_facts`). Returns its number of parameters.
    """
    facts = checks.fixture(mnist_fixtures.classifier_facts, model, [int(n) for n in sizes])
    _judge_classifier(facts, what=what)
    return int(facts["parameters"])


@dataclass
class TrainedModel:
    """What `train_new_model` found: the ``model`` train_model returned (a proxy under
    ``nncourse grade``), the new model's mean ``loss_before`` training on the images, how far
    training moved its parameters (``parameter_change``, the largest change, or None; see
    `why_training_stalled`) and how the loop ran the model (``loop``; see
    `check_training_loop`)."""

    model: Any
    loss_before: float
    parameter_change: float | None
    loop: Mapping[str, Any] | None


def train_new_model(build_model: object, train_model: object, images: np.ndarray,
                    labels: np.ndarray, *, seed: int, what: str,
                    time_limit: float = 50.0) -> TrainedModel:
    """``train_model(build_model(), images, labels)`` under ``torch.manual_seed(seed)``.

    Runs where the student's code lives (`nncourse.fixtures.mnist.train_new_model`, which
    hands the new model over in eval mode, as evaluating it leaves it) and checks the new
    model like `check_classifier_module`.
    """
    report = checks.fixture(mnist_fixtures.train_new_model, build_model, train_model, images,
                            labels, seed=int(seed), what=what, time_limit=time_limit)
    _judge_classifier(report["built"], what="the model from build_model()")
    _, loss_before, _ = _metrics(report["logits_before"], labels)
    return TrainedModel(report["model"], loss_before, report["parameter_change"],
                        report["loop"])


def check_training_loop(trained: TrainedModel, *, what: str) -> None:
    """Fail when the training loop of `train_new_model` ran the model in eval mode although
    it has dropout or batch norm, or fed it the images in their given order (no shuffling)."""
    loop = trained.loop
    if not loop or not loop["forwards"]:
        return  # the model was never run with gradients: the loss tells what went wrong
    if loop["in_eval"] and loop["mode_matters"]:
        raise GradingFailure(
            f"{what}: the model came in eval mode (as evaluating it leaves it), and "
            f"{loop['in_eval']} of its {loop['forwards']} training forward passes ran in eval "
            "mode, so its dropout or batch norm layers behaved as at test time.\n"
            "Likely mistake: model.train() is missing at the start of the epoch loop.")
    if loop["first_in_order"]:
        raise GradingFailure(
            f"{what}: the first training batch held the first images in the order they were "
            "given: the batches were not shuffled.\nLikely mistake: the DataLoader needs "
            "shuffle=True (a new random order in every epoch).")


#: Below this largest change of a parameter (relative to its size), training has "hardly
#: moved" the model.
HARDLY_MOVED = 0.05


def why_training_stalled(change: float | None) -> str:
    """The likely mistake when training did not lower the loss, from how far it moved the
    parameters of the model it was given (`train_new_model`)."""
    if change == 0.0:
        return ("the parameters never changed: the optimiser is not given model.parameters() "
                "of this model, or zero_grad/backward/step are missing from the loop")
    if change is not None and change < HARDLY_MOVED:
        return (f"the parameters hardly moved (by at most {change:.1%} of their size): the "
                "learning rate is far too small, or there are too few steps")
    return ("the loss did not fall although the parameters moved: check the loss function "
            "(CrossEntropyLoss on the raw outputs and the labels) and the order "
            "zero_grad, backward, step")


@dataclass
class RetrainResult:
    """What `retrain_without_test_set` measured (kept for the next hidden test cell)."""

    error: str | None = None
    accuracy: float = float("nan")
    heldout_accuracy: float = float("nan")
    canary_agreement: float = float("nan")
    control_agreement: float = float("nan")
    source: str = ""
    parameter_change: float | None = None  # how far training moved the parameters


#: Results of the last `retrain_without_test_set`, by label (read by later test cells through
#: `earlier_retrain`, which gives them only to the kernel that was measured).
RESULTS: dict[str, RetrainResult] = {}
_MEASURED: dict[str, Any] = {}  # label -> the link of the kernel measured (None in-kernel)


def _agreement(predicted: object, labels: np.ndarray) -> float:
    if not (isinstance(predicted, np.ndarray) and predicted.shape == labels.shape):
        raise GradingFailure("the retrained model's predictions could not be measured (found "
                             f"{_describe(predicted)}, expected shape {labels.shape}).")
    return float(np.mean(predicted == labels))


def retrain_without_test_set(
    build_model: object, train_model: object, data: Any, rng: np.random.Generator, *,
    label: str, heldout: int, time_limit: float = 50.0,
) -> RetrainResult:
    """Train a new model with the student's ``build_model`` and ``train_model``, measure it.

    The training set is ``data``'s training set minus its last ``heldout`` images. While the
    student's code runs, every way to the test set that the notebook offers (the MNIST object,
    ``load_mnist``, test arrays, tensors and loaders) leads instead to a *canary* set of the
    size of the real test set: training images with their ink inverted (``1 - x``) and every
    label shifted by the same random amount, ``(y + s) % 10``. The images are unlike any
    training image, so a model that trains on them learns the shifted labels quickly (random
    wrong labels on ordinary images would be drowned out by the rest of the training set). The
    test measures the model's accuracy on the real test set, and how often it predicts the
    canary labels on the canary images compared with the other shifts (the control): a model
    that was trained on "the test set" learned the canary labels.

    The canary is drawn here; the training and the predictions happen where the student's code
    runs (`nncourse.fixtures.mnist.retrain_without_test_set`, on MNIST loaded there afresh) and
    are measured here against ``data``. The result is stored in ``RESULTS[label]`` and
    returned; ``error`` holds the failure message if something broke.
    """
    result = RetrainResult(source=data.source)
    RESULTS[label], _MEASURED[label] = result, remote.current()
    n_train = len(data.x_train) - heldout
    shift = int(rng.integers(1, 10))
    chosen = rng.choice(len(data.x_train), size=len(data.x_test), replace=len(data.x_test) > len(
        data.x_train))
    seed = int(rng.integers(0, 2**31 - 1))
    y_source = data.y_train[chosen]
    canary = ((y_source + shift) % 10).astype(np.int64)
    controls = [((y_source + k) % 10).astype(np.int64) for k in range(1, 10) if k != shift]
    try:
        report = checks.fixture(mnist_fixtures.retrain_without_test_set, build_model,
                                train_model, heldout=heldout, shift=shift, chosen=chosen,
                                seed=seed, time_limit=time_limit)
        found = (report["source"], report["n_train"], report["n_test"])
        wanted = (data.source, len(data.x_train), len(data.x_test))
        checks.assert_true(found == wanted, (
            f"the notebook's kernel loaded other MNIST data (source {found[0]!r}, "
            f"{found[1]} + {found[2]} images) than the tests ({wanted[0]!r}, {wanted[1]} + "
            f"{wanted[2]}), so the model could not be measured."))
        if report["built"] is not None:
            _judge_classifier(report["built"], what="the model from build_model()")
        if report["error"] is not None:
            raise GradingFailure(report["error"])
        result.parameter_change = report["parameter_change"]
        _judge_classifier(report["trained"], what="the model returned by train_model")
        predicted = report["predicted"]
        result.accuracy = _agreement(predicted["test"], data.y_test)
        result.heldout_accuracy = _agreement(predicted["heldout"], data.y_train[n_train:])
        result.canary_agreement = _agreement(predicted["canary"], canary)
        result.control_agreement = float(np.mean([_agreement(predicted["canary"], c)
                                                  for c in controls]))
    except GradingFailure as failure:
        result.error = str(failure)
    return result


def earlier_retrain(label: str) -> RetrainResult | None:
    """The result of this notebook's `retrain_without_test_set` under ``label``, if it ran."""
    if label in RESULTS and _MEASURED.get(label) is remote.current():
        return RESULTS[label]
    return None


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


class KnownClassifier:
    """A fixed linear classifier with heavy dropout on its input, for testing ``predict``.

    Its weights are drawn here from ``rng``; the model itself, ``model``, is built where
    ``predict`` runs (`nncourse.fixtures.mnist.DropoutLinear`, a proxy under ``nncourse
    grade``), in training mode. Its predictions in eval mode are known to the test
    (`expected`); in train mode dropout (p = 0.9, drawn from a generator seeded with ``seed``)
    makes them noisy. It records, at every forward pass, the training flag, whether gradient
    tracking was on, and the type, dtype and shape of the input (`records`).
    """

    def __init__(self, rng: np.random.Generator, n_features: int = 784, *,
                 seed: int = 0) -> None:
        self.weight = rng.normal(0, 1, size=(10, n_features))
        self.bias = rng.normal(0, 1, size=10)
        self.model = checks.fixture(mnist_fixtures.known_classifier, self.weight, self.bias,
                                    int(seed))

    def records(self) -> list[dict[str, Any]]:
        """The forward passes the model saw so far."""
        return list(checks.fixture(mnist_fixtures.forward_records, self.model))

    def expected(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labels predicted in eval mode, mask of the images whose top two logits differ
        by more than 1e-3, where rounding cannot change the prediction)."""
        weight = torch.as_tensor(self.weight).float()
        bias = torch.as_tensor(self.bias).float()
        with torch.no_grad():
            logits = nn.functional.linear(torch.as_tensor(images), weight, bias).double()
        top2 = torch.topk(logits, 2, dim=1).values
        clear = (top2[:, 0] - top2[:, 1] > 1e-3).numpy()
        return logits.argmax(dim=1).numpy(), clear


def check_predict(fn: object, known: KnownClassifier, images: np.ndarray, *, what: str,
                  reveal: bool = False) -> None:
    """The student's ``predict(model, images)`` against `KnownClassifier` 's known labels."""
    expected, clear = known.expected(images)
    n = len(images)
    found = checks.call(fn, known.model, images, what=what, copy_args=False)
    records = known.records()
    checks.assert_true(records, f"{what} never called the model.")
    checks.assert_true(
        not any(r["training"] for r in records),
        f"{what}: the model was in training mode when predicting, so dropout was active and "
        "the predictions are noisy.\nLikely mistake: call model.eval() before predicting.")
    checks.assert_true(
        not any(r["grad"] for r in records),
        f"{what}: gradient tracking was on while predicting (a graph is built for nothing).\n"
        "Likely mistake: predict inside `with torch.no_grad():` (or torch.inference_mode()).")
    if _is_tensor(found):
        raise GradingFailure(
            f"{what} returned {_described(found)}, expected a NumPy array.\nLikely mistake: "
            "convert at the end with .cpu().numpy().")
    checks.assert_true(isinstance(found, np.ndarray),
                       f"{what} returned {_described(found)}, expected a NumPy array of labels.")
    if found.dtype.kind not in "iu":
        whole = (found.dtype.kind == "f" and found.shape == (n,)
                 and bool(np.all(np.isfinite(found))) and bool(np.all(found == np.round(found))))
        why = ("the labels are right in value but floats: return integers, e.g. "
               ".argmax(dim=1) as it is, or .astype(np.int64), not .float()"
               if whole else
               "returning the logits or probabilities instead of their argmax")
        raise GradingFailure(f"{what} returned an array of dtype {found.dtype}, expected "
                             f"integer labels (0-9).\nLikely mistake: {why}.")
    hints = [("the argmax was taken over the wrong axis: dim=1 picks the class of each image",
              lambda f: f.shape == (10,)),
             ("return one label per image, shape (N,)", lambda f: f.shape != (n,))]
    if found.shape != (n,):
        checks.assert_close(found, expected, what=what, reveal=reveal, hints=hints)
    # Compare where the two best logits are clearly apart (rounding cannot swap them there).
    checks.assert_close(found[clear], expected[clear], what=what, rtol=0, atol=0,
                        reveal=reveal, hints=hints)
