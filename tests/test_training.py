"""Tests for nnlib.training: fit/evaluate for nnlib models, fit_torch/evaluate_torch, metrics."""

from __future__ import annotations

import io
import random
import sys

import numpy as np
import pytest

from nnlib import nn, optim
from nnlib.random import get_rng
from nnlib.training import (
    History,
    accuracy,
    confusion_matrix,
    evaluate,
    fit,
    predict,
    set_seed,
    show_progress,
)


class TinyLoader:
    """Mini-batches of (X, y), reshuffled each epoch from nnlib's generator (seeded by set_seed)."""

    def __init__(self, X, y, batch_size, shuffle=False):
        self.X, self.y, self.batch_size, self.shuffle = X, y, batch_size, shuffle

    def __iter__(self):
        order = get_rng().permutation(len(self.X)) if self.shuffle else np.arange(len(self.X))
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.X[index], self.y[index]


class NoStep:
    """An optimizer that changes nothing, so every batch sees the same model."""

    lr = 0.1

    def zero_grad(self):
        pass

    def step(self):
        pass


def blobs(n=120, seed=0):
    """Three well separated Gaussian blobs in 2-D."""
    rng = np.random.default_rng(seed)
    centers = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    y = rng.integers(0, 3, n)
    X = centers[y] + 0.6 * rng.standard_normal((n, 2))
    return X.astype(np.float32), y


def mlp(n_out=3):
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, n_out))


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# fit / evaluate / predict on nnlib models
# ---------------------------------------------------------------------------------------------


def test_fit_learns_blobs_with_minibatches():
    set_seed(0)
    X, y = blobs()
    model = mlp()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        TinyLoader(X, y, batch_size=16, shuffle=True),
        epochs=15,
        val_data=(X, y),
        progress=False,
    )
    assert len(history) == 15
    assert set(history.metrics) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert history["val_accuracy"][-1] >= 0.95
    assert history.best("val_accuracy") == max(history["val_accuracy"])
    assert evaluate(model, nn.CrossEntropyLoss(), (X, y))[1] >= 0.95


def test_fit_xor_full_batch_with_logits():
    set_seed(1)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    history = fit(
        model,
        nn.BCEWithLogitsLoss(),
        optim.Adam(model.parameters(), lr=0.05),
        (XOR_X, XOR_Y),
        epochs=300,
        progress=False,
    )
    assert history["loss"][-1] < 0.05
    assert history["accuracy"][-1] == 1.0
    assert np.array_equal(predict(model, XOR_X) > 0, XOR_Y > 0.5)


def test_accuracy_rule_follows_the_loss():
    set_seed(0)
    X = XOR_X
    probs_model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    _, acc = evaluate(probs_model, nn.BCELoss(), (X, XOR_Y))
    expected = np.mean((predict(probs_model, X) > 0.5) == (XOR_Y > 0.5))
    assert acc == pytest.approx(expected)
    # Regression: no accuracy at all.
    model = nn.Linear(2, 1)
    loss, acc = evaluate(model, nn.MSELoss(), (X, XOR_Y))
    assert acc is None and loss >= 0
    history = fit(model, nn.MSELoss(), NoStep(), (X, XOR_Y), epochs=2, progress=False)
    assert "accuracy" not in history and len(history["loss"]) == 2


def test_same_seed_gives_the_same_history():
    def run():
        set_seed(123)
        X, y = blobs()
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
        history = fit(
            model,
            nn.CrossEntropyLoss(),
            optim.Adam(model.parameters(), lr=0.01),
            TinyLoader(X, y, batch_size=10, shuffle=True),
            epochs=4,
            val_data=(X, y),
            progress=False,
        )
        history.metrics.pop("seconds")  # wall-clock time is the one thing that differs
        return history, model.state_dict()

    (h1, w1), (h2, w2) = run(), run()
    assert h1 == h2
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)


def test_set_seed_seeds_python_numpy_and_torch():
    torch = pytest.importorskip("torch")
    set_seed(7)
    first = (random.random(), np.random.rand(), get_rng().random(), torch.rand(1).item())  # noqa: NPY002
    set_seed(7)
    second = (random.random(), np.random.rand(), get_rng().random(), torch.rand(1).item())  # noqa: NPY002
    assert first == second


