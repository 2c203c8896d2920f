"""Divides by the number of rows N instead of the number of entries M (right for 1-D only).

Loses: test_mse_loss_grad hidden_mse_loss_grad
Says: divide by the number of entries
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_mse_loss_grad
def mse_loss_grad(y_pred, y_true):
    return 2.0 * (y_pred - y_true) / len(y_pred)
