"""dW is computed as x.T @ dout, the transpose of the gradient (shape (in, out)).

Loses: test_affine hidden_affine
Says: dW is transposed
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_affine
def affine_backward(dout, cache):
    x, W, b = cache
    dx = dout @ W
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db
