"""Correct code with other valid formulas: einsum, tanh-based sigmoid, logsumexp, in-place updates.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_affine
def affine_backward(dout, cache):
    x, W, _ = cache
    dW = np.einsum("no,ni->oi", dout, x)
    dx = np.einsum("no,oi->ni", dout, W)
    db = np.ones(dout.shape[0]) @ dout
    return (dx, dW, db)

# %% answer_sigmoid_backward
def sigmoid_backward(dout, cache):
    s = 0.5 * (1.0 + np.tanh(0.5 * cache))
    return dout * (s - s ** 2)

# %% answer_relu_backward
def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0)

# %% answer_tanh_backward
def tanh_backward(dout, cache):
    return dout / np.cosh(cache) ** 2

# %% answer_softmax_ce
def _logsumexp(a):
    m = np.max(a, axis=1, keepdims=True)
    return m + np.log(np.sum(np.exp(a - m), axis=1, keepdims=True))


def softmax_cross_entropy(logits, y):
    N, C = logits.shape
    log_probs = logits - _logsumexp(logits)
    one_hot = np.zeros((N, C))
    one_hot[np.arange(N), y] = 1
    loss = -np.sum(one_hot * log_probs) / N
    return loss, (np.exp(log_probs) - one_hot) / N

# %% answer_network
def two_layer_gradients(params, X, y):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    hidden = np.tanh(X @ W1.T + b1)
    logits = hidden @ W2.T + b2
    loss, g_logits = softmax_cross_entropy(logits, y)
    g_hidden = g_logits @ W2
    g_pre = g_hidden * (1 - hidden * hidden)
    return loss, dict(W2=g_logits.T @ hidden, b2=g_logits.sum(0), W1=g_pre.T @ X, b1=g_pre.sum(0))

# %% answer_train
def train(X, y, n_hidden, lr, epochs, seed=0):
    params = init_params(X.shape[1], n_hidden, y.max() + 1, seed)
    history = np.zeros(epochs)
    for epoch in range(epochs):
        history[epoch], grads = two_layer_gradients(params, X, y)
        for key in grads:
            params[key] -= lr * grads[key]
    return params, history

# %% answer_settings
xor_settings = {"n_hidden": 3, "lr": 2.0, "epochs": 400}
moons_settings = {"n_hidden": 8, "lr": 2.0, "epochs": 1500}
