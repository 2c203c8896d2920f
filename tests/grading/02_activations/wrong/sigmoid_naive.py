"""The textbook formula 1 / (1 + exp(-z)): right values, but exp overflows for z << 0.

Loses: test_sigmoid_stable hidden_sigmoid_stable
Says: np.exp overflowed
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))
