"""The epoch counter starts at 0, so a converged run reports one epoch too few.

Loses: test_train hidden_train
Says: count the epochs from 1
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_perceptron(X, y, lr=1.0, max_epochs=100):
    w = np.zeros(X.shape[1])
    b = 0.0
    for epoch in range(max_epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            if predict(w, b, x_i[np.newaxis, :])[0] != y_i:
                mistakes += 1
            w, b = perceptron_update(w, b, x_i, y_i, lr)
        if mistakes == 0:
            return w, b, epoch, True
    return w, b, max_epochs, False
