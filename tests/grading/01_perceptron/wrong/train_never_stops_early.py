"""Training always runs max_epochs epochs instead of stopping after a mistake-free epoch.

Loses: test_train hidden_train
Says: stop after the first epoch without a mistake
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_perceptron(X, y, lr=1.0, max_epochs=100):
    w = np.zeros(X.shape[1])
    b = 0.0
    mistakes = 0
    for _ in range(max_epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            if predict(w, b, x_i[np.newaxis, :])[0] != y_i:
                mistakes += 1
            w, b = perceptron_update(w, b, x_i, y_i, lr)
    return w, b, max_epochs, mistakes == 0
