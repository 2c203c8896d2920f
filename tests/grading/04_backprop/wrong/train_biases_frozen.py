"""train updates the weights W1 and W2 but never the biases.

Loses: test_train hidden_train
Says: b1 never changed
Says: b1 does not change
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train(X, y, n_hidden, lr, epochs, seed=0):
    params = init_params(X.shape[1], n_hidden, int(y.max()) + 1, seed)
    losses = []
    for epoch in range(epochs):
        loss, grads = two_layer_gradients(params, X, y)
        losses.append(loss)
        params["W1"] = params["W1"] - lr * grads["W1"]
        params["W2"] = params["W2"] - lr * grads["W2"]
    return params, losses
