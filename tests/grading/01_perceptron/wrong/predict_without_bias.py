"""predict forgets the bias; training then cannot separate AND (step(0) = 1 at the origin).

Loses: test_predict hidden_predict test_gates hidden_gates
Says: the bias is missing
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(w, b, X):
    return (X @ w >= 0).astype(np.float64)
