"""Only the weights are updated, the bias stays 0, so AND cannot be learned.

Loses: test_update hidden_update test_train test_gates hidden_gates
Says: the bias must be updated too
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_update
def perceptron_update(w, b, x, y, lr=1.0):
    y_hat = predict(w, b, x[np.newaxis, :])[0]
    return w + lr * (y - y_hat) * x, b
