"""The weights are updated in place (w += ...), changing the caller's array.

Training still works (it owns its w), so only the update's tests fail.

Loses: test_update hidden_update
Says: changed in place
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_update
def perceptron_update(w, b, x, y, lr=1.0):
    error = y - predict(w, b, x[np.newaxis, :])[0]
    w += lr * error * x
    return w, b + lr * error
