"""softmax_jacobian starts from -outer(s, s) and adds s * (1 - s) on the diagonal, so the
diagonal loses s_i**2 twice.

Loses: test_softmax_jacobian hidden_softmax_jacobian
Says: the diagonal subtracts s_i**2 twice
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_softmax_jacobian
def softmax_jacobian(z):
    s = softmax(z)
    return -np.outer(s, s) + np.diag(s * (1 - s))