def test_uneven_last_batch_is_weighted_by_its_size():
    set_seed(0)
    X, y = blobs(n=10)
    model = mlp()
    loss_fn = nn.CrossEntropyLoss()
    full_loss = loss_fn(model(X), y)
    full_acc = accuracy(model(X), y)
    # Batches of 4, 4 and 2; an unweighted mean of batch means would differ.
    history = fit(model, loss_fn, NoStep(), TinyLoader(X, y, 4), epochs=1, progress=False)
    assert history["loss"][0] == pytest.approx(full_loss, rel=1e-6)
    assert history["accuracy"][0] == pytest.approx(full_acc)
    loss, acc = evaluate(model, loss_fn, (X, y), batch_size=3)
    assert loss == pytest.approx(full_loss, rel=1e-6)
    assert acc == pytest.approx(full_acc)
    loss, acc = evaluate(model, loss_fn, TinyLoader(X, y, 4))
    assert loss == pytest.approx(full_loss, rel=1e-6)


def test_fit_with_nnlib_dataloader():
    data = pytest.importorskip("nnlib.data")
    set_seed(0)
    X, y = blobs(n=50)
    model = mlp()
    loader = data.DataLoader((X, y), batch_size=16, shuffle=True, seed=0)  # 16, 16, 16, 2
    loss_fn = nn.CrossEntropyLoss()
    history = fit(model, loss_fn, NoStep(), loader, epochs=2, progress=False)
    assert history["loss"] == pytest.approx([loss_fn(model(X), y)] * 2, rel=1e-6)


def test_modes_train_during_fit_eval_during_evaluation():
    class Recorder(nn.Identity):
        def __init__(self):
            super().__init__()
            self.seen = []

        def forward(self, x):
            self.seen.append(self.training)
            return x

    set_seed(0)
    X, y = blobs(n=12)
    recorder = Recorder()
    model = nn.Sequential(nn.Linear(2, 3), recorder)
    fit(model, nn.CrossEntropyLoss(), NoStep(), TinyLoader(X, y, 4), 1, (X, y), progress=False)
    assert recorder.seen == [True, True, True, False]  # 3 training batches, 1 validation pass
    model.eval()
    evaluate(model, nn.CrossEntropyLoss(), (X, y))
    predict(model, X)
    assert model.training is False  # the mode is restored afterwards
    model.train()
    predict(model, X)
    assert model.training is True and recorder.seen[-1] is False


def test_early_stopping_restores_the_best_weights():
    set_seed(0)
    X, y = blobs(n=60)
    model = mlp()
    loss_fn = nn.CrossEntropyLoss()
    y_wrong = (y + 1) % 3  # validation labels that training moves away from
    history = fit(
        model,
        loss_fn,
        optim.Adam(model.parameters(), lr=0.05),
        (X, y),
        epochs=50,
        val_data=(X, y_wrong),
        progress=False,
        early_stopping=3,
    )
    assert len(history) < 50
    assert len(history) == history.best_epoch("val_loss") + 3
    loss, _ = evaluate(model, loss_fn, (X, y_wrong))
    assert loss == pytest.approx(history.best("val_loss"), rel=1e-6)
    assert loss < history["val_loss"][-1]


def test_early_stopping_needs_validation_data():
    model = mlp()
    with pytest.raises(ValueError, match="val_data"):
        fit(model, nn.CrossEntropyLoss(), NoStep(), blobs(), 2, progress=False, early_stopping=2)


def test_scheduler_steps_once_per_epoch_and_lr_is_recorded():
    set_seed(0)
    X, y = blobs(n=20)
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    history = fit(
        model, nn.CrossEntropyLoss(), opt, TinyLoader(X, y, 5), 3, scheduler=sched, progress=False
    )
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_a_used_up_generator_is_an_error():
    X, y = blobs(n=8)
    batches = ((X[i : i + 4], y[i : i + 4]) for i in range(0, 8, 4))
    with pytest.raises(ValueError, match="no batches"):
        fit(mlp(), nn.CrossEntropyLoss(), NoStep(), batches, epochs=2, progress=False)


# ---------------------------------------------------------------------------------------------
# Metrics and History
# ---------------------------------------------------------------------------------------------


def test_accuracy_helper():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]])
    assert accuracy(logits, np.array([0, 1, 2, 2])) == 0.75
    assert accuracy(logits, np.eye(3)[[0, 1, 2, 2]]) == 0.75  # one-hot targets
    scores = np.array([[-1.0], [0.3], [2.0], [0.7]])
    assert accuracy(scores, np.array([0, 1, 1, 0])) == 0.75  # logits: threshold 0
    assert accuracy(scores, np.array([0, 1, 1, 1]), from_logits=False) == 0.75  # threshold 0.5


def test_confusion_matrix():
    cm = confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 2, 1])
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 2]]
    assert confusion_matrix([0], [0], num_classes=3).shape == (3, 3)
    with pytest.raises(ValueError):
        confusion_matrix([0, 3], [0, 1], num_classes=3)


