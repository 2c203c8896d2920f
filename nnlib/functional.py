"""Activation functions and their derivatives, written out in NumPy.

Names and arguments follow `torch.nn.functional` (sigmoid, tanh, relu, leaky_relu, gelu,
softmax, log_softmax, and linear, dropout, one_hot and the losses, which return the value
only; `nnlib.losses` has the same losses with their gradients). Every activation `f` has a
partner `f_derivative(input)` that returns df/dz elementwise; softmax, whose output mixes
all entries along an axis, instead has
`softmax_jacobian` (one vector) and `softmax_backward` (a batch, the chain rule applied).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from nnlib._checks import as_float_array

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_COEF = 0.044715


def step(input: np.ndarray) -> np.ndarray:
    """Heaviside step: 1 where input >= 0, else 0 (the perceptron's activation)."""
    z = as_float_array(input, "input")
    return (z >= 0).astype(z.dtype)


def step_derivative(input: np.ndarray) -> np.ndarray:
    """Derivative of the step function: 0 everywhere it is defined (no gradient to learn from)."""
    z = as_float_array(input, "input")
    return np.zeros_like(z)


def sigmoid(input: np.ndarray) -> np.ndarray:
    """Logistic sigmoid 1 / (1 + exp(-z)), computed without overflow for any float z."""
    z = as_float_array(input, "input")
    # exp(-|z|) is at most 1, so it cannot overflow. For z >= 0 it is exp(-z), and the
    # sigmoid is 1 / (1 + exp(-z)); for z < 0 it is exp(z), and the same sigmoid, multiplied
    # through by exp(z), is exp(z) / (1 + exp(z)).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(input: np.ndarray) -> np.ndarray:
    """d sigmoid / dz = sigmoid(z) * (1 - sigmoid(z))."""
    s = sigmoid(input)
    return s * (1.0 - s)


def tanh(input: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, range (-1, 1)."""
    return np.tanh(as_float_array(input, "input"))


def tanh_derivative(input: np.ndarray) -> np.ndarray:
    """d tanh / dz = 1 - tanh(z)^2."""
    t = tanh(input)
    return 1.0 - t * t


def relu(input: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Rectified linear unit max(0, z); inplace=True overwrites a float input array."""
    z = as_float_array(input, "input")
    return np.maximum(z, 0.0, out=z if inplace else None)


def relu_derivative(input: np.ndarray) -> np.ndarray:
    """d relu / dz: 1 where z > 0, else 0 (we take 0 at z = 0, as PyTorch does)."""
    z = as_float_array(input, "input")
    return (z > 0).astype(z.dtype)


def leaky_relu(
    input: np.ndarray, negative_slope: float = 0.01, inplace: bool = False
) -> np.ndarray:
    """Leaky ReLU: z where z > 0, else negative_slope * z; inplace=True overwrites the input."""
    z = as_float_array(input, "input")
    out = np.where(z > 0, z, negative_slope * z).astype(z.dtype)
    if inplace:
        z[...] = out
        return z
    return out


def leaky_relu_derivative(input: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """d leaky_relu / dz: 1 where z > 0, else negative_slope."""
    z = as_float_array(input, "input")
    return np.where(z > 0, 1.0, negative_slope).astype(z.dtype)


def gelu(input: np.ndarray, approximate: str = "none") -> np.ndarray:
    """GELU z * Phi(z); approximate='tanh' uses the tanh formula, as in PyTorch."""
    z = as_float_array(input, "input")
    if approximate == "none":
        return 0.5 * z * (1.0 + erf(z / math.sqrt(2.0)))
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (z + _GELU_TANH_COEF * z**3)
        return 0.5 * z * (1.0 + np.tanh(u))
    raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu_derivative(input: np.ndarray, approximate: str = "none") -> np.ndarray:
    """d gelu / dz, for the exact (erf) form or the tanh approximation."""
    z = as_float_array(input, "input")
    if approximate == "none":
        cdf = 0.5 * (1.0 + erf(z / math.sqrt(2.0)))
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return cdf + z * pdf
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (z + _GELU_TANH_COEF * z**3)
        t = np.tanh(u)
        du_dz = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_COEF * z * z)
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du_dz
    raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


def _softmax_dim(ndim: int, dim: int | None) -> int:
    """torch's choice when no dim is given: 0 for 0-, 1- and 3-D input, else 1."""
    if dim is not None:
        return dim
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: np.ndarray, dim: int | None = None, dtype=None) -> np.ndarray:
    """Softmax along `dim`; subtracting the max first keeps exp from overflowing.

    Without dim, torch's rule picks it (the last axis for 1-D and 2-D input); pass dim.
    """
    z = as_float_array(input, "input")
    if dtype is not None:
        z = z.astype(dtype)
    dim = _softmax_dim(z.ndim, dim)
    shifted = z - np.max(z, axis=dim, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=dim, keepdims=True)


def log_softmax(input: np.ndarray, dim: int | None = None, dtype=None) -> np.ndarray:
    """log(softmax(z)) computed as z - max - log(sum(exp(z - max))): no log(0), no overflow."""
    z = as_float_array(input, "input")
    if dtype is not None:
        z = z.astype(dtype)
    dim = _softmax_dim(z.ndim, dim)
    shifted = z - np.max(z, axis=dim, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


def softmax_jacobian(input: np.ndarray) -> np.ndarray:
    """Jacobian of softmax for one vector z: J[i, j] = s_i * (delta_ij - s_j)."""
    z = as_float_array(input, "input")
    if z.ndim != 1:
        raise ValueError(f"softmax_jacobian takes one vector z of shape (k,), got {z.shape}")
    s = softmax(z, dim=0)
    return np.diag(s) - np.outer(s, s)


def softmax_backward(grad_output: np.ndarray, s: np.ndarray, dim: int = -1) -> np.ndarray:
    """Chain rule through softmax: given dL/ds and s = softmax(z), return dL/dz."""
    grad_output = as_float_array(grad_output, "grad_output")
    s = as_float_array(s, "s")
    if grad_output.shape != s.shape:
        raise ValueError(
            f"grad_output and s must have the same shape, got {grad_output.shape} and {s.shape}"
        )
    return s * (grad_output - np.sum(grad_output * s, axis=dim, keepdims=True))


# name -> (function, derivative); used by the activation layers, plots and lessons.
ACTIVATIONS = {
    "step": (step, step_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "gelu": (gelu, gelu_derivative),
}


# torch.nn.functional's remaining names, values only (the gradients live in layers and losses).


def linear(input: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """input @ weight.T + bias (weight of shape (out_features, in_features))."""
    from nnlib import layers

    return layers.linear_forward(input, weight, bias)[0]


def dropout(
    input: np.ndarray, p: float = 0.5, training: bool = True, inplace: bool = False
) -> np.ndarray:
    """Inverted dropout with nnlib's shared generator (see nnlib.manual_seed)."""
    from nnlib import layers
    from nnlib.random import get_rng

    out = layers.dropout_forward(as_float_array(input, "input"), p, training, get_rng(None))[0]
    if inplace and out is not input and isinstance(input, np.ndarray):
        input[...] = out
        return input
    return out


def one_hot(tensor: np.ndarray, num_classes: int = -1) -> np.ndarray:
    """Integer labels (any shape) -> int64 one-hot with a last axis of num_classes (-1: max + 1)."""
    labels = np.asarray(tensor)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"one_hot is only applicable to integer labels, got dtype {labels.dtype}")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes - 1}]")
    return (labels[..., None] == np.arange(num_classes)).astype(np.int64)


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error, the value only (nnlib.losses.mse_loss also gives the gradient)."""
    from nnlib import losses

    return losses.mse_loss(input, target, reduction=reduction)[0]


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """Binary cross-entropy on probabilities, the value only (see nnlib.losses)."""
    from nnlib import losses

    return losses.binary_cross_entropy(input, target, weight, reduction)[0]


def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
):
    """Binary cross-entropy on logits, the value only (see nnlib.losses)."""
    from nnlib import losses

    return losses.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)[0]


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    """Softmax cross-entropy of logits, the value only (see nnlib.losses)."""
    from nnlib import losses

    return losses.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)[0]
