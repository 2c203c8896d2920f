"""Applies ReLU after every layer, the output layer included.

Loses: test_mlp_forward hidden_mlp_forward
Says: ReLU was applied after the last layer too
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_mlp_forward
def mlp_forward(x, params):
    h = x
    for W, b in params:
        h = relu(dense_forward(h, W, b))
    return h
