"""Right formula, but softmax without subtracting the maximum: nan for logits near 1e4.

The visible test uses small logits, so only the hidden test (which has large ones) fails.

Loses: hidden_cross_entropy_grad
Says: NaN or inf for large logits
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_cross_entropy_grad
def cross_entropy_grad(logits, labels):
    n = logits.shape[0]
    probs = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    probs[np.arange(n), labels] -= 1
    return probs / n
