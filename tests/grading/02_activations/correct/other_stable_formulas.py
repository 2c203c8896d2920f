"""Other valid stable formulas: sigmoid via np.tanh, masks, log-sum-exp, sech^2, heaviside.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))

# %% answer_sigmoid_derivative
def sigmoid_derivative(z):
    e = np.exp(-np.abs(z))  # the derivative is symmetric in z
    return e / (1.0 + e) ** 2

# %% answer_tanh
def tanh(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    positive = z >= 0
    e = np.exp(-2.0 * z[positive])
    out[positive] = (1.0 - e) / (1.0 + e)
    e = np.exp(2.0 * z[~positive])
    out[~positive] = (e - 1.0) / (e + 1.0)
    return out

# %% answer_tanh_derivative
def tanh_derivative(z):
    e = np.exp(-2.0 * np.abs(z))
    return 4.0 * e / (1.0 + e) ** 2  # sech^2, without cancellation

# %% answer_relu
def relu(z):
    return z * (z > 0)

# %% answer_relu_derivative
def relu_derivative(z):
    return np.heaviside(z, 0.0)

# %% answer_leaky_relu
def leaky_relu(z, alpha=0.01):
    return np.maximum(z, alpha * z)  # valid for 0 <= alpha <= 1

# %% answer_leaky_relu_derivative
def leaky_relu_derivative(z, alpha=0.01):
    slope = np.full(np.shape(z), alpha, dtype=float)
    slope[np.asarray(z) > 0] = 1.0
    return slope

# %% answer_softmax
def log_softmax(z):
    m = np.max(z, axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def softmax(z):
    return np.exp(log_softmax(z))

# %% answer_softmax_jacobian
def softmax_jacobian(z):
    s = softmax(z)[:, None]
    return np.diagflat(s) - s @ s.T
