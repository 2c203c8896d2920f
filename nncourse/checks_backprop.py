"""Extra helpers for the tests of the backpropagation and optimiser exercises (04 and 05).

They build on `nncourse.checks` (same messages, same tripwires, same seeded generators):

* `backward_references` gives, for a backward pass with upstream gradient ``dout``, the
  expected gradients from torch autograd and from central finite differences, in float64;
* `check_gradient` compares a student's gradient with both;
* `GradientRecorder` stands in for a gradient function while a training loop runs and records
  every call (the parameters it was given, the loss and the gradients it returned), so that a
  test can check the loop step by step;
* `train_reference` trains the exercise's two-layer network by full-batch gradient descent,
  written out in NumPy (the same steps as nnlib's Linear, Tanh, CrossEntropyLoss and SGD, three
  times faster), to check hyperparameters without depending on the student's own code;
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
    "train_reference",
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


def train_reference(
    X: np.ndarray,
    y: np.ndarray,
    params: Mapping[str, np.ndarray],
    lr: float,
    epochs: int,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Full-batch gradient descent on the network X -> Linear -> tanh -> Linear -> softmax CE.

    Starts from ``params`` (keys W1 (H, D), b1 (H,), W2 (C, H), b2 (C,): PyTorch's layout) and
    takes ``epochs`` steps of ``lr`` times the gradient of the mean cross-entropy over all N
    rows of ``X`` (N, D) with integer labels ``y`` (N,), in float64. Returns the final
    parameters and the loss before each step. The steps are those of nnlib's ``Sequential(
    Linear, Tanh, Linear)``, ``CrossEntropyLoss`` and ``SGD`` (tests/test_grading.py
    checks they agree), written out because a hidden test trains with it for thousands of
    steps per submission.
    """
    W1, b1, W2, b2 = (np.array(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    rows = np.arange(len(X))
    losses = []
    for _ in range(int(epochs)):
        hidden = np.tanh(X @ W1.T + b1)  # (N, H)
        logits = hidden @ W2.T + b2  # (N, C)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        losses.append(float(-log_probs[rows, y].mean()))
        dlogits = np.exp(log_probs)  # softmax - one_hot(y), over N: the mean's gradient
        dlogits[rows, y] -= 1.0
        dlogits /= len(X)
        dpre = (dlogits @ W2) * (1.0 - hidden**2)  # back through W2, then tanh
        W2 -= lr * (dlogits.T @ hidden)
        b2 -= lr * dlogits.sum(axis=0)
        W1 -= lr * (dpre.T @ X)
        b1 -= lr * dpre.sum(axis=0)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, losses


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
    defaults: Mapping[str, object] | None = None,
) -> None:
    """Run a student optimiser and compare the parameters after every step.

    ``make(arrays)`` creates the optimiser for the list of parameter arrays (called with
    tripwires on PyTorch, nnlib and library optimisers). Before step ``t``, ``opt.lr`` is set
    to ``lrs[t]`` unless that is None; then ``opt.step(grads[t])`` is called with copies of the
    gradients, and every array of the list, which must have been updated in place, is compared
    with ``expected[t][i]``.

    ``hints[t][i]`` are the values a wrong update rule gives at that step (see
    `variant_hints`). A rule is named only when it explains the whole path found, every step
    of every parameter, not one number. ``defaults`` (attribute -> PyTorch's default, for an
    optimiser made without that argument) names a default that differs, when no rule does.
    """
    arrays = [np.array(p, dtype=np.float64) for p in params]
    start = [a.copy() for a in arrays]
    opt = checks.call(make, arrays, what=f"creating {what}", forbid=True,
                      also_forbid=OPTIMIZER_LIBRARIES, copy_args=False)
    step = getattr(opt, "step", None)
    if not callable(step):
        raise GradingFailure(
            f"{what}: the optimiser has no method step(grads) (found {_describe(opt)}).\n"
            "Likely mistake: the method is missing, misspelled or not indented inside the class."
        )
    wrong_defaults = _wrong_defaults(opt, defaults or {})
    path: list[list[np.ndarray]] = []
    failed: GradingFailure | None = None
    for t, grads_t in enumerate(grads):
        if lrs is not None and lrs[t] is not None:
            if not hasattr(opt, "lr"):
                raise GradingFailure(
                    f"{what} has no attribute lr.\nLikely mistake: keep the learning rate in "
                    "self.lr (a learning-rate schedule changes it between steps)."
                )
            opt.lr = lrs[t]
        try:
            checks.call(step, [np.array(g, dtype=np.float64) for g in grads_t],
                        what=f"{what}, step {t + 1}", forbid=True,
                        also_forbid=OPTIMIZER_LIBRARIES)
        except GradingFailure as failure:
            message = str(failure)
            if "broadcast" in message or "shape" in message:
                message += f"\nLikely mistake: {_SHARED_STATE}."
            failed = GradingFailure(message)
            break
        path.append([a.copy() for a in arrays])
    mismatch = _first_mismatch(path, expected, rtol, atol)
    if mismatch is None:
        if failed is not None:
            raise failed from None
        return
    t, i = mismatch
    reason = _explaining_rule(path, expected, hints or (), start) or (
        wrong_defaults[0] if wrong_defaults else None)
    checks.assert_close(
        path[t][i], expected[t][i], what=f"parameter {i} (shape {path[t][i].shape}) after "
        f"{what}, step {t + 1}", hints=[(reason, lambda found: True)] if reason else (),
        reveal=reveal, rtol=rtol, atol=atol,
    )


_UNCHANGED = (
    "the parameter did not change: update each array in place (p -= ..., or p[...] = ...); "
    "p = p - ... or self.params[i] = ... makes a new array and leaves the caller's one as it was"
)


def _first_mismatch(path: Sequence[Sequence[np.ndarray]], expected: Sequence[Sequence[Any]],
                    rtol: float, atol: float) -> tuple[int, int] | None:
    """The first (step, parameter) where the path found leaves the expected one."""
    for t, row in enumerate(path):
        for i, found in enumerate(row):
            want = np.asarray(expected[t][i], dtype=np.float64)
            if found.shape != want.shape:
                return t, i
            with np.errstate(all="ignore"):
                # The tolerance comes from the expected value only: an infinite value found
                # must not make itself an infinite tolerance.
                good = np.abs(found - want) <= atol + rtol * np.abs(want)
            if not np.all((good & np.isfinite(found)) | ((found == want) & ~np.isfinite(want))):
                return t, i
    return None


def _explaining_rule(path: Sequence[Sequence[np.ndarray]], expected: Sequence[Sequence[Any]],
                     hints: Sequence[Sequence[Sequence[Hint]]],
                     start: Sequence[np.ndarray]) -> str | None:
    """The wrong rule whose values match every step found so far, or None.

    A rule's value at a step is its hint there, or the expected value where it has none
    (`variant_hints` leaves out the steps where the rule agrees with the right one).
    """
    names = dict.fromkeys(m for row in hints for cell in row for m, _ in cell)
    for name in names:
        explains = True
        for t, row in enumerate(path):
            for i, found in enumerate(row):
                given = [v for m, v in (hints[t][i] if t < len(hints) else ()) if m == name]
                value = given[0] if given else expected[t][i]
                if not checks._matches_hint(found, value):
                    explains = False
                    break
            if not explains:
                break
        if explains:
            return name
    if all(np.array_equal(found, start[i]) for row in path for i, found in enumerate(row)):
        return _UNCHANGED
    return None


def _wrong_defaults(opt: Any, defaults: Mapping[str, object]) -> list[str]:
    """"the default lr is 0.01; PyTorch's is 0.001" for each attribute that differs."""
    found = []
    for name, value in defaults.items():
        try:
            mine = getattr(opt, name)
        except Exception:  # noqa: BLE001 - the student may keep it under another name
            continue
        try:
            differs = not np.allclose(np.asarray(mine, dtype=np.float64),
                                      np.asarray(value, dtype=np.float64), rtol=1e-12, atol=0)
        except Exception:  # noqa: BLE001 - not a number: nothing to say
            continue
        if differs:
            found.append(f"the default {name} is {mine!r}; PyTorch's default is {value!r} "
                         "(the value used when the argument is left out)")
    return found


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

    A rule gets a hint only at the steps where its values differ from the expected ones (they
    may be NaN or inf: a rule that divides by 0 is recognised by its NaN too).
    """
    table: list[list[list[Hint]]] = []
    for t, expected_t in enumerate(expected):
        row = []
        for i, value in enumerate(expected_t):
            row.append([
                (messages[name], path[t][i]) for name, path in variants.items()
                if not np.allclose(path[t][i], value, rtol=1e-6, atol=1e-12)
            ])
        table.append(row)
    return table


_RACE_KEYS = {"sgd": ("lr",), "momentum": ("lr", "momentum"), "adam": ("lr",)}


def race_diagnosis(name: str, entry: Mapping[str, float], start: Sequence[float],
                   value: float, steps: int = 150) -> str:
    """The likely reason why the optimiser ``name`` with settings ``entry`` did not arrive
    from ``start`` (the message never shows the start). f = x^2 + 3 y^2,
    so gradient descent multiplies y by 1 - 6 lr per step (x by 1 - 2 lr), momentum acts
    like a learning rate lr / (1 - momentum) on a slow slope, and Adam moves about lr per
    step whatever the gradient.
    """
    lr = float(entry.get("lr", 0.0))
    x, y = (float(v) for v in start)
    if not np.isfinite(value) or value > x * x + 3.0 * y * y:  # worse than where it began
        return ("the run diverges: the learning rate (or the momentum) is too large; a step "
                "of gradient descent multiplies y by 1 - 6 lr, so it needs |1 - 6 lr| < 1")
    if name == "momentum" and float(entry.get("momentum", 0.0)) >= 0.9:
        return ("a momentum too close to 1: the point keeps circling the minimum and is still "
                f"swinging after {steps} steps")
    if name == "adam":
        if lr * steps < 10.0:
            return (f"a learning rate too small to arrive: Adam moves about lr per step, so "
                    f"{steps} steps of {lr:g} cover at most {lr * steps:.3g}, less than the way "
                    "from some starts and back after overshooting")
    else:
        effective = lr / (1.0 - float(entry.get("momentum", 0.0)))
        if effective < 0.5 and (1.0 - 2.0 * effective) ** steps * 50.0 > 1e-3:
            return (f"a learning rate too small to arrive in {steps} steps: x shrinks only by "
                    f"a factor 1 - 2 lr = {1.0 - 2.0 * effective:.3g} per step")
    return ("settings that work from (4, 3) but not from every start: try the corners of "
            "the region, such as (5, 5) and (1, -5)")


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
