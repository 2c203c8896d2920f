"""Forward/backward pairs that pass a cache, the building blocks of backpropagation.

Every `*_forward` returns `(out, cache)`: the output and whatever the backward pass will
need. Every `*_backward` takes the upstream gradient `dout` (dLoss/dout, same shape as out)
and the cache, and returns the gradient with respect to each input of the forward pass.
Each docstring says what the cache holds, with shapes (N: batch size, D: in_features,
M: out_features, C: classes). The inputs are checked once, in the forward pass; a backward
pass trusts the cache its forward pass made.

The linear layer uses PyTorch's layout: weight has shape (out_features, in_features) and
out = x @ weight.T + bias.

The activation pairs call their formula in `nnlib.functional` directly (relu_forward calls
F.relu); `activation_forward(z, name)` is the same pair for an activation chosen by name.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from nnlib import functional as F
from nnlib import losses
from nnlib._checks import as_float_array, check_ndim

#: (x (N, D), weight (M, D), bias (M,) or None): the inputs of linear_forward.
LinearCache: TypeAlias = tuple[np.ndarray, np.ndarray, np.ndarray | None]
#: (z, name, kwargs): the input, the activation's name in F.ACTIVATIONS and its keywords.
ActivationCache: TypeAlias = tuple[np.ndarray, str, dict[str, Any]]
#: The scaled keep-mask, of the shape of x; None where dropout is the identity.
DropoutCache: TypeAlias = np.ndarray | None


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------


def linear_forward(
    x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None
) -> tuple[np.ndarray, LinearCache]:
    """Affine map out = x @ weight.T + bias.

    Args:
        x: a batch of shape (N, D).
        weight: shape (M, D), as in torch.nn.Linear.
        bias: shape (M,), or None for no bias.

    Returns:
        out of shape (N, M), and the cache (x, weight, bias): the inputs, as float arrays.
    """
    x = as_float_array(x, "x")
    check_ndim(x, 2, "x", "(batch, in_features)")
    weight = as_float_array(weight, "weight")
    if weight.ndim != 2 or weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"x has shape {x.shape} (in_features={x.shape[1]}) but weight has shape "
            f"{weight.shape}; weight must be (out_features, in_features)"
        )
    if bias is not None:
        bias = as_float_array(bias, "bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(
                f"bias must have shape ({weight.shape[0]},) to match weight {weight.shape}, "
                f"got {bias.shape}"
            )
    out = x @ weight.T
    if bias is not None:
        out = out + bias
    return out, (x, weight, bias)


def linear_backward(
    dout: np.ndarray, cache: LinearCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of the affine map, from dout (N, M) and the cache (x (N, D), weight (M, D), bias).

    Returns:
        dx = dout @ weight, shape (N, D); dweight = dout.T @ x, shape (M, D); dbias = dout
        summed over the batch, shape (M,), or None when the forward pass had no bias.
    """
    x, weight, bias = cache
    dx = dout @ weight
    dweight = dout.T @ x
    dbias = dout.sum(axis=0) if bias is not None else None
    return dx, dweight, dbias


# ---------------------------------------------------------------------------------------------
# Activations (elementwise): the cache is the input z, any shape
# ---------------------------------------------------------------------------------------------


def relu_forward(z: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """ReLU max(0, z), elementwise; the cache is the input z (as a float array, any shape)."""
    z = as_float_array(z, "z")
    return F.relu(z), z


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """ReLU backward, cache z (shape of dout): pass the gradient where z > 0, block it elsewhere."""
    return dout * F.relu_derivative(cache)


def sigmoid_forward(z: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Sigmoid 1 / (1 + exp(-z)), elementwise; the cache is the input z (any shape)."""
    z = as_float_array(z, "z")
    return F.sigmoid(z), z


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Sigmoid backward, cache z (shape of dout): dout * s * (1 - s) with s = sigmoid(z)."""
    return dout * F.sigmoid_derivative(cache)


def tanh_forward(z: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Tanh, elementwise; the cache is the input z (any shape)."""
    z = as_float_array(z, "z")
    return F.tanh(z), z


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Tanh backward, cache z (shape of dout): dout * (1 - tanh(z)^2)."""
    return dout * F.tanh_derivative(cache)


def activation_forward(
    z: ArrayLike, name: str, **kwargs: Any
) -> tuple[np.ndarray, ActivationCache]:
    """The activation called `name` in F.ACTIVATIONS (e.g. "leaky_relu", negative_slope=0.1).

    Returns:
        out of the shape of z, and the cache (z, name, kwargs): the input and what
        activation_backward needs to find the derivative.
    """
    if name not in F.ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(F.ACTIVATIONS)}")
    z = as_float_array(z, "z")
    function, _ = F.ACTIVATIONS[name]
    return function(z, **kwargs), (z, name, kwargs)


def activation_backward(dout: np.ndarray, cache: ActivationCache) -> np.ndarray:
    """Chain rule through an elementwise activation: dz = dout * f'(z), of the shape of z."""
    z, name, kwargs = cache
    _, derivative = F.ACTIVATIONS[name]
    return dout * derivative(z, **kwargs)


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


def dropout_forward(
    x: ArrayLike, p: float, training: bool, rng: np.random.Generator
) -> tuple[np.ndarray, DropoutCache]:
    """Inverted dropout: zero each entry with probability p and scale the rest by 1 / (1 - p).

    Returns:
        out of the shape of x, and the cache: the mask, of the shape of x, holding 0 or
        1 / (1 - p) (zeros for p = 1); None in eval mode or for p = 0, where out is x itself.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    x = as_float_array(x, "x")
    if not training or p == 0.0:
        return x, None
    if p == 1.0:  # everything dropped (torch returns zeros too)
        keep = np.zeros_like(x)
        return x * keep, keep
    keep = (rng.random(x.shape, dtype=np.float32) >= p).astype(x.dtype) / (1.0 - p)
    return x * keep, keep


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """Dropout backward: the forward pass's mask (shape of dout) applied to the gradient."""
    return dout if cache is None else dout * cache


# ---------------------------------------------------------------------------------------------
# Softmax and cross-entropy, fused
# ---------------------------------------------------------------------------------------------


def softmax_cross_entropy_forward(
    logits: ArrayLike, target: ArrayLike
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits (N, C)) against target: class labels (N,), or
    class probabilities (N, C).

    Returns:
        the loss, a number, and the cache: the gradient dloss/dlogits, of shape (N, C),
        computed here because the forward pass already has softmax(logits).
    """
    loss, dlogits = losses.cross_entropy(logits, target)
    return loss, dlogits


def softmax_cross_entropy_backward(cache: np.ndarray) -> np.ndarray:
    """Gradient of the mean cross-entropy with respect to the logits: (softmax - one_hot) / N.

    The cache is that gradient, (N, C); there is no dout, as the loss ends the graph.
    """
    return cache
