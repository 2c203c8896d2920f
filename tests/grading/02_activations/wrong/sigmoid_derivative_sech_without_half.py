"""sigmoid_derivative from the sech form, but with sech(z) instead of sech(z / 2).

Loses: test_sigmoid_derivative hidden_sigmoid_derivative
Says: in the sech form the argument is halved
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid_derivative
def sigmoid_derivative(z):
    return 0.25 / np.cosh(np.asarray(z, dtype=float)) ** 2
