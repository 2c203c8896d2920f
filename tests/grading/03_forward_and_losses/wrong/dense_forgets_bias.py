"""The bias is never added.

Loses: test_dense_forward hidden_dense_forward
Says: the bias is missing
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_dense_forward
def dense_forward(x, W, b):
    return x @ W.T
