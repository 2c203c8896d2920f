"""The definition (e^z - e^-z) / (e^z + e^-z): inf / inf = nan for large |z|.

Loses: test_tanh_stable hidden_tanh_stable
Says: np.exp overflowed
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_tanh
def tanh(z):
    return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
