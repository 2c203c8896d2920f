"""Correct code that prints, warns and changes its arguments in place: no points lost.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_affine
import sys
import warnings


def affine_backward(dout, cache):
    x, W, b = cache
    print("affine_backward:", dout.shape, x.shape, W.shape)
    return dout @ W, dout.T @ x, dout.sum(axis=0)

# %% answer_relu_backward
def relu_backward(dout, cache):
    warnings.warn("relu_backward changes dout in place", UserWarning)
    dout[cache <= 0] = 0.0
    return dout

# %% answer_softmax_ce
def softmax_cross_entropy(logits, y):
    print("softmax_cross_entropy debug", file=sys.stderr)
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.mean(np.log(logits[np.arange(n), y]))
    logits[np.arange(n), y] -= 1
    logits /= n
    return loss, logits

# %% answer_train
def train(X, y, n_hidden, lr, epochs, seed=0):
    params = init_params(X.shape[1], n_hidden, int(y.max()) + 1, seed)
    losses = []
    for epoch in range(epochs):
        loss, grads = two_layer_gradients(params, X, y)
        if epoch % 100 == 0:
            print(f"epoch {epoch}: loss {loss:.4f}")
        losses.append(loss)
        for name in ("W1", "b1", "W2", "b2"):
            params[name] -= lr * grads[name]
    return params, losses
