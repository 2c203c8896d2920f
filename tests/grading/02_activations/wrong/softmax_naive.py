"""exp(z) / sum(exp(z)) without subtracting the maximum: overflows near 1e4.

Loses: test_softmax_stable hidden_softmax_stable
Says: np.exp overflowed
Says: underflows to 0
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_softmax
def softmax(z):
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)
