"""Multiplies by sigmoid(z) once too often: s * s * (1 - s).

Loses: test_sigmoid_derivative hidden_sigmoid_derivative
Says: sigmoid(z) twice
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid_derivative
def sigmoid_derivative(z):
    s = sigmoid(z)
    return s * sigmoid(z) * (1.0 - s)
