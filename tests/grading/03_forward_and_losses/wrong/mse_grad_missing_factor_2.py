"""Forgets the factor 2 from differentiating the square.

Loses: test_mse_loss_grad hidden_mse_loss_grad
Says: factor 2
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_mse_loss_grad
def mse_loss_grad(y_pred, y_true):
    return (y_pred - y_true) / y_pred.size
