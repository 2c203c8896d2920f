"""perceptron_update's signature was edited to lr=0.1 ("a smaller step is safer"): right whenever
lr is passed, wrong when the default is used, as train_perceptron may do.

Loses: hidden_update
Says: keep the default lr=1.0 of the given signature
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_update
def perceptron_update(w, b, x, y, lr=0.1):
    y_hat = predict(w, b, x[np.newaxis, :])[0]
    error = y - y_hat
    return w + lr * error * x, b + lr * error
