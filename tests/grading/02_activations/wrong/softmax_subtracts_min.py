"""softmax subtracts each row's minimum instead of its maximum: fine while the logits lie close
together, an overflow once a row spans more than about 710.

Loses: test_softmax_stable hidden_softmax_stable
Says test_softmax_stable: np.exp overflowed
Says hidden_softmax_stable: the minimum was subtracted
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_softmax
def softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - np.min(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
