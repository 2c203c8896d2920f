"""Correct code that prints, writes to stderr, warns, and returns NumPy scalars: no points lost.

Also changes its inputs in place, which the tests must survive.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_dense_forward
import sys
import warnings


def dense_forward(x, W, b):
    print("dense:", x.shape, "->", W.shape[0], "features")
    return x @ W.T + b

# %% answer_mse_loss
def mse_loss(y_pred, y_true):
    y_pred -= y_true  # in place: changes the caller's array
    return np.mean(y_pred ** 2)

# %% answer_cross_entropy_loss
def cross_entropy_loss(logits, labels):
    print("computing the loss", file=sys.stderr)
    warnings.warn("remember to check the labels", UserWarning)
    logits = logits - logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return np.float64(-log_probs[np.arange(len(labels)), labels].mean())
