"""two_layer_gradients, written out by hand, computes dW2 from z1 instead of a1 = tanh(z1).

Loses: test_network hidden_network
Says: uses the hidden layer's output a1
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_network
def two_layer_gradients(params, X, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z1 = X @ W1.T + b1
    a1 = np.tanh(z1)
    z2 = a1 @ W2.T + b2
    loss, dz2 = softmax_cross_entropy(z2, y)
    dW2 = dz2.T @ z1
    db2 = dz2.sum(axis=0)
    dz1 = (dz2 @ W2) * (1 - a1 ** 2)
    return loss, {"W1": dz1.T @ X, "b1": dz1.sum(axis=0), "W2": dW2, "b2": db2}
