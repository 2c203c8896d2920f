"""two_layer_gradients multiplies by 1 - a1^2 again after tanh_backward already did.

Loses: test_network hidden_network
Says: the tanh derivative is applied twice
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_network
def two_layer_gradients(params, X, y):
    z1, c1 = affine_forward(X, params["W1"], params["b1"])
    a1, ct = tanh_forward(z1)
    z2, c2 = affine_forward(a1, params["W2"], params["b2"])
    loss, dz2 = softmax_cross_entropy(z2, y)
    da1, dW2, db2 = affine_backward(dz2, c2)
    dz1 = tanh_backward(da1, ct) * (1 - a1 ** 2)
    _, dW1, db1 = affine_backward(dz1, c1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
