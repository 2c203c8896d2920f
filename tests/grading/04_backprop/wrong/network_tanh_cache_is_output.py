"""two_layer_gradients passes the tanh layer's output a1 to tanh_backward instead of the cache
tanh_forward returned (z1).

Loses: test_network hidden_network
Says: tanh_backward got the layer's output a1 as its cache
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_network
def two_layer_gradients(params, X, y):
    z1, cache1 = affine_forward(X, params["W1"], params["b1"])
    a1, _ = tanh_forward(z1)
    z2, cache2 = affine_forward(a1, params["W2"], params["b2"])
    loss, dz2 = softmax_cross_entropy(z2, y)
    da1, dW2, db2 = affine_backward(dz2, cache2)
    dz1 = tanh_backward(da1, a1)
    _, dW1, db1 = affine_backward(dz1, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
