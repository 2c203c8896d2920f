"""Metrics computed from predicted and true class labels alone, without a model.

The shared ground of `nnlib.training` (which re-exports them) and `nnlib.plots` (which draws
them): neither of those two modules imports the other at import time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["confusion_matrix"]


def confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None
) -> np.ndarray:
    """Counts C[i, j] of samples with true class i predicted as class j, shape (C, C).

    Without `num_classes`, C is one more than the largest label in y_true or y_pred.
    """
    y_true = np.asarray(y_true).reshape(-1).astype(np.int64)
    y_pred = np.asarray(y_pred).reshape(-1).astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}"
        )
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"{name} must lie in [0, {num_classes - 1}], "
                f"got values from {labels.min()} to {labels.max()}"
            )
    counts = np.bincount(num_classes * y_true + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
