"""Hands the dense layer to nnlib.layers.linear_forward.

Loses: test_dense_forward hidden_dense_forward
Says: calling a library function
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_dense_forward
from nnlib.layers import linear_forward


def dense_forward(x, W, b):
    out, _ = linear_forward(x, W, b)
    return out
