"""relu_backward returns the local derivative only, without the upstream gradient.

Loses: test_relu_backward hidden_relu_backward
Says: the upstream gradient is missing
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_relu_backward
def relu_backward(dout, cache):
    z = cache
    return (z > 0).astype(float)
