"""Gradient checking: compare backpropagated gradients with central finite differences.

How to read a relative error  |a - n| / max(|a| + |n|, tiny)  in float64:
    below 1e-6       correct (typically 1e-8 .. 1e-10 for smooth functions);
    1e-6 .. 1e-4     suspicious, unless the function has kinks (ReLU at 0, max);
    above 1e-4       almost certainly a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nnlib.nn import Module

_TINY = 1e-12


def _require_float64(x: np.ndarray, name: str) -> None:
    if x.dtype != np.float64:
        raise TypeError(
            f"{name} has dtype {x.dtype}; finite differences need float64 "
            "(use x.astype(np.float64) and model.double())"
        )


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences (f(x + h) - f(x - h)) / 2h of a scalar f() for every entry of x.

    `x` is changed in place while probing and restored afterwards, so `f` can read it
    (for example a parameter's `.data`).
    """
    _require_float64(x, "x")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f()
        x[idx] = old - h
        f_minus = f()
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Numerical dL/dx where L = sum(f(x) * dout): checks a backward pass for upstream grad dout."""
    return numerical_gradient(lambda: float(np.sum(f(x) * dout)), x, h)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest elementwise relative error |a - b| / max(|a| + |b|, 1e-12)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), _TINY)))


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
    errors = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), _TINY)
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
    randomness (dropout masks would change between evaluations).
    """
    x = np.array(x, dtype=np.float64)
    for name, p in model.named_parameters():
        _require_float64(p.data, f"parameter {name}")

    def loss() -> float:
        return float(loss_fn(model(x), y))

    model.zero_grad()
    loss()
    dx = model.backward(loss_fn.backward())
    report = GradCheckReport(tol=tol)
    for name, p in model.named_parameters():
        analytic = p.grad if p.grad is not None else np.zeros_like(p.data)
        report.rows.append(_row(name, analytic, numerical_gradient(loss, p.data, h)))
    if check_input:
        report.rows.append(_row("input", dx, numerical_gradient(loss, x, h)))
    return report
