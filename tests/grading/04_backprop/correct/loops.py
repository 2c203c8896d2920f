"""Correct code written with explicit loops over samples, entries and parameters.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_affine
def affine_backward(dout, cache):
    x, W, b = cache
    n, n_in = x.shape
    n_out = W.shape[0]
    dx = np.zeros((n, n_in))
    dW = np.zeros((n_out, n_in))
    db = np.zeros(n_out)
    for i in range(n):
        for j in range(n_out):
            db[j] += dout[i, j]
            for k in range(n_in):
                dx[i, k] += dout[i, j] * W[j, k]
                dW[j, k] += dout[i, j] * x[i, k]
    return dx, dW, db

# %% answer_sigmoid_backward
import math


def sigmoid_backward(dout, cache):
    z = np.asarray(cache, dtype=float)
    out = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        s = 1.0 / (1.0 + math.exp(-z[idx]))
        out[idx] = dout[idx] * s * (1.0 - s)
    return out

# %% answer_relu_backward
def relu_backward(dout, cache):
    out = np.zeros_like(dout, dtype=float)
    for idx in np.ndindex(dout.shape):
        if cache[idx] >= 0:
            out[idx] = dout[idx]
    return out

# %% answer_tanh_backward
def tanh_backward(dout, cache):
    out = np.empty(np.shape(cache))
    for idx in np.ndindex(out.shape):
        t = math.tanh(cache[idx])
        out[idx] = dout[idx] * (1 - t * t)
    return out

# %% answer_softmax_ce
def softmax_cross_entropy(logits, y):
    n, c = logits.shape
    loss = 0.0
    grad = np.zeros((n, c))
    for i in range(n):
        m = max(logits[i])
        exps = [math.exp(v - m) for v in logits[i]]
        total = sum(exps)
        loss -= (logits[i, y[i]] - m) - math.log(total)
        for j in range(c):
            grad[i, j] = exps[j] / total - (1.0 if j == y[i] else 0.0)
    return loss / n, grad / n

# %% answer_network
def two_layer_gradients(params, X, y):
    caches = []
    h, cache = affine_forward(X, params["W1"], params["b1"])
    caches.append(cache)
    h, cache = tanh_forward(h)
    caches.append(cache)
    h, cache = affine_forward(h, params["W2"], params["b2"])
    caches.append(cache)
    loss, grad = softmax_cross_entropy(h, y)
    grads = {}
    grad, grads["W2"], grads["b2"] = affine_backward(grad, caches[2])
    grad = tanh_backward(grad, caches[1])
    grad, grads["W1"], grads["b1"] = affine_backward(grad, caches[0])
    return loss, grads

# %% answer_train
def train(X, y, n_hidden, lr, epochs, seed=0):
    n_classes = int(max(y)) + 1
    params = init_params(X.shape[1], n_hidden, n_classes, seed=seed)
    losses = []
    epoch = 0
    while epoch < epochs:
        loss, grads = two_layer_gradients(params, X, y)
        losses.append(float(loss))
        new_params = {}
        for name, value in params.items():
            new_params[name] = value - lr * grads[name]
        params = new_params
        epoch += 1
    return params, losses

# %% answer_settings
xor_settings = dict(n_hidden=8, lr=0.5, epochs=1000)
moons_settings = dict(n_hidden=32, lr=0.5, epochs=2000)
