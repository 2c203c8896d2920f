"""leaky_relu and its derivative convert z to float32 ("it is enough for a network"): the values
are rounded, and a tiny positive z becomes 0, taking the slope alpha instead of 1.

Loses: hidden_leaky_relu hidden_leaky_relu_derivative
Says hidden_leaky_relu: the result is float32, so it is rounded
Says hidden_leaky_relu_derivative: z was rounded to float32
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_leaky_relu
def leaky_relu(z, alpha=0.01):
    z = np.asarray(z, dtype=np.float32)
    return np.where(z > 0, z, alpha * z)

# %% answer_leaky_relu_derivative
def leaky_relu_derivative(z, alpha=0.01):
    z = np.asarray(z, dtype=np.float32)
    return np.where(z > 0, 1.0, alpha)
