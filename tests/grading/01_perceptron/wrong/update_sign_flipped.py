"""The learning rule moves the weights away from the example: w - lr * (y - y_hat) * x.

Loses: test_update hidden_update test_train test_gates hidden_gates
Says: the change has the wrong sign
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_update
def perceptron_update(w, b, x, y, lr=1.0):
    y_hat = predict(w, b, x[np.newaxis, :])[0]
    return w - lr * (y - y_hat) * x, b - lr * (y - y_hat)
