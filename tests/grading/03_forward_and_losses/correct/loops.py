"""Explicit loops everywhere: dense layer entry by entry, MLP by recursion, losses term by term.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_dense_forward
def dense_forward(x, W, b):
    n, n_in = x.shape
    n_out = W.shape[0]
    y = np.zeros((n, n_out))
    for row in range(n):
        for k in range(n_out):
            total = b[k]
            for i in range(n_in):
                total += x[row, i] * W[k, i]
            y[row, k] = total
    return y

# %% answer_mlp_forward
def mlp_forward(x, params):
    if len(params) == 1:
        return dense_forward(x, *params[0])
    W, b = params[0]
    return mlp_forward(relu(dense_forward(x, W, b)), params[1:])

# %% answer_mse_loss
def mse_loss(y_pred, y_true):
    flat_pred, flat_true = y_pred.ravel(), y_true.ravel()
    total = 0.0
    for a, t in zip(flat_pred, flat_true):
        total += (a - t) ** 2
    return total / len(flat_pred)

# %% answer_mse_loss_grad
def mse_loss_grad(y_pred, y_true):
    grad = np.zeros_like(y_pred, dtype=float)
    for index in np.ndindex(y_pred.shape):
        grad[index] = 2 * (y_pred[index] - y_true[index]) / y_pred.size
    return grad

# %% answer_bce_loss
import math


def bce_loss(p, y):
    total = 0.0
    for pi, yi in zip(p.ravel(), y.ravel()):
        total -= yi * math.log(pi) + (1 - yi) * math.log(1 - pi)
    return total / p.size

# %% answer_bce_loss_grad
def bce_loss_grad(p, y):
    grad = np.empty(p.shape)
    for index in np.ndindex(p.shape):
        pi, yi = p[index], y[index]
        grad[index] = (-yi / pi + (1 - yi) / (1 - pi)) / p.size
    return grad

# %% answer_cross_entropy_loss
def cross_entropy_loss(logits, labels):
    total = 0.0
    for row, label in zip(logits, labels):
        biggest = max(row)
        log_sum = biggest + math.log(sum(math.exp(v - biggest) for v in row))
        total += log_sum - row[label]
    return total / len(labels)

# %% answer_cross_entropy_grad
def cross_entropy_grad(logits, labels):
    n, c = logits.shape
    grad = np.zeros((n, c))
    for row in range(n):
        biggest = max(logits[row])
        exps = [math.exp(v - biggest) for v in logits[row]]
        total = sum(exps)
        for j in range(c):
            grad[row, j] = (exps[j] / total - (1.0 if j == labels[row] else 0.0)) / n
    return grad
