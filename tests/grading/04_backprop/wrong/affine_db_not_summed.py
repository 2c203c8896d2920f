"""db is dout itself: the bias gradient is not summed over the batch.

Loses: test_affine hidden_affine
Says: db must have the shape of b
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_affine
def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W, dout.T @ x, dout
