"""Loss functions that return the loss *and* its gradient with respect to the input.

Names and conventions follow `torch.nn.functional`: `input` is the prediction, `target` the
truth, and `reduction` is 'mean' (default), 'sum' or 'none'. For reduction='none' the loss
is one value per sample and the gradient is that of their sum.
"""

from __future__ import annotations

import numpy as np

from nnlib import functional as F
from nnlib._checks import (
    as_float_array,
    check_finite,
    check_labels,
    check_ndim,
    check_reduction,
    check_same_shape,
)

# PyTorch clamps log(p) at -100 in binary_cross_entropy so that p = 0 or 1 gives a finite loss.
_LOG_CLAMP = -100.0
# ... and keeps the gradient's denominator p * (1 - p) away from zero with this epsilon.
_BCE_EPS = 1e-12


def _reduce(values: np.ndarray, grad: np.ndarray, reduction: str, n: int):
    """Apply a reduction to per-element losses and scale the gradient to match."""
    # np.float64 is a Python float that also has torch's loss.item().
    if reduction == "mean":
        return np.float64(np.sum(values) / n), grad / n
    if reduction == "sum":
        return np.float64(np.sum(values)), grad
    return values, grad


def _prepare(input: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check that input and target are finite float arrays of one shape."""
    input = as_float_array(input, "input")
    target = as_float_array(target, "target")
    check_same_shape(input, target, "input", "target")
    check_finite(input, "input")
    check_finite(target, "target")
    return input, target


def mse_loss(input: np.ndarray, target: np.ndarray, reduction: str = "mean"):
    """Mean squared error mean((input - target)^2) and its gradient 2 (input - target) / N."""
    check_reduction(reduction)
    input, target = _prepare(input, target)
    diff = input - target
    return _reduce(diff * diff, 2.0 * diff, reduction, diff.size)


def binary_cross_entropy(input: np.ndarray, target: np.ndarray, reduction: str = "mean"):
    """BCE on probabilities: -(y log p + (1 - y) log(1 - p)), finite even at p = 0 or 1."""
    check_reduction(reduction)
    p, y = _prepare(input, target)
    if np.any((p < 0) | (p > 1)):
        raise ValueError(
            f"input must be probabilities in [0, 1] (shape {p.shape}), got values from "
            f"{p.min():.4g} to {p.max():.4g}; for raw scores use binary_cross_entropy_with_logits"
        )
    if np.any((y < 0) | (y > 1)):
        raise ValueError(
            f"target must lie in [0, 1] (shape {y.shape}), got values from "
            f"{y.min():.4g} to {y.max():.4g}"
        )
    with np.errstate(divide="ignore"):  # log(0) = -inf is clamped on the next line
        log_p = np.maximum(np.log(p), _LOG_CLAMP)
        log_1mp = np.maximum(np.log1p(-p), _LOG_CLAMP)
    values = -(y * log_p + (1.0 - y) * log_1mp)
    grad = (p - y) / np.maximum(p * (1.0 - p), _BCE_EPS)
    return _reduce(values, grad, reduction, p.size)


def binary_cross_entropy_with_logits(
    input: np.ndarray, target: np.ndarray, reduction: str = "mean"
):
    """BCE on logits z, stably max(z, 0) - z y + log(1 + exp(-|z|)); gradient sigmoid(z) - y."""
    check_reduction(reduction)
    z, y = _prepare(input, target)
    values = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    grad = F.sigmoid(z) - y
    return _reduce(values, grad, reduction, z.size)


def cross_entropy(input: np.ndarray, target: np.ndarray, reduction: str = "mean"):
    """Softmax cross-entropy of logits (N, C) with labels (N,) or target probabilities (N, C).

    The gradient with respect to the logits is softmax(input) - one_hot(target), divided by N
    for reduction='mean'.
    """
    check_reduction(reduction)
    logits = as_float_array(input, "input")
    check_ndim(logits, 2, "input", "(batch, classes)")
    check_finite(logits, "input")
    n, n_classes = logits.shape
    target = np.asarray(target)
    if target.ndim == 2:  # class probabilities or one-hot rows
        probs = as_float_array(target, "target")
        check_same_shape(logits, probs, "input", "target")
        check_finite(probs, "target")
    else:
        labels = check_labels(target, n_classes, n, "target")
        probs = np.zeros_like(logits)
        probs[np.arange(n), labels] = 1.0
    log_p = F.log_softmax(logits, dim=1)
    values = -np.sum(probs * log_p, axis=1)
    grad = np.exp(log_p) * probs.sum(axis=1, keepdims=True) - probs
    return _reduce(values, grad, reduction, n)
