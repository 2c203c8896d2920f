"""Other argument names, a helper step function, int/bool outputs, NumPy scalar types.

predict returns an int array, the trainer detects mistakes from the change of (w, b) and
returns NumPy integer and bool types; all of that is as good as floats and Python types.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def heaviside(values):
    return (values >= 0).astype(int)


def predict(weights, bias, inputs):
    return heaviside(np.dot(inputs, weights) + bias)

# %% answer_update
def perceptron_update(weights, bias, example, label, lr=1.0):
    guess = predict(weights, bias, example.reshape(1, -1))[0]
    delta = lr * (label - guess)
    return weights + delta * example, bias + delta

# %% answer_train
def train_perceptron(X, y, lr=1.0, max_epochs=100):
    weights, bias = np.zeros_like(X[0], dtype=float), np.float64(0)
    for epoch in np.arange(1, max_epochs + 1):
        changed = False
        for example, label in zip(X, y):
            new_weights, new_bias = perceptron_update(weights, bias, example, label, lr)
            if new_bias != bias or np.any(new_weights != weights):
                changed = True
            weights, bias = new_weights, new_bias
        if not changed:
            return weights, bias, epoch, np.bool_(True)
    return weights, bias, np.int64(max_epochs), np.bool_(False)

# %% answer_gates
results = {name: train_perceptron(*logic_gate(name)) for name in ["AND", "OR", "XOR"]}
