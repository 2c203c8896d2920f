"""sigmoid_backward treats the cache (the input z) as the sigmoid's output: dout * z * (1 - z).

Loses: test_sigmoid_backward hidden_sigmoid_backward
Says: the cache is the input z, not the output
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid_backward
def sigmoid_backward(dout, cache):
    s = cache
    return dout * s * (1 - s)
