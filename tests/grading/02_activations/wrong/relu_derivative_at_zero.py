"""Uses z >= 0, so the derivative at exactly 0 is 1 instead of 0.

Loses: test_relu_derivative hidden_relu_derivative
Says: at exactly z = 0 the derivative is taken to be 0
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_relu_derivative
def relu_derivative(z):
    return (z >= 0).astype(float)
