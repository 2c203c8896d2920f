"""Forgets the minus sign: returns the mean log-likelihood, not its negative.

Loses: test_bce_loss hidden_bce_loss
Says: the minus sign is missing
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_bce_loss
def bce_loss(p, y):
    return float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
