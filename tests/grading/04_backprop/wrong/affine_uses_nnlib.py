"""affine_backward hands the work to nnlib.layers.linear_backward.

Loses: test_affine hidden_affine
Says: calling a library function
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_affine
from nnlib.layers import linear_backward


def affine_backward(dout, cache):
    return linear_backward(dout, cache)
