"""Both stable forms inside np.where: np.where evaluates both, so exp still overflows.

Loses: test_sigmoid_stable hidden_sigmoid_stable
Says: np.where evaluates both formulas everywhere
Says: np.where alone does not help
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid
def sigmoid(z):
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z)))
