"""train always starts from init_params(..., seed=0), whatever seed it is given.

Loses: test_train hidden_train
Says: with the seed argument
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train(X, y, n_hidden, lr, epochs, seed=0):
    params = init_params(X.shape[1], n_hidden, int(y.max()) + 1)
    losses = []
    for epoch in range(epochs):
        loss, grads = two_layer_gradients(params, X, y)
        losses.append(loss)
        for name in params:
            params[name] = params[name] - lr * grads[name]
    return params, losses
