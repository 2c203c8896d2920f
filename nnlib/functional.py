"""Activation functions and their derivatives, written out in NumPy.

Names follow `torch.nn.functional` (sigmoid, tanh, relu, leaky_relu, gelu, softmax,
log_softmax). Every activation `f` has a partner `f_derivative(z)` that returns df/dz
elementwise; softmax, whose output mixes all entries along an axis, instead has
`softmax_jacobian` (one vector) and `softmax_backward` (a batch, the chain rule applied).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from nnlib._checks import as_float_array

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_COEF = 0.044715


def step(z: np.ndarray) -> np.ndarray:
    """Heaviside step: 1 where z >= 0, else 0 (the perceptron's activation)."""
    z = as_float_array(z, "z")
    return (z >= 0).astype(z.dtype)


def step_derivative(z: np.ndarray) -> np.ndarray:
    """Derivative of the step function: 0 everywhere it is defined (no gradient to learn from)."""
    z = as_float_array(z, "z")
    return np.zeros_like(z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid 1 / (1 + exp(-z)), computed without overflow for any float z."""
    z = as_float_array(z, "z")
    out = np.empty_like(z)
    pos = z >= 0
    # For z >= 0, exp(-z) <= 1 cannot overflow.
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    # For z < 0, rewrite as exp(z) / (1 + exp(z)) so that exp never sees a large argument.
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def sigmoid_derivative(z: np.ndarray) -> np.ndarray:
    """d sigmoid / dz = sigmoid(z) * (1 - sigmoid(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, range (-1, 1)."""
    return np.tanh(as_float_array(z, "z"))


def tanh_derivative(z: np.ndarray) -> np.ndarray:
    """d tanh / dz = 1 - tanh(z)^2."""
    t = tanh(z)
    return 1.0 - t * t


def relu(z: np.ndarray) -> np.ndarray:
    """Rectified linear unit max(0, z)."""
    z = as_float_array(z, "z")
    return np.maximum(z, 0.0)


def relu_derivative(z: np.ndarray) -> np.ndarray:
    """d relu / dz: 1 where z > 0, else 0 (we take 0 at z = 0, as PyTorch does)."""
    z = as_float_array(z, "z")
    return (z > 0).astype(z.dtype)


def leaky_relu(z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """Leaky ReLU: z where z > 0, else negative_slope * z."""
    z = as_float_array(z, "z")
    return np.where(z > 0, z, negative_slope * z).astype(z.dtype)


def leaky_relu_derivative(z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """d leaky_relu / dz: 1 where z > 0, else negative_slope."""
    z = as_float_array(z, "z")
    return np.where(z > 0, 1.0, negative_slope).astype(z.dtype)


def gelu(z: np.ndarray, approximate: str = "none") -> np.ndarray:
    """GELU z * Phi(z); approximate='tanh' uses the tanh formula, as in PyTorch."""
    z = as_float_array(z, "z")
    if approximate == "none":
        return 0.5 * z * (1.0 + erf(z / math.sqrt(2.0)))
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (z + _GELU_TANH_COEF * z**3)
        return 0.5 * z * (1.0 + np.tanh(u))
    raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu_derivative(z: np.ndarray, approximate: str = "none") -> np.ndarray:
    """d gelu / dz, for the exact (erf) form or the tanh approximation."""
    z = as_float_array(z, "z")
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


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along `axis`; subtracting the max first keeps exp from overflowing."""
    z = as_float_array(z, "z")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(z)) computed as z - max - log(sum(exp(z - max))): no log(0), no overflow."""
    z = as_float_array(z, "z")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    """Jacobian of softmax for one vector z: J[i, j] = s_i * (delta_ij - s_j)."""
    z = as_float_array(z, "z")
    if z.ndim != 1:
        raise ValueError(f"softmax_jacobian takes one vector z of shape (k,), got {z.shape}")
    s = softmax(z)
    return np.diag(s) - np.outer(s, s)


def softmax_backward(grad_output: np.ndarray, s: np.ndarray, axis: int = -1) -> np.ndarray:
    """Chain rule through softmax: given dL/ds and s = softmax(z), return dL/dz."""
    grad_output = as_float_array(grad_output, "grad_output")
    s = as_float_array(s, "s")
    if grad_output.shape != s.shape:
        raise ValueError(
            f"grad_output and s must have the same shape, got {grad_output.shape} and {s.shape}"
        )
    return s * (grad_output - np.sum(grad_output * s, axis=axis, keepdims=True))


# name -> (function, derivative); used by the activation layers, plots and lessons.
ACTIVATIONS = {
    "step": (step, step_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "gelu": (gelu, gelu_derivative),
}
