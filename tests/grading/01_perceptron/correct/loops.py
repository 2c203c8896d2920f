"""Explicit Python loops instead of vectorised NumPy, in every part."""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(w, b, X):
    out = np.zeros(len(X))
    for i in range(len(X)):
        total = b
        for j in range(len(w)):
            total += w[j] * X[i][j]
        if total >= 0:
            out[i] = 1.0
    return out

# %% answer_update
def perceptron_update(w, b, x, y, lr=1.0):
    y_hat = predict(w, b, np.array([x]))[0]
    new_w = np.array(w, dtype=float)
    for j in range(len(new_w)):
        new_w[j] = w[j] + lr * (y - y_hat) * x[j]
    return new_w, b + lr * (y - y_hat)

# %% answer_train
def train_perceptron(X, y, lr=1.0, max_epochs=100):
    w = np.zeros(X.shape[1])
    b = 0.0
    epoch = 0
    while epoch < max_epochs:
        epoch += 1
        errors = 0
        for i in range(X.shape[0]):
            if predict(w, b, X[i : i + 1])[0] != y[i]:
                errors = errors + 1
            w, b = perceptron_update(w, b, X[i], y[i], lr)
        if errors == 0:
            return w, b, epoch, True
    return w, b, epoch, False

# %% answer_gates
results = {}
X_and, y_and = logic_gate("AND")
results["AND"] = train_perceptron(X_and, y_and)
X_or, y_or = logic_gate("OR")
results["OR"] = train_perceptron(X_or, y_or, 1.0, 100)
X_xor, y_xor = logic_gate("xor")
results["XOR"] = train_perceptron(X_xor, y_xor, max_epochs=100, lr=1.0)
