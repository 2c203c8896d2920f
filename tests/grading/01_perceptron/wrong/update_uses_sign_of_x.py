"""The update moves each weight by lr * (y - y_hat) * np.sign(x): the size of x is lost.

Loses: test_update hidden_update
Says: the change uses the sign of x
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_update
def perceptron_update(w, b, x, y, lr=1.0):
    y_hat = predict(w, b, x[np.newaxis, :])[0]
    error = y - y_hat
    return w + lr * error * np.sign(x), b + lr * error
