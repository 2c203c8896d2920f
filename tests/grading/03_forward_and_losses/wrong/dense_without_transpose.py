"""x @ W + b: forgets that W has shape (out_features, in_features).

Loses: test_dense_forward hidden_dense_forward
Says: W has the shape (out, in)
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_dense_forward
def dense_forward(x, W, b):
    return x @ W + b
