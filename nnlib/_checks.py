"""Input validation shared by nnlib: clear errors that name the argument and its shape."""

from __future__ import annotations

import numpy as np


def as_float_array(x: object, name: str) -> np.ndarray:
    """Return `x` as a floating-point array, or raise TypeError/ValueError naming `name`.

    A float array comes back as it is (every layer calls this on every input, so the common
    case costs one attribute lookup); integers and booleans become float64.
    """
    arr = np.asarray(x)
    kind = arr.dtype.kind  # 'f' float, 'c' complex, 'i'/'u' integer, 'b' bool, others not numbers
    if kind == "f":
        return arr
    if kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if kind not in "iub":
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ValueError if `arr` holds NaN or inf."""
    if not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"{name} contains {n_bad} NaN or inf value(s) (shape {arr.shape}); "
            "check the learning rate and the input scaling"
        )


def check_ndim(arr: np.ndarray, ndim: int, name: str, what: str) -> None:
    """Raise ValueError unless `arr` has `ndim` dimensions; `what` describes the layout."""
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {what}, got shape {arr.shape}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError unless `a` and `b` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}"
        )


def check_labels(labels: object, n_classes: int, n_samples: int, name: str) -> np.ndarray:
    """Return integer class labels as int64, checking their count and range."""
    arr = np.asarray(labels)
    if (
        arr.dtype == object
        or not np.issubdtype(arr.dtype, np.number)
        or np.issubdtype(arr.dtype, np.complexfloating)
    ):
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError(f"{name} must hold integer class labels, got non-integer floats")
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have shape ({n_samples},) to match {n_samples} samples, "
            f"got shape {arr.shape}"
        )
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(
            f"{name} must lie in [0, {n_classes - 1}] for {n_classes} classes, "
            f"got values from {arr.min()} to {arr.max()}"
        )
    return arr


def check_reduction(reduction: str) -> None:
    """Raise ValueError unless `reduction` is 'mean', 'sum' or 'none'."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
