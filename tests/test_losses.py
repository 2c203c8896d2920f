"""nnlib.losses against torch.nn.functional in float64: every value and every gradient.

For reduction='none' nnlib returns one loss per element (per sample for cross_entropy) and
the gradient of their sum, so the torch reference is autograd of loss(reduction='none').sum().
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch_compare import assert_close, strict_numerics

from nnlib import losses

FAST = settings(max_examples=30, deadline=None)
# Tiny tensors: threads only add overhead (and contend with a parallel test run).
torch.set_num_threads(1)
REDUCTIONS = ["mean", "sum", "none"]


def check_against_torch(result, torch_loss_fn, input: np.ndarray, reduction: str, *targs):
    """Compare nnlib's (value, grad) with torch's loss value and autograd gradient."""
    value, grad = result
    if reduction != "none":
        assert isinstance(value, float)
    inp = torch.tensor(input, dtype=torch.float64, requires_grad=True)
    expected = torch_loss_fn(inp, *targs, reduction=reduction)
    (expected_grad,) = torch.autograd.grad(expected.sum(), inp)
    assert_close(value, expected)
    assert_close(grad, expected_grad)


def finite(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def input_and_target(draw, input_elements, target_elements):
    """Two float64 arrays of one drawn shape."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    x = draw(hnp.arrays(np.float64, shape, elements=input_elements))
    y = draw(hnp.arrays(np.float64, shape, elements=target_elements))
    return x, y


@st.composite
def logits_and_labels(draw):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(1, 6))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=finite(-30.0, 30.0)))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return logits, labels.astype(np.int64)


@st.composite
def logits_and_probabilities(draw, normalized: bool):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(1, 6))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=finite(-30.0, 30.0)))
    probs = draw(hnp.arrays(np.float64, (n, c), elements=finite(0.0, 1.0)))
    if normalized:
        probs = probs + 1e-3
        probs = probs / probs.sum(axis=1, keepdims=True)
    return logits, probs


