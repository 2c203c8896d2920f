"""Forward/backward pairs that pass a cache, the building blocks of backpropagation.

Every `*_forward` returns `(out, cache)`: the output and whatever the backward pass will
need. Every `*_backward` takes the upstream gradient `dout` (dLoss/dout, same shape as out)
and the cache, and returns the gradient with respect to each input of the forward pass.

The linear layer uses PyTorch's layout: weight has shape (out_features, in_features) and
out = x @ weight.T + bias.
"""

from __future__ import annotations

import numpy as np

from nnlib import functional as F
from nnlib import losses
from nnlib._checks import as_float_array, check_ndim


def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None):
    """Affine map out = x @ weight.T + bias for a batch x of shape (N, in_features)."""
    x = as_float_array(x, "x")
    check_ndim(x, 2, "x", "(batch, in_features)")
    weight = as_float_array(weight, "weight")
    if bias is not None:
        bias = as_float_array(bias, "bias")
    if weight.ndim != 2 or weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"x has shape {x.shape} (in_features={x.shape[1]}) but weight has shape "
            f"{weight.shape}; weight must be (out_features, in_features)"
        )
    out = x @ weight.T
    if bias is not None:
        if bias.shape != (weight.shape[0],):
            raise ValueError(
                f"bias must have shape ({weight.shape[0]},) to match weight {weight.shape}, "
                f"got {bias.shape}"
            )
        out = out + bias
    return out, (x, weight, bias)


def linear_backward(dout: np.ndarray, cache):
    """Gradients of the affine map: dx = dout @ W, dW = dout.T @ x, db = dout summed over rows."""
    x, weight, bias = cache
    dx = dout @ weight
    dweight = dout.T @ x
    dbias = dout.sum(axis=0) if bias is not None else None
    return dx, dweight, dbias


def activation_forward(z: np.ndarray, name: str, **kwargs):
    """Apply the activation called `name` (see functional.ACTIVATIONS); cache its input."""
    if name not in F.ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(F.ACTIVATIONS)}")
    fn, _ = F.ACTIVATIONS[name]
    return fn(z, **kwargs), (z, name, kwargs)


def activation_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Chain rule through an elementwise activation: dz = dout * f'(z)."""
    z, name, kwargs = cache
    _, derivative = F.ACTIVATIONS[name]
    return dout * derivative(z, **kwargs)


def relu_forward(z: np.ndarray):
    """ReLU forward; the cache is the input z."""
    return activation_forward(z, "relu")


def relu_backward(dout: np.ndarray, cache) -> np.ndarray:
    """ReLU backward: pass the gradient where z > 0, block it elsewhere."""
    return activation_backward(dout, cache)


def sigmoid_forward(z: np.ndarray):
    """Sigmoid forward; the cache is the input z."""
    return activation_forward(z, "sigmoid")


def sigmoid_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Sigmoid backward: dout * s * (1 - s)."""
    return activation_backward(dout, cache)


def tanh_forward(z: np.ndarray):
    """Tanh forward; the cache is the input z."""
    return activation_forward(z, "tanh")


def tanh_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Tanh backward: dout * (1 - tanh(z)^2)."""
    return activation_backward(dout, cache)


def dropout_forward(x: np.ndarray, p: float, training: bool, rng: np.random.Generator):
    """Inverted dropout: zero each entry with probability p and scale the rest by 1 / (1 - p)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x, None
    if p == 1.0:  # everything dropped (torch returns zeros too)
        keep = np.zeros(np.shape(x), dtype=np.asarray(x).dtype)
        return x * keep, keep
    keep = (rng.random(x.shape, dtype=np.float32) >= p).astype(x.dtype) / (1.0 - p)
    return x * keep, keep


def dropout_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Dropout backward: the same mask (and scale) applied to the gradient."""
    return dout if cache is None else dout * cache


def softmax_cross_entropy_forward(logits: np.ndarray, target: np.ndarray):
    """Mean cross-entropy of softmax(logits) against labels; the cache holds the gradient."""
    loss, dlogits = losses.cross_entropy(logits, target)
    return loss, dlogits


def softmax_cross_entropy_backward(cache) -> np.ndarray:
    """Gradient of the mean cross-entropy with respect to the logits: (softmax - one_hot) / N."""
    return cache
