"""tanh calls np.tanh, which the exercise rules out.

Loses: test_tanh hidden_tanh test_tanh_stable hidden_tanh_stable
Says: calling a library function
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_tanh
def tanh(z):
    return np.tanh(z)
