"""Element-by-element Python loops with math.exp, and loops over rows and matrix entries.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid
import math


def sigmoid_scalar(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    return math.exp(x) / (1.0 + math.exp(x))


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    out = np.zeros(z.shape)
    for index in np.ndindex(z.shape):
        out[index] = sigmoid_scalar(z[index])
    return out

# %% answer_sigmoid_derivative
def sigmoid_derivative(z):
    result = sigmoid(z)
    return result - result ** 2

# %% answer_tanh
def tanh(z):
    z = np.asarray(z, dtype=float)
    out = np.zeros(z.shape)
    for index in np.ndindex(z.shape):
        x = z[index]
        sign = 1.0 if x >= 0 else -1.0
        e = math.exp(-2.0 * abs(x))
        out[index] = sign * (1.0 - e) / (1.0 + e)
    return out

# %% answer_tanh_derivative
def tanh_derivative(z):
    return 1.0 - np.tanh(z) ** 2

# %% answer_relu
def relu(z):
    z = np.asarray(z, dtype=float)
    out = z.copy()
    for index in np.ndindex(z.shape):
        if out[index] < 0:
            out[index] = 0.0
    return out

# %% answer_relu_derivative
def relu_derivative(z):
    z = np.asarray(z, dtype=float)
    return np.array([1.0 if x > 0 else 0.0 for x in z.ravel()]).reshape(z.shape)

# %% answer_leaky_relu
def leaky_relu(z, alpha=0.01):
    z = np.asarray(z, dtype=float)
    return np.array([x if x > 0 else alpha * x for x in z.ravel()]).reshape(z.shape)

# %% answer_leaky_relu_derivative
def leaky_relu_derivative(z, alpha=0.01):
    z = np.asarray(z, dtype=float)
    return np.array([1.0 if x > 0 else alpha for x in z.ravel()]).reshape(z.shape)

# %% answer_softmax
def softmax_vector(v):
    biggest = max(v)
    exps = [math.exp(x - biggest) for x in v]
    total = sum(exps)
    return [e / total for e in exps]


def softmax(z):
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        return np.array(softmax_vector(z))
    return np.array([softmax_vector(row) for row in z])

# %% answer_softmax_jacobian
def softmax_jacobian(z):
    s = softmax(z)
    n = len(s)
    J = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                J[i, j] = s[i] * (1 - s[i])
            else:
                J[i, j] = -s[i] * s[j]
    return J
