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
    check_reduction,
    check_same_shape,
)

# PyTorch clamps log(p) at -100 in binary_cross_entropy so that p = 0 or 1 gives a finite loss.
_LOG_CLAMP = -100.0
# ... and keeps the gradient's denominator p * (1 - p) away from zero with this epsilon.
_BCE_EPS = 1e-12


def _reduce(values: np.ndarray, grad: np.ndarray, reduction: str, n):
    """Apply a reduction to per-element losses and scale the gradient to match.

    n is what 'mean' divides by: the number of elements, or for cross_entropy with class
    labels the summed weight of the samples that count. n = 0 gives nan, as in torch.
    """
    # np.float64 is a Python float that also has torch's loss.item().
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):  # n = 0: nan, silently
            return np.float64(np.sum(values) / n), grad / n
    if reduction == "sum":
        return np.float64(np.sum(values)), grad
    return values, grad


def _broadcast_weight(weight: object, shape: tuple, dtype, name: str) -> np.ndarray:
    """An elementwise weight (any shape that broadcasts to `shape`) as an array of `shape`."""
    w = as_float_array(weight, name)
    check_finite(w, name)
    try:
        return np.broadcast_to(w.astype(dtype, copy=False), shape)
    except ValueError:
        raise ValueError(
            f"{name} has shape {w.shape}, which does not broadcast to the input's shape {shape}"
        ) from None


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


def binary_cross_entropy(
    input: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None, reduction: str = "mean"
):
    """BCE on probabilities: -w (y log p + (1 - y) log(1 - p)), finite even at p = 0 or 1.

    weight (None: 1) rescales each element's loss; it may have any shape that broadcasts to
    the input's. 'mean' divides by the number of elements, whatever the weights (torch too).
    Returns (loss, grad), grad = dloss/dinput of the input's shape.
    """
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
    if weight is not None:
        w = _broadcast_weight(weight, p.shape, p.dtype, "weight")
        values, grad = w * values, w * grad
    return _reduce(values, grad, reduction, p.size)


def binary_cross_entropy_with_logits(
    input: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    reduction: str = "mean",
    pos_weight: np.ndarray | None = None,
):
    """BCE on logits z: -w (pw y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))).

    weight w (None: 1) rescales each element's loss; pos_weight pw (None: 1) the positive
    term only, e.g. one value per class (C,) for targets (N, C) to weigh rare positives up.
    Both may have any shape that broadcasts to the input's. With softplus(x) = log(1 + e^x),
    computed stably as max(x, 0) + log(1 + e^-|x|), -log sigmoid(z) = softplus(-z) and
    -log(1 - sigmoid(z)) = softplus(z), so

        loss = w ((1 - y) softplus(z) + pw y softplus(-z))
        dloss/dz = w ((1 - y) sigmoid(z) - pw y sigmoid(-z))   (= sigmoid(z) - y for w = pw = 1)

    'mean' divides by the number of elements. Returns (loss, grad), grad of the input's shape.
    """
    check_reduction(reduction)
    z, y = _prepare(input, target)
    pw = 1.0
    if pos_weight is not None:
        pw = _broadcast_weight(pos_weight, z.shape, z.dtype, "pos_weight")
    tail = np.log1p(np.exp(-np.abs(z)))
    softplus_z = np.maximum(z, 0.0) + tail  # -log(1 - sigmoid(z))
    softplus_neg_z = np.maximum(-z, 0.0) + tail  # -log sigmoid(z)
    values = (1.0 - y) * softplus_z + pw * y * softplus_neg_z
    grad = (1.0 - y) * F.sigmoid(z) - pw * y * F.sigmoid(-z)
    if weight is not None:
        w = _broadcast_weight(weight, z.shape, z.dtype, "weight")
        values, grad = w * values, w * grad
    return _reduce(values, grad, reduction, z.size)


def _class_labels(target: np.ndarray, shape: tuple, n_classes: int, ignore_index: int):
    """Check integer class labels of the given shape: each in [0, n_classes) or ignore_index."""
    if (
        target.dtype == object
        or not np.issubdtype(target.dtype, np.number)
        or np.issubdtype(target.dtype, np.complexfloating)
    ):
        raise TypeError(f"target must hold integer class labels, got dtype {target.dtype}")
    if np.issubdtype(target.dtype, np.floating):
        if not np.all(np.isfinite(target)) or np.any(target != np.round(target)):
            raise TypeError("target must hold integer class labels, got non-integer floats")
    if target.shape != shape:
        if len(shape) == 1:
            what = f"{shape[0]} samples"
        elif len(shape) == 0:
            what = "an unbatched input (C,): one label"
        else:
            what = "the input's shape without its class axis 1"
        raise ValueError(
            f"target must have shape {shape} to match {what}, got shape {target.shape}"
        )
    labels = target.astype(np.int64)
    counted = labels[labels != ignore_index]
    if counted.size and (counted.min() < 0 or counted.max() >= n_classes):
        raise ValueError(
            f"target must lie in [0, {n_classes - 1}] for {n_classes} classes, got values "
            f"from {counted.min()} to {counted.max()} (labels equal to "
            f"ignore_index={ignore_index} are skipped)"
        )
    return labels


