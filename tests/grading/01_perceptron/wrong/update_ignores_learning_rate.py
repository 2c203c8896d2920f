"""The learning rate is left out; with lr=1.0 (the gates) nothing changes, otherwise it is wrong.

Loses: test_update hidden_update
Says: the learning rate is missing
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_update
def perceptron_update(w, b, x, y, lr=1.0):
    error = y - predict(w, b, x[np.newaxis, :])[0]
    return w + error * x, b + error
