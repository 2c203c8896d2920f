"""Hard-codes the slope 0.01 instead of using alpha.

Loses: test_leaky_relu hidden_leaky_relu
Says: alpha is ignored
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_leaky_relu
def leaky_relu(z, alpha=0.01):
    return np.where(z > 0, z, 0.01 * z)
