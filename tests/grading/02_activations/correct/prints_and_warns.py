"""Correct code that prints, writes to stderr and warns (not a RuntimeWarning): no points lost.

Also changes its input in place (z -= max), which the tests must survive.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid
import sys
import warnings


def sigmoid(z):
    print("sigmoid called on", np.shape(z))
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

# %% answer_softmax
def softmax(z):
    print("softmax debug", file=sys.stderr)
    warnings.warn("this softmax is a homework version", UserWarning)
    z = np.asarray(z, dtype=float)
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z

# %% answer_choosing_activations
"""ReLU keeps gradients alive (its derivative is 1 for positive inputs) while sigmoid and tanh
saturate; softmax for the output layer; leaky ReLU against dead units."""
