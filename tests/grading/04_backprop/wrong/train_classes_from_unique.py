"""train counts the classes with len(np.unique(y)): when a class never appears in y, the
output layer is too small.

Loses: hidden_train
Says: int(y.max()) + 1
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train(X, y, n_hidden, lr, epochs, seed=0):
    params = init_params(X.shape[1], n_hidden, len(np.unique(y)), seed)
    losses = []
    for _ in range(epochs):
        loss, grads = two_layer_gradients(params, X, y)
        losses.append(loss)
        for name in params:
            params[name] = params[name] - lr * grads[name]
    return params, losses
