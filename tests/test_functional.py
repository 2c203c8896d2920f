"""nnlib.functional against torch in float64: activations, their derivatives, softmax.

Every derivative is compared with torch autograd on shapes and values drawn by hypothesis;
smooth functions must agree to a relative error of 1e-7 (with a tiny absolute floor for
values that underflow towards zero). The last tests check numerical stability: extreme
inputs give finite values without any warning, floating-point error or printed output.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch_compare import assert_close, strict_numerics, to_np

from nnlib import functional as F

FAST = settings(max_examples=30, deadline=None)
# Tiny tensors: threads only add overhead (and contend with a parallel test run).
torch.set_num_threads(1)


def float_arrays(lo: float = -20.0, hi: float = 20.0, nonzero: bool = False, max_dims: int = 3):
    """float64 arrays of 1 to max_dims dimensions; `nonzero` keeps entries away from 0."""
    elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    if nonzero:
        elements = elements.filter(lambda v: abs(v) > 1e-3)
    shapes = hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=5)
    return hnp.arrays(np.float64, shapes, elements=elements)


@st.composite
def array_and_axis(draw, lo: float = -30.0, hi: float = 30.0):
    z = draw(float_arrays(lo, hi))
    axis = draw(st.integers(-z.ndim, z.ndim - 1))
    return z, axis


def torch_derivative(fn, z: np.ndarray) -> np.ndarray:
    """Elementwise derivative of an elementwise torch function, by autograd."""
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(fn(zt).sum(), zt)
    return to_np(grad)


def torch_value(fn, z: np.ndarray) -> np.ndarray:
    return to_np(fn(torch.tensor(z, dtype=torch.float64)))


# name -> (nnlib function, nnlib derivative, torch function)
SMOOTH = {
    "sigmoid": (F.sigmoid, F.sigmoid_derivative, torch.sigmoid),
    "tanh": (F.tanh, F.tanh_derivative, torch.tanh),
    "gelu": (F.gelu, F.gelu_derivative, TF.gelu),
    "gelu_tanh": (
        lambda z: F.gelu(z, approximate="tanh"),
        lambda z: F.gelu_derivative(z, approximate="tanh"),
        lambda z: TF.gelu(z, approximate="tanh"),
    ),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
@FAST
@given(z=float_arrays())
def test_smooth_activation_value_and_derivative_match_torch(name, z):
    fn, derivative, torch_fn = SMOOTH[name]
    assert_close(fn(z), torch_value(torch_fn, z))
    assert_close(derivative(z), torch_derivative(torch_fn, z))


@FAST
@given(z=float_arrays(nonzero=True))
def test_relu_value_and_derivative_match_torch(z):
    assert_close(F.relu(z), torch_value(torch.relu, z))
    assert_close(F.relu_derivative(z), torch_derivative(torch.relu, z))


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.1, 0.2, 0.5])
@FAST
@given(z=float_arrays(nonzero=True))
def test_leaky_relu_value_and_derivative_match_torch(slope, z):
    def torch_fn(t):
        return TF.leaky_relu(t, negative_slope=slope)

    assert_close(F.leaky_relu(z, negative_slope=slope), torch_value(torch_fn, z))
    assert_close(F.leaky_relu_derivative(z, negative_slope=slope), torch_derivative(torch_fn, z))


@FAST
@given(z=float_arrays(nonzero=True), slope=st.floats(0.0, 1.0))
def test_leaky_relu_default_and_drawn_slopes_match_torch(z, slope):
    assert_close(F.leaky_relu(z), torch_value(TF.leaky_relu, z))  # default slope 0.01
    assert_close(F.leaky_relu_derivative(z), torch_derivative(TF.leaky_relu, z))

    def torch_fn(t):
        return TF.leaky_relu(t, negative_slope=slope)

    assert_close(F.leaky_relu_derivative(z, slope), torch_derivative(torch_fn, z))


def test_relu_and_leaky_relu_derivative_at_zero_follow_torch():
    z = np.array([-1.0, 0.0, 1.0])
    assert_close(F.relu_derivative(z), torch_derivative(torch.relu, z))
    np.testing.assert_array_equal(F.relu_derivative(z), [0.0, 0.0, 1.0])

    def torch_fn(t):
        return TF.leaky_relu(t, negative_slope=0.2)

    assert_close(F.leaky_relu_derivative(z, 0.2), torch_derivative(torch_fn, z))
    np.testing.assert_array_equal(F.leaky_relu_derivative(z, 0.2), [0.2, 0.2, 1.0])


@FAST
@given(z=float_arrays())
def test_step_matches_heaviside_and_has_zero_derivative(z):
    z = np.concatenate([z.ravel(), [0.0]])  # step(0) = 1, like heaviside(0, values=1)
    expected = torch.heaviside(torch.tensor(z), torch.tensor(1.0, dtype=torch.float64))
    assert_close(F.step(z), expected)
    np.testing.assert_array_equal(F.step_derivative(z), np.zeros_like(z))
    assert F.step_derivative(z).shape == z.shape


@FAST
@given(za=array_and_axis())
def test_softmax_and_log_softmax_values_match_torch(za):
    z, axis = za
    zt = torch.tensor(z)
    s = F.softmax(z, dim=axis)
    assert_close(s, torch.softmax(zt, dim=axis))
    assert_close(F.log_softmax(z, dim=axis), torch.log_softmax(zt, dim=axis))
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-12)


@FAST
@given(za=array_and_axis(), seed=st.integers(0, 2**32 - 1))
def test_softmax_backward_matches_autograd(za, seed):
    z, axis = za
    g = np.random.default_rng(seed).normal(size=z.shape)
    zt = torch.tensor(z, requires_grad=True)
    (expected,) = torch.autograd.grad(torch.softmax(zt, dim=axis), zt, torch.tensor(g))
    assert_close(F.softmax_backward(g, F.softmax(z, dim=axis), dim=axis), expected)


@FAST
@given(z=float_arrays(-30.0, 30.0, max_dims=1))
def test_softmax_jacobian_matches_torch_jacobian(z):
    expected = torch.autograd.functional.jacobian(
        lambda t: torch.softmax(t, dim=0), torch.tensor(z)
    )
    jac = F.softmax_jacobian(z)
    assert_close(jac, expected)
    np.testing.assert_allclose(jac, jac.T, rtol=0, atol=1e-15)  # symmetric
    np.testing.assert_allclose(jac.sum(axis=0), 0.0, atol=1e-15)  # rows of s sum to 1


@FAST
@given(z=float_arrays(-30.0, 30.0, max_dims=1), seed=st.integers(0, 2**32 - 1))
def test_softmax_backward_is_jacobian_vector_product(z, seed):
    g = np.random.default_rng(seed).normal(size=z.shape)
    assert_close(F.softmax_backward(g, F.softmax(z)), F.softmax_jacobian(z).T @ g)


def test_activations_table_pairs_each_function_with_its_derivative():
    assert set(F.ACTIVATIONS) == {"step", "sigmoid", "tanh", "relu", "leaky_relu", "gelu"}
    z = np.linspace(-3.0, 3.0, 13) + 0.05  # no exact zero
    torch_fns = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": TF.leaky_relu,
        "gelu": TF.gelu,
    }
    for name, torch_fn in torch_fns.items():
        fn, derivative = F.ACTIVATIONS[name]
        assert_close(fn(z), torch_value(torch_fn, z))
        assert_close(derivative(z), torch_derivative(torch_fn, z))


def test_activations_accept_integer_input_and_keep_float32():
    np.testing.assert_allclose(F.relu(np.array([-2, 3])), [0.0, 3.0])
    assert F.relu(np.array([-2, 3])).dtype == np.float64
    z32 = np.array([-1.5, 0.5], dtype=np.float32)
    for fn, derivative in F.ACTIVATIONS.values():
        assert fn(z32).dtype == np.float32
        assert derivative(z32).dtype == np.float32


# ---------------------------------------------------------------- numerical stability


def assert_nothing_printed(capfd) -> None:
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_sigmoid_and_tanh_at_plus_minus_1000_are_finite_and_silent(capfd):
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with strict_numerics():
        s = F.sigmoid(z)
        ds = F.sigmoid_derivative(z)
        t = F.tanh(z)
        dt = F.tanh_derivative(z)
    assert_nothing_printed(capfd)
    for arr in (s, ds, t, dt):
        assert np.all(np.isfinite(arr))
    np.testing.assert_array_equal(s[[0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(ds[[0, 4]], [0.0, 0.0])
    np.testing.assert_array_equal(t[[0, 4]], [-1.0, 1.0])
    assert_close(s, torch_value(torch.sigmoid, z))


def test_gelu_at_plus_minus_1000_is_finite_and_silent(capfd):
    z = np.array([-1000.0, 1000.0])
    with strict_numerics():
        results = [
            F.gelu(z),
            F.gelu_derivative(z),
            F.gelu(z, approximate="tanh"),
            F.gelu_derivative(z, approximate="tanh"),
        ]
    assert_nothing_printed(capfd)
    for arr in results:
        assert np.all(np.isfinite(arr))
        assert arr[0] == 0.0  # gelu and its slope vanish far to the left
    np.testing.assert_array_equal(results[0][1], 1000.0)
    np.testing.assert_array_equal(results[1][1], 1.0)


def test_softmax_and_log_softmax_of_logits_around_1e4_are_finite_and_silent(capfd):
    small = np.array([[0.0, 1.0, -2.0, 3.0], [5.0, 5.0, 5.0, 5.0]])
    z = 1e4 + small
    z_mixed = np.array([[1e4, -1e4, 0.0, 2e4]])
    with strict_numerics():
        s = F.softmax(z, dim=1)
        ls = F.log_softmax(z, dim=1)
        s_mixed = F.softmax(z_mixed)
        ls_mixed = F.log_softmax(z_mixed)
        jac = F.softmax_jacobian(z[0])
    assert_nothing_printed(capfd)
    for arr in (s, ls, s_mixed, ls_mixed, jac):
        assert np.all(np.isfinite(arr))
    # softmax is shift invariant: 1e4 + small gives softmax(small)
    assert_close(s, torch.softmax(torch.tensor(small), dim=1))
    assert_close(ls, torch.log_softmax(torch.tensor(small), dim=1), atol=1e-11)
    np.testing.assert_allclose(s_mixed, [[0.0, 0.0, 0.0, 1.0]], atol=1e-300)
    np.testing.assert_allclose(ls_mixed, [[-1e4, -3e4, -2e4, 0.0]], rtol=1e-15)
    assert_close(ls_mixed, torch.log_softmax(torch.tensor(z_mixed), dim=1))