def test_history_best():
    history = History()
    for loss, acc in [(0.9, 0.5), (0.4, 0.8), (0.6, 0.7)]:
        history.log(val_loss=loss, val_accuracy=acc)
    assert len(history) == 3
    assert history.best_epoch("val_loss") == 2 and history.best("val_loss") == 0.4
    assert history.best("val_accuracy") == 0.8


# ---------------------------------------------------------------------------------------------
# Progress bar
# ---------------------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    "env, progress, bar_expected",
    [
        ({}, True, True),
        ({}, False, False),
        ({"NBGRADER_EXECUTION": "autograde"}, True, False),
        ({"NNLIB_PROGRESS": "0"}, True, False),
    ],
)
def test_progress_bar_only_where_it_is_wanted(monkeypatch, env, progress, bar_expected):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("NNLIB_PROGRESS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert show_progress(progress) is bar_expected
    fit(mlp(), nn.CrossEntropyLoss(), NoStep(), blobs(n=8), epochs=2, progress=progress)
    output = terminal.getvalue()
    if bar_expected:
        assert "2/2" in output and "loss=" in output
    else:
        assert output == ""


def test_text_bar_in_a_process_that_imported_ipykernel(monkeypatch):
    # A grader or a test run imports ipykernel without being a kernel. tqdm.auto, imported
    # afresh then, picks its widget bar, which draws nothing on a terminal; nnlib must not.
    import ipykernel.zmqshell  # noqa: F401

    for name in ("tqdm.auto", "tqdm.autonotebook"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("NNLIB_PROGRESS", raising=False)
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    fit(mlp(), nn.CrossEntropyLoss(), NoStep(), blobs(n=8), epochs=2)
    assert "2/2" in terminal.getvalue()


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("NNLIB_PROGRESS", raising=False)
    fit(mlp(), nn.CrossEntropyLoss(), NoStep(), blobs(n=8), epochs=2)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------------------------
# torch models
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_batches(torch, X, y, batch_size):
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    return [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(X), batch_size)]


def test_fit_torch_and_evaluate_torch(torch):
    from nnlib.training import evaluate_torch, fit_torch

    class Recorder(torch.nn.Module):
        """A linear layer that records its mode and whether autograd is on, per forward."""

        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 3)
            self.calls = []

        def forward(self, x):
            self.calls.append((self.training, torch.is_grad_enabled()))
            return self.linear(x)

    class CountingSGD(torch.optim.SGD):
        """SGD that records the order of zero_grad and step calls."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.events = []

        def zero_grad(self, set_to_none=True):
            self.events.append("zero_grad")
            super().zero_grad(set_to_none)

        def step(self, closure=None):
            self.events.append("step")
            return super().step(closure)

    torch.manual_seed(0)
    X, y = blobs(n=10)
    model = Recorder()
    loss_fn = torch.nn.CrossEntropyLoss()
    train = torch_batches(torch, X, y, 4)  # 4, 4, 2
    # lr = 0: the model stays the same, so the epoch's metrics are those of the full batch.
    optimizer = CountingSGD(model.parameters(), lr=0.0)
    with torch.no_grad():
        out = model.linear(torch.as_tensor(X))
        full_loss = loss_fn(out, torch.as_tensor(y)).item()
        full_acc = accuracy(out.numpy(), y)

    history = fit_torch(
        model, loss_fn, optimizer, train, epochs=2, val_loader=train, device="cpu", progress=False
    )
    assert history["loss"] == pytest.approx([full_loss] * 2, rel=1e-6)
    assert history["val_loss"] == pytest.approx([full_loss] * 2, rel=1e-6)
    assert history["accuracy"] == pytest.approx([full_acc] * 2)
    assert history["val_accuracy"] == pytest.approx([full_acc] * 2)
    assert optimizer.events == ["zero_grad", "step"] * 6
    per_epoch = [(True, True)] * 3 + [(False, False)] * 3
    assert model.calls == per_epoch * 2

    model.calls.clear()
    model.train()
    loss, acc = evaluate_torch(model, loss_fn, train)
    assert loss == pytest.approx(full_loss, rel=1e-6) and acc == pytest.approx(full_acc)
    assert model.calls == [(False, False)] * 3
    assert model.training is True  # restored


def test_fit_torch_learns_xor(torch):
    from nnlib.training import evaluate_torch, fit_torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    loader = torch_batches(torch, XOR_X, XOR_Y, 3)  # 3 + 1
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.5)
    history = fit_torch(
        model,
        torch.nn.BCEWithLogitsLoss(),
        optimizer,
        loader,
        epochs=100,
        scheduler=scheduler,
        progress=False,
    )
    assert history["lr"][0] == 0.1 and history["lr"][-1] == 0.05
    loss, acc = evaluate_torch(model, torch.nn.BCEWithLogitsLoss(), loader)
    assert loss < 0.1 and acc == 1.0
