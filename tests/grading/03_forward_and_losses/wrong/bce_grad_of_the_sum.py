"""bce_loss_grad is the gradient of the summed loss: it forgets the 1/M of the mean.

Loses: test_bce_loss_grad hidden_bce_loss_grad
Says: sum instead of taking the mean
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_bce_loss_grad
def bce_loss_grad(p, y):
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    return (p - y) / (p * (1 - p))
