"""Extra helpers for the tests of the backpropagation and optimiser exercises (04 and 05).

They build on `nncourse.checks` (same messages, same tripwires, same seeded generators):

* `backward_references` gives, for a backward pass with upstream gradient ``dout``, the
  expected gradients from torch autograd and from central finite differences, in float64;
* `check_gradient` compares a student's gradient with both;
* `GradientRecorder` stands in for a gradient function while a training loop runs and records
  every call (the parameters it was given, the loss and the gradients it returned), so that a
  test can check the loop step by step;
* `train_with_nnlib` trains the exercise's two-layer network with nnlib's modules (full-batch
  gradient descent), to check hyperparameters without depending on the student's own code;
* `check_optimizer` runs a student optimiser for several steps and compares the parameters,
  updated in place, with the expected ones after every step;
* `torch_optimizer_path` gives those expected parameters from ``torch.optim`` in float64, and
  `variant_hints` turns the parameters of classic wrong update rules into hints that name them
  (the rules themselves are in the hidden tests: an installed rule is one edit from an answer);
* `race_finals` runs the race of assignment 05 with ``torch.optim`` and the student's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nncourse import checks
from nncourse.checks import GradingFailure, Hint

__all__ = [
    "OPTIMIZER_LIBRARIES",
    "GradientRecorder",
    "backward_references",
    "check_gradient",
    "check_optimizer",
    "race_finals",
    "read_settings",
    "torch_optimizer_path",
    "train_with_nnlib",
    "variant_hints",
]

#: Library optimisers an exercise that asks for a hand-written one must not use (in addition
#: to the namespaces `checks.call(forbid=True)` covers), the reference update rules of this
#: module included.
OPTIMIZER_LIBRARIES = (
    "torch.optim.SGD",
    "torch.optim.Adam",
    "torch.optim.AdamW",
    "torch.optim.RMSprop",
    "nncourse.checks_backprop.torch_optimizer_path",
)

PARAMETER_NAMES = ("W1", "b1", "W2", "b2")


def _describe(value: object) -> str:
    """The type (and shape) of a value, not its numbers."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


# ---------------------------------------------------------------------------------------------
# Gradients of backward passes
# ---------------------------------------------------------------------------------------------