# Probabilities for BCE include the end points 0 and 1, where torch clamps log at -100.
PROBS = st.one_of(finite(0.0, 1.0), st.sampled_from([0.0, 1.0, 1e-15, 1.0 - 1e-15]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(xy=input_and_target(finite(-100.0, 100.0), finite(-100.0, 100.0)))
def test_mse_loss_matches_torch(reduction, xy):
    x, y = xy
    result = losses.mse_loss(x, y, reduction=reduction)
    check_against_torch(result, TF.mse_loss, x, reduction, torch.tensor(y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(py=input_and_target(PROBS, PROBS))
def test_binary_cross_entropy_matches_torch(reduction, py):
    p, y = py
    result = losses.binary_cross_entropy(p, y, reduction=reduction)
    check_against_torch(result, TF.binary_cross_entropy, p, reduction, torch.tensor(y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(zy=input_and_target(finite(-60.0, 60.0), finite(0.0, 1.0)))
def test_binary_cross_entropy_with_logits_matches_torch(reduction, zy):
    z, y = zy
    result = losses.binary_cross_entropy_with_logits(z, y, reduction=reduction)
    torch_fn = TF.binary_cross_entropy_with_logits
    check_against_torch(result, torch_fn, z, reduction, torch.tensor(y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(zl=logits_and_labels())
def test_cross_entropy_with_integer_labels_matches_torch(reduction, zl):
    z, labels = zl
    result = losses.cross_entropy(z, labels, reduction=reduction)
    check_against_torch(result, TF.cross_entropy, z, reduction, torch.tensor(labels))
    # the same labels as int32, as a list, or as integral floats give the same answer
    for same in (labels.astype(np.int32), labels.tolist(), labels.astype(np.float64)):
        value, grad = losses.cross_entropy(z, same, reduction=reduction)
        np.testing.assert_array_equal(value, result[0])
        np.testing.assert_array_equal(grad, result[1])


@pytest.mark.parametrize("normalized", [True, False], ids=["distribution", "unnormalized"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(data=st.data())
def test_cross_entropy_with_probability_targets_matches_torch(reduction, normalized, data):
    z, probs = data.draw(logits_and_probabilities(normalized))
    result = losses.cross_entropy(z, probs, reduction=reduction)
    check_against_torch(result, TF.cross_entropy, z, reduction, torch.tensor(probs))


@FAST
@given(zl=logits_and_labels())
def test_cross_entropy_one_hot_targets_equal_integer_labels(zl):
    z, labels = zl
    one_hot = np.eye(z.shape[1])[labels]
    for reduction in REDUCTIONS:
        value_l, grad_l = losses.cross_entropy(z, labels, reduction=reduction)
        value_p, grad_p = losses.cross_entropy(z, one_hot, reduction=reduction)
        assert_close(value_p, value_l, rtol=1e-12)
        assert_close(grad_p, grad_l, rtol=1e-12)


@FAST
@given(xy=input_and_target(finite(-10.0, 10.0), finite(-10.0, 10.0)))
def test_reductions_are_consistent(xy):
    """sum = sum of 'none'; mean = sum / N; gradients scale the same way."""
    x, y = xy
    for fn in (losses.mse_loss, losses.binary_cross_entropy_with_logits):
        values, grad_none = fn(x, y, reduction="none")
        total, grad_sum = fn(x, y, reduction="sum")
        mean, grad_mean = fn(x, y, reduction="mean")
        assert values.shape == x.shape
        np.testing.assert_allclose(total, values.sum(), rtol=1e-12)
        np.testing.assert_allclose(mean, total / x.size, rtol=1e-12)
        np.testing.assert_allclose(grad_sum, grad_none, rtol=1e-12)
        np.testing.assert_allclose(grad_mean, grad_sum / x.size, rtol=1e-12)


def test_losses_do_not_modify_their_inputs():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 3))
    p = rng.uniform(0.1, 0.9, size=(4, 3))
    y = rng.uniform(size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    before = [a.copy() for a in (z, p, y, labels)]
    losses.mse_loss(z, y)
    losses.binary_cross_entropy(p, y)
    losses.binary_cross_entropy_with_logits(z, y)
    losses.cross_entropy(z, labels)
    losses.cross_entropy(z, y)
    for a, b in zip((z, p, y, labels), before, strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- numerical stability


def assert_finite_and_silent(result, capfd) -> None:
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""
    value, grad = result
    assert np.all(np.isfinite(value))
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("scale", [1e4, 1e8, 1e100])
def test_cross_entropy_with_huge_logits_is_finite_and_silent(scale, capfd):
    z = scale * np.array([[1.0, -1.0, 0.0], [2.0, 2.0, -3.0], [0.5, 0.0, 1.0]])
    labels = np.array([1, 0, 2])
    probs = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    with strict_numerics():
        by_label = losses.cross_entropy(z, labels, reduction="none")
        by_prob = losses.cross_entropy(z, probs, reduction="sum")
    assert_finite_and_silent(by_label, capfd)
    assert_finite_and_silent(by_prob, capfd)
    # losses: 2*scale for the wrong class, log 2 for a tie, 0 for the right class
    np.testing.assert_allclose(by_label[0], [2.0 * scale, np.log(2.0), 0.0], rtol=1e-12)
    np.testing.assert_allclose(
        by_label[1], [[1.0, -1.0, 0.0], [-0.5, 0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-300
    )
    if scale < 1e10:  # torch computes the same, up to its own rounding
        check_against_torch(by_label, TF.cross_entropy, z, "none", torch.tensor(labels))
        check_against_torch(by_prob, TF.cross_entropy, z, "sum", torch.tensor(probs))


def test_binary_cross_entropy_at_p_0_and_1_is_finite_and_silent(capfd):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 0.5])
    with strict_numerics():
        result = losses.binary_cross_entropy(p, y, reduction="none")
    assert_finite_and_silent(result, capfd)
    # right answers cost 0, wrong ones the clamp value 100, as in torch
    np.testing.assert_array_equal(result[0], [0.0, 0.0, 100.0, 100.0, 50.0, 50.0])
    check_against_torch(result, TF.binary_cross_entropy, p, "none", torch.tensor(y))
    with strict_numerics():
        mean = losses.binary_cross_entropy(p, y)
    assert_finite_and_silent(mean, capfd)
    np.testing.assert_allclose(mean[0], 50.0)


def test_binary_cross_entropy_with_logits_at_plus_minus_1000_is_finite_and_silent(capfd):
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 1000.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    with strict_numerics():
        result = losses.binary_cross_entropy_with_logits(z, y, reduction="none")
    assert_finite_and_silent(result, capfd)
    np.testing.assert_array_equal(result[0], [0.0, 0.0, 1000.0, 1000.0, 500.0])
    np.testing.assert_array_equal(result[1], [0.0, 0.0, 1.0, -1.0, 0.5])
    check_against_torch(result, TF.binary_cross_entropy_with_logits, z, "none", torch.tensor(y))


def test_mse_loss_of_large_values_is_finite_and_silent(capfd):
    x = np.array([1e150, -1e150])
    y = np.array([-1e150, 1e150])
    with strict_numerics():
        result = losses.mse_loss(x, y)
    assert_finite_and_silent(result, capfd)
    np.testing.assert_allclose(result[0], 4e300)
