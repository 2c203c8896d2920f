"""Correct code that prints progress and raises a warning: output must not cost points."""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
import sys
import warnings

import numpy as np


def predict(w, b, X):
    print("predicting", X.shape[0], "rows")
    return np.where(X @ w + b >= 0, 1.0, 0.0)

# %% answer_update
def perceptron_update(w, b, x, y, lr=1.0):
    y_hat = predict(w, b, x[None, :])[0]
    if y_hat != y:
        print("mistake, updating", file=sys.stderr)
    return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)

# %% answer_train
def train_perceptron(X, y, lr=1.0, max_epochs=100):
    w, b = np.zeros(X.shape[1]), 0.0
    for epoch in range(1, max_epochs + 1):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            mistakes += predict(w, b, x_i[None, :])[0] != y_i
            w, b = perceptron_update(w, b, x_i, y_i, lr)
        print(f"epoch {epoch}: {mistakes} mistakes")
        if mistakes == 0:
            return w, b, epoch, True
    warnings.warn("the perceptron did not converge", stacklevel=2)
    return w, b, max_epochs, False

# %% answer_gates
results = {}
for gate in ("AND", "OR", "XOR"):
    results[gate] = train_perceptron(*logic_gate(gate), lr=1.0, max_epochs=100)
