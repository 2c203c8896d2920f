"""Forgets the square: 1 - tanh(z).

Loses: test_tanh_derivative hidden_tanh_derivative
Says: the square is missing
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_tanh_derivative
def tanh_derivative(z):
    return 1.0 - tanh(z)
