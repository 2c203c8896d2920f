"""Returns (p - y) / M, the gradient with respect to the logit, not to p.

Loses: test_bce_loss_grad hidden_bce_loss_grad
Says: the gradient with respect to the logit z
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_bce_loss_grad
def bce_loss_grad(p, y):
    return (p - y) / p.size
