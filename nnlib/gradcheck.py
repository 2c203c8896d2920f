"""Gradient checking: compare backpropagated gradients with central finite differences.

This module is the one home of finite differences in the course (nncourse's grading helpers
call it too). Every function uses the central difference

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / 2h,      h = 1e-5,

whose error is of order h^2, in float64:

    numerical_gradient(f, x)          gradient of a scalar f() that reads x (probed in place)
    numerical_gradient_array(f, x, dout)   dL/dx for L = sum(f(x) * dout): checks a backward
    numerical_jacobian(f, x)          Jacobian d f(x)[i] / d x[j], shape f(x).shape + x.shape
    numerical_derivative(f, x)        elementwise derivative f'(x) of an elementwise f

How to read a relative error  |a - n| / max(|a| + |n|, tiny)  in float64:
    below 1e-6       correct (typically 1e-8 .. 1e-10 for smooth functions);
    1e-6 .. 1e-4     suspicious, unless the function has kinks (ReLU at 0, max);
    above 1e-4       almost certainly a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from nnlib.nn import Module

_TINY = 1e-12


def _require_float64(x: np.ndarray, name: str) -> None:
    if x.dtype != np.float64:
        raise TypeError(
            f"{name} has dtype {x.dtype}; finite differences need float64 "
            "(use x.astype(np.float64) and model.double())"
        )


def _central_differences(f: Callable[[], ArrayLike], x: np.ndarray, h: float) -> np.ndarray:
    """(f() at x + h e_i  -  f() at x - h e_i) / 2h for every entry i of x, in float64.

    `f` takes no argument and reads `x`, which is changed in place, one entry at a time, and
    restored afterwards (also when `f` raises). The result has shape f().shape + x.shape:
    out[..., i] is the column of entry i. No checks: the public functions make them.
    """
    out: np.ndarray | None = None
    for index in np.ndindex(x.shape):
        old = x[index]
        try:
            x[index] = old + h
            f_plus = np.array(f(), dtype=np.float64)  # a copy: f may return a view of x
            x[index] = old - h
            f_minus = np.array(f(), dtype=np.float64)
        finally:
            x[index] = old
        if out is None:
            out = np.zeros(f_plus.shape + x.shape)
        out[(Ellipsis, *index)] = (f_plus - f_minus) / (2.0 * h)
    if out is None:  # x has no entries: nothing to probe
        out = np.zeros(np.shape(f()) + x.shape)
    return out


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences (f(x + h) - f(x - h)) / 2h of a scalar f() for every entry of x.

    Args:
        f: a function of no arguments that returns one number (a loss) computed from `x`.
        x: a float64 array, changed in place while probing and restored afterwards, so `f`
            can read it (for example a parameter's `.data`).
        h: the step.

    Returns:
        dL/dx, an array of the shape of x.
    """
    _require_float64(x, "x")
    grad = _central_differences(f, x, h)
    if grad.shape != x.shape:
        if grad.size != x.size:
            raise ValueError(
                f"f must return a single number (a loss), got an array of shape "
                f"{grad.shape[: grad.ndim - x.ndim]}"
            )
        grad = grad.reshape(x.shape)  # f returned an array of one entry
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Numerical dL/dx where L = sum(f(x) * dout): checks a backward pass for upstream grad dout.

    `f(x)` is a forward pass; `x` (float64) is probed in place as in `numerical_gradient`.
    The result, of the shape of x, is what `*_backward(dout, cache)` should return.
    """
    return numerical_gradient(lambda: float(np.sum(f(x) * dout)), x, h)


def numerical_jacobian(
    f: Callable[[np.ndarray], ArrayLike], x: ArrayLike, h: float = 1e-5
) -> np.ndarray:
    """Central-difference Jacobian J[i, j] = d f(x)[i] / d x[j] of a function of an array.

    The numerical counterpart of torch.autograd.functional.jacobian. `f` is called on a
    float64 copy of `x` (the caller's array is never changed). The result has shape
    f(x).shape + x.shape: for a vector function of a vector, (len(f(x)), len(x)).
    """
    x = np.array(x, dtype=np.float64)
    return _central_differences(lambda: f(x), x, h)


def numerical_derivative(
    f: Callable[[np.ndarray], ArrayLike], x: ArrayLike, h: float = 1e-5
) -> np.ndarray:
    """Elementwise derivative (f(x + h) - f(x - h)) / 2h of an elementwise `f`, in float64.

    All entries are stepped at once, which is right only when f(x)[i] depends on x[i] alone
    (sigmoid, tanh, relu...): the result is the diagonal of the Jacobian, of the shape of x.
    """
    x = np.asarray(x, dtype=np.float64)
    f_plus = np.asarray(f(x + h), dtype=np.float64)
    f_minus = np.asarray(f(x - h), dtype=np.float64)
    return (f_plus - f_minus) / (2.0 * h)


def _relative_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise |a - b| / max(|a| + |b|, 1e-12), for arrays of one shape."""
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), _TINY)


