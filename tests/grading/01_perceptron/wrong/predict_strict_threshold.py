"""predict uses > 0 instead of >= 0, so points exactly on the boundary get 0.

Loses: test_predict hidden_predict
Says: use >= 0, not > 0
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(w, b, X):
    z = X @ w + b
    return (z > 0).astype(np.float64)
