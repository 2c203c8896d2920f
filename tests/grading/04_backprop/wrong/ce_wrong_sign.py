"""softmax_cross_entropy returns (one_hot - p) / N, the gradient with its sign flipped.

Loses: test_softmax_ce hidden_softmax_ce
Says: the sign is flipped
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_softmax_ce
def softmax_cross_entropy(logits, y):
    n, c = logits.shape
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    onehot = np.eye(c)[y]
    loss = -np.sum(onehot * np.log(p)) / n
    return loss, (onehot - p) / n
