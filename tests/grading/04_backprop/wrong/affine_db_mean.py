"""db averages dout over the batch instead of summing it.

Loses: test_affine hidden_affine
Says: db is the sum of dout over the batch
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_affine
def affine_backward(dout, cache):
    x, W, b = cache
    dx = dout @ W
    dW = dout.T @ x
    db = np.mean(dout, axis=0)
    return dx, dW, db
