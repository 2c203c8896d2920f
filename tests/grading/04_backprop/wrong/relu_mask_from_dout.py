"""relu_backward masks dout where dout (not z) is negative.

Loses: test_relu_backward hidden_relu_backward
Says: the mask was taken from dout
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_relu_backward
def relu_backward(dout, cache):
    return np.maximum(dout, 0)
