"""Normalises along axis 0, so a batch is normalised column by column.

Right for a single vector (the stability tests), wrong for batches.

Loses: test_softmax hidden_softmax hidden_softmax_stable
Says: each column was normalised
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_softmax
def softmax(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e, axis=0, keepdims=True)