def rel_error(a: ArrayLike, b: ArrayLike) -> float:
    """Largest elementwise relative error |a - b| / max(|a| + |b|, 1e-12)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(_relative_errors(a, b)))


@dataclass
class GradCheckRow:
    """One parameter's result: its largest relative error and where it occurs."""

    name: str
    shape: tuple[int, ...]
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numeric: float


@dataclass
class GradCheckReport:
    """A table of GradCheckRow, one per parameter (and the input, if checked)."""

    rows: list[GradCheckRow] = field(default_factory=list)
    tol: float = 1e-6

    @property
    def max_rel_error(self) -> float:
        """Worst relative error over all rows."""
        return max((r.max_rel_error for r in self.rows), default=0.0)

    @property
    def passed(self) -> bool:
        """True if every row is within tol."""
        return self.max_rel_error <= self.tol

    def __str__(self) -> str:
        header = (
            f"{'parameter':<14}{'shape':<14}{'max rel error':>14}  {'worst at':<12}"
            f"{'backprop':>13}{'numeric':>13}  ok"
        )
        lines = [header, "-" * len(header)]
        for r in self.rows:
            ok = "yes" if r.max_rel_error <= self.tol else "NO"
            lines.append(
                f"{r.name:<14}{str(r.shape):<14}{r.max_rel_error:>14.2e}  "
                f"{str(r.worst_index):<12}{r.analytic:>13.6g}{r.numeric:>13.6g}  {ok}"
            )
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the table
        p.text(str(self))


def _row(name: str, analytic: np.ndarray, numeric: np.ndarray) -> GradCheckRow:
    errors = _relative_errors(analytic, numeric)
    worst = np.unravel_index(int(np.argmax(errors)), errors.shape) if errors.size else ()
    worst = tuple(int(i) for i in worst)
    return GradCheckRow(
        name=name,
        shape=tuple(analytic.shape),
        max_rel_error=float(errors.max()) if errors.size else 0.0,
        worst_index=worst,
        analytic=float(analytic[worst]) if errors.size else 0.0,
        numeric=float(numeric[worst]) if errors.size else 0.0,
    )


def check_gradients(
    model: Module,
    loss_fn: Module,
    x: np.ndarray,
    y: np.ndarray,
    h: float = 1e-5,
    tol: float = 1e-6,
    check_input: bool = True,
) -> GradCheckReport:
    """Backprop once through `model` and `loss_fn`, then compare every gradient numerically.

    The model must be in float64 (`model.double()`) and should be in eval mode or have no
    randomness (dropout masks would change between evaluations). `x` is copied as float64.
    """
    x = np.array(x, dtype=np.float64)
    for name, p in model.named_parameters():  # checked once here, before any probing
        _require_float64(p.data, f"parameter {name}")

    def loss() -> float:
        return float(loss_fn(model(x), y))

    model.zero_grad()
    loss()
    dx = model.backward(loss_fn.backward())
    report = GradCheckReport(tol=tol)
    for name, p in model.named_parameters():
        analytic = p.grad if p.grad is not None else np.zeros_like(p.data)
        report.rows.append(_row(name, analytic, _central_differences(loss, p.data, h)))
    if check_input:
        report.rows.append(_row("input", dx, _central_differences(loss, x, h)))
    return report
