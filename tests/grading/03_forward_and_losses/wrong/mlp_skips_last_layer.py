"""An off-by-one in the loop: the last layer is never applied.

Loses: test_mlp_forward hidden_mlp_forward
Says: the last layer is missing
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_mlp_forward
def mlp_forward(x, params):
    h = x
    for i in range(len(params) - 1):
        W, b = params[i]
        h = relu(dense_forward(h, W, b))
    return h
