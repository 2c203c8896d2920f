"""nnlib.losses against torch.nn.functional in float64: every value and every gradient.

For reduction='none' nnlib returns one loss per element (per sample for cross_entropy) and
the gradient of their sum, so the torch reference is autograd of loss(reduction='none').sum().
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch_compare import assert_close, strict_numerics

from nnlib import functional as F
from nnlib import losses, nn

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


# ---------------------------------------------------------------- torch's options
# weight, ignore_index, label_smoothing and (N, C, d1, ...) inputs for cross_entropy; weight
# and pos_weight for the binary losses. Values and gradients against torch autograd, float64.

TIGHT = {"rtol": 1e-12, "atol": 1e-12}
SEEDS = [0, 1, 2]
# input shape -> target (label) shape: the class axis is 1, or 0 for an unbatched (C,)
CE_SHAPES = {
    "(N,C)": ((6, 4), (6,)),
    "(N,C,d1)": ((3, 5, 4), (3, 4)),
    "(N,C,d1,d2)": ((2, 3, 4, 5), (2, 4, 5)),
    "(C,)": ((5,), ()),
}
CE_OPTIONS = {
    "plain": {},
    "weight": {"weight": True},
    "ignore_index": {"ignore_index": -100, "ignore": True},
    "ignore_class_0": {"ignore_index": 0, "ignore": True},
    "label_smoothing": {"label_smoothing": 0.2},
    "all_three": {"weight": True, "ignore_index": 1, "ignore": True, "label_smoothing": 0.3},
    "smoothing_1": {"weight": True, "label_smoothing": 1.0},
}


def torch_grad(fn, x: np.ndarray, *args, **kwargs):
    """torch's loss value and the autograd gradient of its sum with respect to x."""
    xt = torch.tensor(x, requires_grad=True)
    value = fn(xt, *args, **kwargs)
    (grad,) = torch.autograd.grad(value.sum(), xt)
    return value, grad


def ce_case(rng, shape_key: str, option_key: str):
    """Logits, labels and the keyword arguments for nnlib (NumPy) and torch (tensors)."""
    shape, target_shape = CE_SHAPES[shape_key]
    opts = CE_OPTIONS[option_key]
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    z = 3.0 * rng.normal(size=shape)
    labels = rng.integers(0, n_classes, size=target_shape)
    kwargs = {k: v for k, v in opts.items() if k in ("ignore_index", "label_smoothing")}
    if opts.get("ignore"):  # about a third of the samples are ignored
        labels = np.where(rng.random(target_shape) < 0.35, opts["ignore_index"], labels)
    if opts.get("weight"):
        kwargs["weight"] = rng.uniform(0.1, 3.0, size=n_classes)
    torch_kwargs = {k: torch.tensor(v) if k == "weight" else v for k, v in kwargs.items()}
    return z, np.asarray(labels, dtype=np.int64), kwargs, torch_kwargs


