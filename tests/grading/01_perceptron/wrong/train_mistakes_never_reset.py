"""The mistake counter is set to 0 once, before the epochs, so training never converges.

Loses: test_train hidden_train test_gates hidden_gates
Says: stop after the first epoch without a mistake
Says: start the mistake count from 0 in every epoch
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_perceptron(X, y, lr=1.0, max_epochs=100):
    w = np.zeros(X.shape[1])
    b = 0.0
    mistakes = 0
    for epoch in range(1, max_epochs + 1):
        for x_i, y_i in zip(X, y):
            if predict(w, b, x_i[np.newaxis, :])[0] != y_i:
                mistakes += 1
            w, b = perceptron_update(w, b, x_i, y_i, lr)
        if mistakes == 0:
            return w, b, epoch, True
    return w, b, max_epochs, False
