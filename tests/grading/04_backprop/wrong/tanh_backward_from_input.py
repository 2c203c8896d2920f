"""tanh_backward uses 1 - z^2, the derivative formula applied to the input instead of tanh(z).

Loses: test_tanh_backward hidden_tanh_backward
Says: the cache is the input z, not the output
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_tanh_backward
def tanh_backward(dout, cache):
    z = cache
    return dout * (1 - z ** 2)