def cross_entropy(
    input: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    """Softmax cross-entropy of logits against class labels or class probabilities.

    Shapes, as in torch (C classes; each position of d1, d2, ... counts as one sample):
        input    (N, C), (N, C, d1, d2, ...), or (C,) for one unbatched sample
        target   class labels (N,), (N, d1, d2, ...) or a scalar: integers in [0, C) or
                 ignore_index; or class probabilities of the input's shape
        weight   (C,): a rescaling weight w[c] per class (None: all 1)

    With log_p = log_softmax(input) along the class axis and e = label_smoothing, a sample
    with label y, or with target probabilities t, costs

        labels:        (1 - e) w[y] (-log_p[y])  +  e/C sum_c w[c] (-log_p[c])   (0 if ignored)
        probabilities: sum_c w[c] q[c] (-log_p[c])   with q = (1 - e) t + e/C

    Both are -sum_c a[c] log_p[c] for coefficients a of the input's shape, so the gradient
    with respect to the logits is softmax * sum_c a[c] - a. reduction='mean' divides by the
    summed weight w[y] of the samples not ignored (labels; nan if every label is ignored,
    like torch) or by the number of samples (probabilities).

    Returns (loss, grad): loss is a float, or for reduction='none' one loss per sample (the
    input's shape without the class axis); grad, dloss/dinput, has the input's shape (for
    'none': the gradient of the sum of the per-sample losses).
    """
    check_reduction(reduction)
    logits = as_float_array(input, "input")
    if logits.ndim == 0:
        raise ValueError("input must have shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    check_finite(logits, "input")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    axis = 0 if logits.ndim == 1 else 1  # the class axis
    n_classes = logits.shape[axis]
    per_class = [1] * logits.ndim  # shape that broadcasts a (C,) vector along the class axis
    per_class[axis] = n_classes
    if weight is None:
        w = np.ones(per_class, dtype=logits.dtype)
    else:
        w = as_float_array(weight, "weight")
        if w.shape != (n_classes,):
            raise ValueError(
                f"weight must have shape ({n_classes},), one weight per class, got shape {w.shape}"
            )
        check_finite(w, "weight")
        w = w.astype(logits.dtype).reshape(per_class)
    e = label_smoothing
    target = np.asarray(target)
    sample_shape = logits.shape[:axis] + logits.shape[axis + 1 :]  # the shape of labels

    if target.ndim == logits.ndim:  # class probabilities (or one-hot rows) per sample
        if ignore_index >= 0:
            raise ValueError(
                "ignore_index works with class labels only, not with probability targets"
            )
        t = as_float_array(target, "target")
        if t.shape != logits.shape:
            raise ValueError(
                f"input and target must have the same shape, got {logits.shape} and {t.shape} "
                f"(class probabilities; class labels would have shape {sample_shape})"
            )
        check_finite(t, "target")
        a = w * ((1.0 - e) * t.astype(logits.dtype, copy=False) + e / n_classes)
        kept = None
        n = logits.size // n_classes if n_classes else 0  # the number of samples
    else:  # class labels
        labels = _class_labels(target, sample_shape, n_classes, ignore_index)
        kept = np.expand_dims(labels != ignore_index, axis)  # False for an ignored sample
        one_hot = np.expand_dims(labels, axis) == np.arange(n_classes).reshape(per_class)
        one_hot = one_hot.astype(logits.dtype)
        a = w * kept * ((1.0 - e) * one_hot + e / n_classes)
        n = np.sum(w * kept * one_hot)  # the summed weight w[y] of the samples that count

    log_p = F.log_softmax(logits, dim=axis)
    values = -np.sum(a * log_p, axis=axis)
    grad = np.exp(log_p) * np.sum(a, axis=axis, keepdims=True) - a
    if kept is not None and reduction == "mean" and n == 0:
        # nothing to divide by (every label ignored, or their weights 0): like torch, the
        # loss is nan and so is the gradient of a counted sample, but an ignored one's is 0
        return np.float64(np.nan), np.where(kept, np.nan, np.zeros_like(grad))
    return _reduce(values, grad, reduction, n)
