"""Treats softmax like an elementwise function: diag(s * (1 - s)).

Loses: test_softmax_jacobian hidden_softmax_jacobian
Says: only the diagonal is filled
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_softmax_jacobian
def softmax_jacobian(z):
    s = softmax(z)
    return np.diag(s * (1.0 - s))
