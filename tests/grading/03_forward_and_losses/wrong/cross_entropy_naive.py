"""-log(exp(z_y) / sum exp(z)) without the log-sum-exp trick: nan near 1e4.

Loses: test_cross_entropy_stable hidden_cross_entropy_stable
Says: np.exp overflowed
Says: np.log got 0
Says: 0 / 0
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_cross_entropy_loss
def cross_entropy_loss(logits, labels):
    probs = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    return float(-np.mean(np.log(probs[np.arange(len(labels)), labels])))