def backward_references(
    forward: Callable[..., Any],
    inputs: Sequence[object],
    dout: np.ndarray,
    h: float = 1e-5,
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Expected gradients of ``L = sum(forward(*inputs) * dout)`` with respect to each input.

    ``forward`` is written with torch (a function of tensors). For every floating-point input
    the result holds ``(autograd, finite_differences)``, both float64; integer inputs get None.
    """
    with checks.quiet():
        import torch
    arrays = [np.asarray(a) for a in inputs]
    dout_t = torch.tensor(np.asarray(dout, dtype=np.float64))
    tensors = [
        torch.tensor(a.astype(np.float64), requires_grad=True)
        if a.dtype.kind == "f"
        else torch.as_tensor(a.astype(np.int64))
        for a in arrays
    ]
    with checks.quiet():
        (forward(*tensors) * dout_t).sum().backward()

    def total(*values: np.ndarray) -> float:
        return float(np.sum(checks.torch_values(forward, *values) * np.asarray(dout)))

    result: list[tuple[np.ndarray, np.ndarray] | None] = []
    for i, (array, tensor) in enumerate(zip(arrays, tensors, strict=True)):
        if array.dtype.kind != "f":
            result.append(None)
            continue
        exact = tensor.grad.numpy().copy()
        numeric = checks.numerical_gradient(total, arrays, wrt=i, h=h)
        result.append((exact, numeric))
    return result


def check_gradient(
    found: object,
    exact: np.ndarray,
    numeric: np.ndarray,
    *,
    what: str,
    hints: Sequence[Hint] = (),
    reveal: bool = False,
    batch: int | None = None,
    inputs: object = None,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    fd_rtol: float = 1e-6,
    fd_atol: float = 1e-8,
) -> np.ndarray:
    """Compare a gradient with autograd (``exact``) and with finite differences (``numeric``).

    Finite differences are only used where they agree with autograd (not at a kink).
    """
    f = checks.assert_close(found, exact, what=what, rtol=rtol, atol=atol, hints=hints,
                            reveal=reveal, batch=batch, inputs=inputs)
    smooth = np.abs(numeric - exact) <= fd_atol + fd_rtol * np.maximum(np.abs(numeric),
                                                                        np.abs(exact))
    if np.any(smooth):
        checks.assert_close(f.astype(np.float64)[smooth], numeric[smooth],
                            what=f"{what}, compared with finite differences", rtol=fd_rtol,
                            atol=fd_atol, batch=batch)
    return f


# ---------------------------------------------------------------------------------------------
# Training loops
# ---------------------------------------------------------------------------------------------


class GradientRecorder:
    """A gradient function ``fn(params, X, y) -> (loss, grads)`` that records every call.

    ``calls`` holds one ``(params, loss, grads)`` per call, with copies of the arrays as they
    were at the time of the call (a loop that later changes them in place changes nothing
    here).
    """

    def __init__(self, fn: Callable[[Mapping[str, np.ndarray], Any, Any], Any]) -> None:
        self.fn = fn
        self.calls: list[tuple[dict[str, np.ndarray], float, dict[str, np.ndarray]]] = []
        self.__name__ = getattr(fn, "__name__", "gradient function")

    def __call__(self, params: Mapping[str, np.ndarray], X: Any, y: Any) -> Any:
        snapshot = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
        loss, grads = self.fn({k: v.copy() for k, v in snapshot.items()}, X, y)
        self.calls.append(
            (snapshot, float(loss), {k: np.array(g, dtype=np.float64) for k, g in grads.items()})
        )
        return loss, {k: np.array(g, dtype=np.float64) for k, g in grads.items()}


def train_with_nnlib(
    X: np.ndarray,
    y: np.ndarray,
    params: Mapping[str, np.ndarray],
    lr: float,
    epochs: int,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Full-batch gradient descent on the network X -> Linear -> tanh -> Linear -> softmax CE.

    Starts from ``params`` (keys W1, b1, W2, b2, PyTorch layout) and uses nnlib's modules and
    optimiser. Returns the final parameters and the loss before each step.
    """
    from nnlib.nn import CrossEntropyLoss, Linear, Sequential, Tanh
    from nnlib.optim import SGD

    n_hidden, n_in = np.shape(params["W1"])
    n_out = np.shape(params["W2"])[0]
    first = Linear(n_in, n_hidden, rng=0, dtype=np.float64)
    second = Linear(n_hidden, n_out, rng=0, dtype=np.float64)
    model = Sequential(first, Tanh(), second)
    first.weight.data = np.array(params["W1"], dtype=np.float64)
    first.bias.data = np.array(params["b1"], dtype=np.float64)
    second.weight.data = np.array(params["W2"], dtype=np.float64)
    second.bias.data = np.array(params["b2"], dtype=np.float64)
    loss_fn = CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=lr)
    X = np.asarray(X, dtype=np.float64)
    losses = []
    for _ in range(int(epochs)):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        model.backward(loss_fn.backward())
        optimizer.step()
        losses.append(float(loss))
    final = {
        "W1": first.weight.data.copy(),
        "b1": first.bias.data.copy(),
        "W2": second.weight.data.copy(),
        "b2": second.bias.data.copy(),
    }
    return final, losses