@pytest.mark.parametrize("option", list(CE_OPTIONS))
@pytest.mark.parametrize("shape", list(CE_SHAPES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_options_and_shapes_match_torch(reduction, shape, option):
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        z, labels, kwargs, torch_kwargs = ce_case(rng, shape, option)
        value, grad = losses.cross_entropy(z, labels, reduction=reduction, **kwargs)
        expected, expected_grad = torch_grad(
            TF.cross_entropy, z, torch.tensor(labels), reduction=reduction, **torch_kwargs
        )
        assert_close(value, expected, **TIGHT)
        assert_close(grad, expected_grad, **TIGHT)
        # the functional form gives the same value, arguments passed by position
        positional = [kwargs.get("weight"), kwargs.get("ignore_index", -100), reduction]
        positional.append(kwargs.get("label_smoothing", 0.0))
        np.testing.assert_array_equal(F.cross_entropy(z, labels, *positional), value)


@pytest.mark.parametrize("shape", list(CE_SHAPES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_with_weight_and_smoothing_match_torch(reduction, shape):
    input_shape, _ = CE_SHAPES[shape]
    n_classes = input_shape[0] if len(input_shape) == 1 else input_shape[1]
    class_axis = 0 if len(input_shape) == 1 else 1
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        z = 3.0 * rng.normal(size=input_shape)
        probs = rng.random(input_shape)
        probs /= probs.sum(axis=class_axis, keepdims=True)
        w = rng.uniform(0.1, 3.0, size=n_classes)
        for kwargs in (
            {"weight": w},
            {"label_smoothing": 0.25},
            {"weight": w, "label_smoothing": 0.6},
        ):
            torch_kwargs = {k: torch.tensor(v) if k == "weight" else v for k, v in kwargs.items()}
            value, grad = losses.cross_entropy(z, probs, reduction=reduction, **kwargs)
            expected, expected_grad = torch_grad(
                TF.cross_entropy, z, torch.tensor(probs), reduction=reduction, **torch_kwargs
            )
            assert_close(value, expected, **TIGHT)
            assert_close(grad, expected_grad, **TIGHT)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_every_label_ignored_is_nan_for_mean_like_torch(reduction, weighted):
    """torch: mean over no samples is 0/0 = nan; the gradient stays 0, not nan; sum is 0."""
    z = np.random.default_rng(0).normal(size=(3, 4))
    labels = np.full(3, -100)
    kwargs = {"weight": np.array([1.0, 2.0, 3.0, 4.0])} if weighted else {}
    torch_kwargs = {k: torch.tensor(v) for k, v in kwargs.items()}
    for smoothing in (0.0, 0.4):
        with strict_numerics():  # nan without a RuntimeWarning
            value, grad = losses.cross_entropy(
                z, labels, reduction=reduction, label_smoothing=smoothing, **kwargs
            )
        expected, expected_grad = torch_grad(
            TF.cross_entropy,
            z,
            torch.tensor(labels),
            reduction=reduction,
            label_smoothing=smoothing,
            **torch_kwargs,
        )
        assert_close(value, expected, **TIGHT)  # nan == nan here
        assert_close(grad, expected_grad, **TIGHT)
        if reduction == "mean":
            assert np.isnan(value)
        np.testing.assert_array_equal(grad, np.zeros_like(z))


def test_cross_entropy_ignored_samples_count_for_nothing():
    """Ignoring a sample is the same as leaving it out; its gradient row is 0."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(7, 5))
    labels = rng.integers(0, 5, size=7)
    ignored = np.array([1, 4, 5])
    kept = np.setdiff1d(np.arange(7), ignored)
    w = rng.uniform(0.5, 2.0, size=5)
    for ignore_index in (-100, 2, 99):
        masked = labels.copy()
        masked[ignored] = ignore_index
        masked[kept] = np.where(masked[kept] == ignore_index, 0, masked[kept])
        for reduction in REDUCTIONS:
            kwargs = {"weight": w, "label_smoothing": 0.1, "reduction": reduction}
            value, grad = losses.cross_entropy(z, masked, ignore_index=ignore_index, **kwargs)
            value_kept, grad_kept = losses.cross_entropy(z[kept], masked[kept], **kwargs)
            np.testing.assert_array_equal(grad[ignored], 0.0)
            np.testing.assert_allclose(grad[kept], grad_kept, rtol=1e-12, atol=1e-15)
            if reduction == "none":
                np.testing.assert_array_equal(value[ignored], 0.0)
                np.testing.assert_allclose(value[kept], value_kept, rtol=1e-12)
            else:
                np.testing.assert_allclose(value, value_kept, rtol=1e-12)


def test_cross_entropy_weighted_mean_divides_by_the_weights_of_the_targets():
    z = np.zeros((3, 2))  # every sample costs log 2 before weighting
    labels = np.array([0, 1, 1])
    w = np.array([1.0, 3.0])
    value, _ = losses.cross_entropy(z, labels, weight=w)
    np.testing.assert_allclose(value, (1 + 3 + 3) * np.log(2) / (1 + 3 + 3), rtol=1e-15)
    value, _ = losses.cross_entropy(z, labels, weight=w, reduction="sum")
    np.testing.assert_allclose(value, 7 * np.log(2), rtol=1e-15)


def test_cross_entropy_empty_batch_mean_is_nan_like_torch():
    with strict_numerics():
        value, grad = losses.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
    assert np.isnan(value) and grad.shape == (0, 3)
    assert torch.isnan(TF.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)))


def test_cross_entropy_unbatched_returns_a_scalar_for_every_reduction():
    z = np.array([1.0, -2.0, 0.5])
    for reduction in REDUCTIONS:
        value, grad = losses.cross_entropy(z, 2, reduction=reduction)
        assert np.shape(value) == () and grad.shape == (3,)
        expected, expected_grad = torch_grad(
            TF.cross_entropy, z, torch.tensor(2), reduction=reduction
        )
        assert_close(value, expected, **TIGHT)
        assert_close(grad, expected_grad, **TIGHT)


def test_cross_entropy_keeps_float32_with_weight_and_smoothing():
    z = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    value, grad = losses.cross_entropy(
        z, [0, 2, -100, 1], weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.1
    )
    assert grad.dtype == np.float32 and isinstance(value, float)


@pytest.mark.parametrize(
    "call, msg",
    [
        (lambda: losses.cross_entropy(np.zeros((4, 3)), [0, 1, 3, -100]), r"\[0, 2\] for 3 "),
        (
            lambda: losses.cross_entropy(np.zeros((4, 3)), [0, 1, -100, 1], ignore_index=-1),
            r"got values from -100 to 1 \(labels equal to ignore_index=-1 are skipped\)",
        ),
        (
            lambda: losses.cross_entropy(np.zeros((2, 3, 4, 5)), np.zeros((2, 5, 4), dtype=int)),
            r"target must have shape \(2, 4, 5\) to match the input's shape without its class "
            r"axis 1, got shape \(2, 5, 4\)",
        ),
        (
            lambda: losses.cross_entropy(np.zeros(3), [[1]]),
            r"target must have shape \(\) to match an unbatched input",
        ),
        (
            lambda: losses.cross_entropy(np.zeros(3), [1]),
            r"got \(3,\) and \(1,\) \(class probabilities; class labels would have shape \(\)\)",
        ),
        (
            lambda: losses.cross_entropy(np.zeros((2, 3)), [0, 1], weight=np.ones(2)),
            r"weight must have shape \(3,\), one weight per class, got shape \(2,\)",
        ),
        (
            lambda: losses.cross_entropy(np.zeros((2, 3)), [0, 1], weight=[1.0, np.nan, 1.0]),
            r"weight contains 1 NaN",
        ),
        (
            lambda: losses.cross_entropy(np.zeros((2, 3)), [0, 1], label_smoothing=1.5),
            r"label_smoothing must be between 0.0 and 1.0, got 1.5",
        ),
        (
            lambda: losses.cross_entropy(np.zeros((2, 3)), [0, 1], label_smoothing=-0.1),
            r"label_smoothing must be between 0.0 and 1.0",
        ),
        (
            lambda: losses.cross_entropy(np.zeros((2, 3)), np.ones((2, 3)) / 3, ignore_index=0),
            r"ignore_index works with class labels only",
        ),
        (lambda: losses.cross_entropy(np.float64(1.0), 0), r"input must have shape \(C,\)"),
    ],
    ids=[
        "label-too-big",
        "label-negative",
        "target-axes-swapped",
        "unbatched-target",
        "unbatched-target-as-probabilities",
        "weight-shape",
        "weight-nan",
        "smoothing-above-1",
        "smoothing-negative",
        "ignore-index-with-probabilities",
        "scalar-input",
    ],
)
def test_cross_entropy_bad_input_is_a_clear_value_error(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


@pytest.mark.parametrize(
    "weight_shape", [(4, 3), (3,), (4, 1), ()], ids=["full", "per-column", "per-row", "scalar"]
)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_weight_matches_torch(reduction, weight_shape):
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        p = rng.uniform(0.01, 0.99, size=(4, 3))
        y = rng.random((4, 3))
        w = rng.uniform(0.0, 3.0, size=weight_shape)
        value, grad = losses.binary_cross_entropy(p, y, w, reduction)
        expected, expected_grad = torch_grad(
            TF.binary_cross_entropy, p, torch.tensor(y), torch.tensor(w), reduction=reduction
        )
        assert_close(value, expected, **TIGHT)
        assert_close(grad, expected_grad, **TIGHT)
        np.testing.assert_array_equal(F.binary_cross_entropy(p, y, w, reduction), value)


@pytest.mark.parametrize(
    "weight_shape, pos_weight_shape",
    [(None, (3,)), (None, (4, 3)), ((3,), None), ((4, 1), (3,)), ((), ()), ((4, 3), (1, 3))],
)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits_weight_and_pos_weight_match_torch(
    reduction, weight_shape, pos_weight_shape
):
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        z = 5.0 * rng.normal(size=(4, 3))
        y = (rng.random((4, 3)) < 0.5).astype(np.float64)
        y[0] = rng.random(3)  # soft targets too
        w = None if weight_shape is None else rng.uniform(0.0, 3.0, size=weight_shape)
        pw = None if pos_weight_shape is None else rng.uniform(0.2, 5.0, size=pos_weight_shape)
        value, grad = losses.binary_cross_entropy_with_logits(z, y, w, reduction, pw)
        expected, expected_grad = torch_grad(
            TF.binary_cross_entropy_with_logits,
            z,
            torch.tensor(y),
            None if w is None else torch.tensor(w),
            reduction=reduction,
            pos_weight=None if pw is None else torch.tensor(pw),
        )
        assert_close(value, expected, **TIGHT)
        assert_close(grad, expected_grad, **TIGHT)
        same = F.binary_cross_entropy_with_logits(z, y, w, reduction, pw)
        np.testing.assert_array_equal(same, value)


def test_binary_cross_entropy_with_logits_pos_weight_at_plus_minus_1000_is_finite(capfd):
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with strict_numerics():
        result = losses.binary_cross_entropy_with_logits(
            z, y, reduction="none", pos_weight=np.array([3.0, 3.0, 3.0, 3.0])
        )
    assert_finite_and_silent(result, capfd)
    np.testing.assert_array_equal(result[0], [0.0, 0.0, 1000.0, 3000.0])
    np.testing.assert_array_equal(result[1], [0.0, 0.0, 1.0, -3.0])


@pytest.mark.parametrize(
    "call, msg",
    [
        (
            lambda: losses.binary_cross_entropy(np.full((4, 3), 0.5), np.ones((4, 3)), np.ones(4)),
            r"weight has shape \(4,\), which does not broadcast to the input's shape \(4, 3\)",
        ),
        (
            lambda: losses.binary_cross_entropy_with_logits(
                np.zeros(3), np.ones(3), pos_weight=np.ones((2, 3))
            ),
            r"pos_weight has shape \(2, 3\), which does not broadcast to the input's shape \(3,\)",
        ),
    ],
    ids=["bce-weight", "bce-logits-pos-weight"],
)
def test_binary_losses_bad_weight_shape_is_a_clear_value_error(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


@pytest.mark.parametrize(
    "name", ["cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits"]
)
def test_loss_signatures_are_torchs_without_its_deprecated_arguments(name):
    """Names, order and defaults as in torch 2.13, less size_average and reduce."""

    def params(fn):
        return [
            (p.name, p.default)
            for p in inspect.signature(fn).parameters.values()
            if p.name not in ("size_average", "reduce")
        ]

    assert params(getattr(losses, name)) == params(getattr(TF, name))
    assert params(getattr(F, name)) == params(getattr(TF, name))


# ---------------------------------------------------------------- the loss modules


@pytest.mark.parametrize("shape", ["(N,C)", "(N,C,d1,d2)", "(C,)"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_module_with_every_option_matches_torch(reduction, shape):
    """forward and backward(dout), dout of the loss's shape: (N, d1, d2) goes to (N, C, d1, d2)."""
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        z, labels, kwargs, torch_kwargs = ce_case(rng, shape, "all_three")
        ours = nn.CrossEntropyLoss(reduction=reduction, **kwargs)
        theirs = torch.nn.CrossEntropyLoss(reduction=reduction, **torch_kwargs)
        zt = torch.tensor(z, requires_grad=True)
        expected = theirs(zt, torch.tensor(labels))
        dout = rng.normal(size=expected.shape)
        expected.backward(torch.tensor(dout))
        assert_close(ours(z, labels), expected, **TIGHT)
        assert_close(ours.backward(dout if dout.ndim else float(dout)), zt.grad, **TIGHT)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_loss_modules_with_weight_and_pos_weight_match_torch(reduction):
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(5, 3)), rng.random((5, 3))
    w, pw = rng.uniform(0.0, 2.0, size=3), rng.uniform(0.5, 3.0, size=3)
    p = 1.0 / (1.0 + np.exp(-z))
    cases = [
        (
            nn.BCELoss(w, reduction=reduction),
            torch.nn.BCELoss(torch.tensor(w), reduction=reduction),
            p,
        ),
        (
            nn.BCEWithLogitsLoss(w, reduction=reduction, pos_weight=pw),
            torch.nn.BCEWithLogitsLoss(
                torch.tensor(w), reduction=reduction, pos_weight=torch.tensor(pw)
            ),
            z,
        ),
    ]
    for ours, theirs, x in cases:
        xt = torch.tensor(x, requires_grad=True)
        expected = theirs(xt, torch.tensor(y))
        dout = rng.normal(size=expected.shape)
        expected.backward(torch.tensor(dout))
        assert_close(ours(x, y), expected, **TIGHT)
        assert_close(ours.backward(dout if dout.ndim else float(dout)), xt.grad, **TIGHT)
