"""mlp_forward applies ReLU to the input of every layer (the network's input too), not between
the layers.

Loses: test_mlp_forward hidden_mlp_forward
Says: ReLU was applied to the input of every layer
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_mlp_forward
def mlp_forward(x, params):
    h = x
    for W, b in params:
        h = dense_forward(relu(h), W, b)
    return h
