"""Sums the squared errors instead of averaging them.

Loses: test_mse_loss hidden_mse_loss
Says: the squares were summed, not averaged
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_mse_loss
def mse_loss(y_pred, y_true):
    return float(np.sum((y_pred - y_true) ** 2))
