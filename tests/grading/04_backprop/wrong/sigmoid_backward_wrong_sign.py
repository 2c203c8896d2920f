"""sigmoid_backward gets the sign wrong: dout * s * (s - 1).

Loses: test_sigmoid_backward hidden_sigmoid_backward
Says: the sign is flipped
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid_backward
def sigmoid_backward(dout, cache):
    s = 1 / (1 + np.exp(-cache))
    return dout * s * (s - 1)
