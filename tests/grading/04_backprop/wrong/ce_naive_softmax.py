"""softmax_cross_entropy exponentiates the raw logits: right for small logits, NaN near 1000.

Loses: test_softmax_ce hidden_softmax_ce
Says: np.exp overflowed
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_softmax_ce
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    grad = p.copy()
    grad[np.arange(n), y] -= 1
    return loss, grad / n
