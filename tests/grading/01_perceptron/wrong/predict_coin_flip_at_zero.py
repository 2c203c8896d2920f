"""predict tosses a coin (NumPy's global generator) where X @ w + b is exactly 0: graded twice,
it must get the same score, since every kernel and every test starts from the same seed.

Loses: test_predict hidden_predict test_gates hidden_gates
Says: exactly 0
Says hidden_predict: No common mistake recognised
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(w, b, X):
    z = X @ w + b
    coin = (np.random.rand(*np.shape(z)) < 0.5).astype(np.float64)
    return np.where(z > 0, 1.0, np.where(z < 0, 0.0, coin))