def read_settings(
    settings: object, name: str, *, max_epochs: int = 5000, max_hidden: int = 64
) -> tuple[int, float, int]:
    """``(n_hidden, lr, epochs)`` from a settings dict, or a failure saying what is wrong.

    The budget: at most ``max_hidden`` hidden units and ``max_epochs`` epochs.
    """
    example = '{"n_hidden": 8, "lr": 0.5, "epochs": 1000}'
    if not isinstance(settings, Mapping):
        raise GradingFailure(
            f"{name} must be a dict such as {example}, but it is {_describe(settings)}."
        )
    missing = [key for key in ("n_hidden", "lr", "epochs") if key not in settings]
    extra = sorted(str(key) for key in settings if key not in ("n_hidden", "lr", "epochs"))
    if missing or extra:
        raise GradingFailure(
            f"{name} must have exactly the keys 'n_hidden', 'lr' and 'epochs' (like {example})"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not expected: {', '.join(extra)}" if extra else "")
            + "."
        )
    n_hidden, lr, epochs = settings["n_hidden"], settings["lr"], settings["epochs"]
    for key, value, limit in (("n_hidden", n_hidden, max_hidden), ("epochs", epochs, max_epochs)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise GradingFailure(
                f"{name}[{key!r}] must be a whole number >= 1, found {value!r}."
            )
        if value > limit:
            raise GradingFailure(
                f"{name}[{key!r}] = {value} is over the budget of this exercise ({limit} at "
                f"most).\nLikely mistake: training that long is not needed here; try a larger "
                "learning rate instead."
            )
    if isinstance(lr, bool) or not isinstance(lr, int | float | np.integer | np.floating) or not (
        np.isfinite(lr) and lr > 0
    ):
        raise GradingFailure(f"{name}['lr'] must be a positive number, found {lr!r}.")
    return int(n_hidden), float(lr), int(epochs)


# ---------------------------------------------------------------------------------------------
# Optimisers
# ---------------------------------------------------------------------------------------------

_SHARED_STATE = (
    "one state shared by all parameters: keep a separate state (velocity, m, v) for each "
    "parameter, with that parameter's shape"
)


def check_optimizer(
    make: Callable[[list[np.ndarray]], Any],
    params: Sequence[np.ndarray],
    grads: Sequence[Sequence[np.ndarray]],
    expected: Sequence[Sequence[np.ndarray]],
    *,
    what: str,
    lrs: Sequence[float | None] | None = None,
    hints: Sequence[Sequence[Sequence[Hint]]] | None = None,
    reveal: bool = False,
    rtol: float = 1e-7,
    atol: float = 1e-12,
) -> None:
    """Run a student optimiser and compare the parameters after every step.

    ``make(arrays)`` creates the optimiser for the list of parameter arrays (called with
    tripwires on PyTorch, nnlib and library optimisers). Before step ``t``, ``opt.lr`` is set
    to ``lrs[t]`` unless that is None; then ``opt.step(grads[t])`` is called with copies of the
    gradients, and every array of the list, which must have been updated in place, is compared
    with ``expected[t][i]``. ``hints[t][i]`` are wrong answers to recognise at that step.
    """
    arrays = [np.array(p, dtype=np.float64) for p in params]
    opt = checks.call(make, arrays, what=f"creating {what}", forbid=True,
                      also_forbid=OPTIMIZER_LIBRARIES, copy_args=False)
    step = getattr(opt, "step", None)
    if not callable(step):
        raise GradingFailure(
            f"{what}: the optimiser has no method step(grads) (found {_describe(opt)}).\n"
            "Likely mistake: the method is missing, misspelled or not indented inside the class."
        )
    for t, grads_t in enumerate(grads):
        if lrs is not None and lrs[t] is not None:
            if not hasattr(opt, "lr"):
                raise GradingFailure(
                    f"{what} has no attribute lr.\nLikely mistake: keep the learning rate in "
                    "self.lr (a learning-rate schedule changes it between steps)."
                )
            opt.lr = lrs[t]
        previous = [a.copy() for a in arrays]
        label = f"{what}, step {t + 1}"
        try:
            checks.call(step, [np.array(g, dtype=np.float64) for g in grads_t], what=label,
                        forbid=True, also_forbid=OPTIMIZER_LIBRARIES)
        except GradingFailure as failure:
            message = str(failure)
            if "broadcast" in message or "shape" in message:
                message += f"\nLikely mistake: {_SHARED_STATE}."
            raise GradingFailure(message) from None
        for i, array in enumerate(arrays):
            unchanged = (
                "the parameter did not change: update each array in place (p -= ..., or "
                "p[...] = ...); p = p - ... or self.params[i] = ... makes a new array and leaves "
                "the caller's one as it was",
                lambda found, before=previous[i]: np.array_equal(found, before),
            )
            step_hints = [unchanged, *(hints[t][i] if hints else ())]
            checks.assert_close(
                array, expected[t][i], what=f"parameter {i} (shape {array.shape}) after {label}",
                hints=step_hints, reveal=reveal, rtol=rtol, atol=atol,
            )


def torch_optimizer_path(
    kind: str,
    params: Sequence[np.ndarray],
    grads: Sequence[Sequence[np.ndarray]],
    *,
    lrs: Sequence[float | None] | None = None,
    **options: Any,
) -> list[list[np.ndarray]]:
    """The parameters after every step of ``torch.optim.<kind>`` fed with ``grads``, in float64.

    ``options`` are the optimiser's arguments (``lr``, ``momentum``, ``betas``, ``eps``, ...);
    before step ``t`` the learning rate of every parameter group is set to ``lrs[t]`` unless
    that is None (as a schedule does).
    """
    with checks.quiet():
        import torch
    tensors = [torch.tensor(np.array(p, dtype=np.float64), requires_grad=True) for p in params]
    optimizer = getattr(torch.optim, kind)(tensors, **options)
    path: list[list[np.ndarray]] = []
    with checks.quiet():
        for t, grads_t in enumerate(grads):
            if lrs is not None and lrs[t] is not None:
                for group in optimizer.param_groups:
                    group["lr"] = float(lrs[t])
            for tensor, g in zip(tensors, grads_t, strict=True):
                tensor.grad = torch.tensor(np.array(g, dtype=np.float64))
            optimizer.step()
            path.append([tensor.detach().numpy().copy() for tensor in tensors])
    return path


def variant_hints(
    variants: Mapping[str, list[list[np.ndarray]]], messages: Mapping[str, str],
    expected: Sequence[Sequence[np.ndarray]],
) -> list[list[list[Hint]]]:
    """``hints[t][i]`` for `check_optimizer` from the paths of wrong update rules.

    A wrong rule is only named at a step where its values differ from the expected ones.
    """
    table: list[list[list[Hint]]] = []
    for t, expected_t in enumerate(expected):
        row = []
        for i, value in enumerate(expected_t):
            row.append([
                (messages[name], path[t][i]) for name, path in variants.items()
                if np.all(np.isfinite(path[t][i]))
                and not np.allclose(path[t][i], value, rtol=1e-6, atol=1e-12)
            ])
        table.append(row)
    return table


_RACE_KEYS = {"sgd": ("lr",), "momentum": ("lr", "momentum"), "adam": ("lr",)}


def _race_number(value: object, label: str, *, below_one: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise GradingFailure(f"{label} must be a number, found {value!r}.")
    number = float(value)
    if not np.isfinite(number) or number <= 0 or (below_one and number >= 1):
        limits = "between 0 and 1" if below_one else "positive"
        raise GradingFailure(f"{label} must be {limits}, found {value!r}.")
    return number


def race_finals(
    settings: object, name: str, starts: Sequence[tuple[float, float]], steps: int
) -> dict[str, tuple[tuple[float, float], float]]:
    """The race of the optimiser exercise, run with ``torch.optim`` and the student's settings.

    ``settings`` is ``{"sgd": {"lr": ...}, "momentum": {"lr": ..., "momentum": ...},
    "adam": {"lr": ...}}``. For each optimiser, f(x, y) = x^2 + 3 y^2 is minimised for
    ``steps`` steps from every start; the result maps each optimiser to the start where the
    final value of f is largest and that value (inf when the run diverged).
    """
    example = '{"sgd": {"lr": 0.1}, "momentum": {"lr": 0.1, "momentum": 0.5}, "adam": {"lr": 0.1}}'
    if not isinstance(settings, Mapping) or set(settings) != set(_RACE_KEYS):
        found = sorted(map(str, settings)) if isinstance(settings, Mapping) else None
        raise GradingFailure(
            f"{name} must be a dict with exactly the keys 'sgd', 'momentum' and 'adam', such as "
            f"{example}" + (f"; its keys are {found}" if found is not None else
                            f"; it is {_describe(settings)}") + ".")
    options: dict[str, dict[str, float]] = {}
    for key, needed in _RACE_KEYS.items():
        entry = settings[key]
        if not isinstance(entry, Mapping) or set(entry) != set(needed):
            raise GradingFailure(
                f"{name}[{key!r}] must be a dict with exactly the keys "
                f"{', '.join(repr(k) for k in needed)} (like {example}), found {entry!r}.")
        options[key] = {k: _race_number(entry[k], f"{name}[{key!r}][{k!r}]",
                                        below_one=(k == "momentum")) for k in needed}
    with checks.quiet():
        import torch
    results: dict[str, tuple[tuple[float, float], float]] = {}
    for key, opts in options.items():
        worst: tuple[tuple[float, float], float] | None = None
        for start in starts:
            point = torch.tensor(np.array(start, dtype=np.float64), requires_grad=True)
            kind = torch.optim.Adam if key == "adam" else torch.optim.SGD
            optimizer = kind([point], **opts)
            with checks.quiet(), np.errstate(all="ignore"):
                for _ in range(int(steps)):
                    x, y = point.detach().numpy()
                    point.grad = torch.tensor([2.0 * x, 6.0 * y], dtype=torch.float64)
                    optimizer.step()
                x, y = point.detach().numpy()
                value = float(x * x + 3.0 * y * y)
            if not np.isfinite(value):
                value = float("inf")
            if worst is None or value > worst[1]:
                worst = (tuple(float(v) for v in start), value)
        assert worst is not None
        results[key] = worst
    return results
