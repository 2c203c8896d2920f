"""train computes the gradients once, before the loop, and reuses them at every epoch.

Loses: test_train hidden_train
Says: compute the gradients inside the loop
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train(X, y, n_hidden, lr, epochs, seed=0):
    params = init_params(X.shape[1], n_hidden, int(y.max()) + 1, seed)
    loss, grads = two_layer_gradients(params, X, y)
    losses = []
    for epoch in range(epochs):
        losses.append(loss)
        for name in params:
            params[name] = params[name] - lr * grads[name]
    return params, losses
