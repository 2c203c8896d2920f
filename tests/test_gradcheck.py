"""nnlib.gradcheck: finite differences agree with backprop, and a broken backward is caught.

The check is only worth something if it can fail, so half of these tests build modules
whose backward pass is wrong in one small way and assert that check_gradients flags
exactly the affected rows.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import functional as F
from nnlib import gradcheck, layers, nn

SEEDS = st.integers(0, 2**32 - 1)
# Central differences in float64 carry an absolute noise of about 1e-11 (eps * |loss| / h),
# so a correct gradient entry of size 1e-5 already shows a relative error near 1e-6, the
# default tol. The checks of correct models use tol=1e-5; every real bug below (a missing
# factor) shows a relative error of 1e-2 or more and is caught at the default tol=1e-6.
PASS_TOL = 1e-5


def mlp(activation: nn.Module, sizes=(4, 6, 3), seed: int = 0) -> nn.Sequential:
    a, b, c = sizes
    return nn.Sequential(
        nn.Linear(a, b, init="xavier", rng=seed, dtype=np.float64),
        activation,
        nn.Linear(b, c, init="uniform", rng=seed + 1, dtype=np.float64),
    )


def bias_all_nonzero(model: nn.Module, seed: int) -> None:
    """Non-zero biases, so their gradients are checked at a generic point."""
    rng = np.random.default_rng(seed)
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.data = rng.normal(0.0, 0.5, size=p.shape)


def hidden_preactivations(model: nn.Sequential, x: np.ndarray) -> np.ndarray:
    return model[0](x)


ACTIVATIONS = {
    "ReLU": nn.ReLU,
    "LeakyReLU(0.1)": lambda: nn.LeakyReLU(0.1),
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "GELU": nn.GELU,
    "GELU(tanh)": lambda: nn.GELU("tanh"),
    "Softmax": lambda: nn.Softmax(dim=1),
    "Identity": nn.Identity,
}


@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("seed, n", [(0, 1), (1, 3), (2, 5), (3, 8)])
def test_mlp_with_each_activation_passes_gradcheck(act, seed, n):
    """Fixed seeds: finite differences lose digits on gradient entries near 0, so a search
    over seeds would eventually find a (harmless) entry with a large relative error."""
    model = mlp(ACTIVATIONS[act](), seed=seed)
    bias_all_nonzero(model, seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    # ReLU-like kinks: finite differences are only valid away from z = 0
    assert np.min(np.abs(hidden_preactivations(model, x))) > 1e-3
    labels = rng.integers(0, 3, size=n)
    report = gradcheck.check_gradients(model, nn.CrossEntropyLoss(), x, labels, tol=PASS_TOL)
    assert [r.name for r in report.rows] == ["0.weight", "0.bias", "2.weight", "2.bias", "input"]
    assert report.passed, str(report)


@pytest.mark.parametrize(
    "loss_fn, head, target_kind",
    [
        (nn.MSELoss(), None, "real"),
        (nn.MSELoss(reduction="sum"), None, "real"),
        (nn.BCEWithLogitsLoss(), None, "prob"),
        (nn.BCELoss(), nn.Sigmoid(), "prob"),
        (nn.CrossEntropyLoss(reduction="sum"), None, "labels"),
        (nn.CrossEntropyLoss(), None, "probs"),
    ],
    ids=["mse", "mse-sum", "bce-logits", "sigmoid-bce", "ce-sum", "ce-probs"],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_loss_module_passes_gradcheck(loss_fn, head, target_kind, seed):
    rng = np.random.default_rng(seed)
    mods = [
        nn.Flatten(),
        nn.Linear(6, 5, init="xavier", rng=seed, dtype=np.float64),
        nn.Tanh(),
        nn.Dropout(0.5),
        nn.Linear(5, 3, init="xavier", rng=seed + 1, dtype=np.float64),
    ]
    model = nn.Sequential(*mods, *([head] if head else []))
    model.eval()  # dropout must be off for finite differences
    bias_all_nonzero(model, seed)
    x = rng.normal(size=(4, 2, 3))
    y = {
        "real": lambda: rng.normal(size=(4, 3)),
        "prob": lambda: rng.uniform(size=(4, 3)),
        "labels": lambda: rng.integers(0, 3, size=4),
        "probs": lambda: rng.dirichlet(np.ones(3), size=4),
    }[target_kind]()
    report = gradcheck.check_gradients(model, loss_fn, x, y, tol=PASS_TOL)
    assert report.rows[-1].name == "input"
    assert report.rows[-1].shape == (4, 2, 3)
    assert report.passed, str(report)


# ---------------------------------------------------------------- the check can fail


class HalfWeightGradLinear(nn.Linear):
    """Forgets a factor: the weight gradient is half what it should be."""

    def backward(self, dout):
        dx, dw, db = layers.linear_backward(dout, self._cache)
        self.weight.accumulate(0.5 * dw)
        self.bias.accumulate(db)
        return dx


class MeanBiasGradLinear(nn.Linear):
    """Averages the bias gradient over the batch instead of summing it (a factor of N)."""

    def backward(self, dout):
        dx, dw, _ = layers.linear_backward(dout, self._cache)
        self.weight.accumulate(dw)
        self.bias.accumulate(dout.mean(axis=0))
        return dx


class ScaledInputGradLinear(nn.Linear):
    """Right parameter gradients, but dx uses 0.9 * W (a scaled input gradient)."""

    def backward(self, dout):
        dx = super().backward(dout)
        return 0.9 * dx


class SigmoidWithoutOneMinusS(nn.Sigmoid):
    """Forgets the (1 - s) factor of the sigmoid derivative."""

    def backward(self, dout):
        z = self._cache[0]
        return dout * F.sigmoid(z)


def broken_model(first: nn.Module, act: nn.Module | None = None, seed: int = 0):
    model = nn.Sequential(
        first,
        act if act is not None else nn.Tanh(),
        nn.Linear(5, 2, init="xavier", rng=seed + 1, dtype=np.float64),
    )
    bias_all_nonzero(model, seed)
    return model


@pytest.mark.parametrize(
    "first, act, bad_rows",
    [
        (HalfWeightGradLinear(3, 5, rng=0, dtype=np.float64), None, {"0.weight"}),
        (MeanBiasGradLinear(3, 5, rng=0, dtype=np.float64), None, {"0.bias"}),
        (ScaledInputGradLinear(3, 5, rng=0, dtype=np.float64), None, {"input"}),
        (
            nn.Linear(3, 5, rng=0, dtype=np.float64),
            SigmoidWithoutOneMinusS(),
            {"0.weight", "0.bias", "input"},
        ),
    ],
    ids=["half-weight-grad", "mean-bias-grad", "scaled-input-grad", "sigmoid-derivative"],
)
def test_check_gradients_flags_a_broken_backward(first, act, bad_rows):
    model = broken_model(first, act)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))
    report = gradcheck.check_gradients(model, nn.MSELoss(), x, y)
    assert not report.passed
    flagged = {r.name for r in report.rows if r.max_rel_error > 1e-3}
    assert flagged == bad_rows, str(report)
    good = [r for r in report.rows if r.name not in bad_rows]
    assert all(r.max_rel_error < 1e-6 for r in good), str(report)
    # the printed table marks the failing rows
    table = str(report)
    for r in report.rows:
        line = next(line for line in table.splitlines() if line.startswith(r.name))
        assert line.endswith("NO" if r.name in bad_rows else "yes")


def test_the_same_model_without_the_bug_passes():
    """Control for the test above: the unbroken Linear with the same seed passes."""
    model = broken_model(nn.Linear(3, 5, rng=0, dtype=np.float64))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))
    report = gradcheck.check_gradients(model, nn.MSELoss(), x, y)
    assert report.passed, str(report)
    assert "NO" not in str(report)


def test_check_gradients_ignores_stale_gradients():
    """Gradients left over from earlier backward calls must not leak into the check."""
    model = broken_model(nn.Linear(3, 5, rng=0, dtype=np.float64))
    x = np.random.default_rng(1).normal(size=(4, 3))
    y = np.random.default_rng(2).normal(size=(4, 2))
    for p in model.parameters():
        p.grad = np.full(p.shape, 1e3)
    report = gradcheck.check_gradients(model, nn.MSELoss(), x, y)
    assert report.passed, str(report)


def test_tolerance_decides_pass_or_fail():
    model = broken_model(MeanBiasGradLinear(3, 5, rng=0, dtype=np.float64))
    x = np.random.default_rng(0).normal(size=(4, 3))
    y = np.random.default_rng(1).normal(size=(4, 2))
    report = gradcheck.check_gradients(model, nn.MSELoss(), x, y)
    assert not report.passed
    lenient = gradcheck.check_gradients(model, nn.MSELoss(), x, y, tol=10.0)
    assert lenient.passed
    assert lenient.max_rel_error == pytest.approx(report.max_rel_error)


# ---------------------------------------------------------------- the building blocks


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4)), seed=SEEDS)
def test_numerical_gradient_of_a_known_function(shape, seed):
    x = np.random.default_rng(seed).uniform(-2.0, 2.0, size=shape)
    original = x.copy()

    def f() -> float:
        return float(np.sum(np.sin(x) * x**2))

    grad = gradcheck.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, original)  # restored after probing
    exact = np.cos(x) * x**2 + 2.0 * x * np.sin(x)
    assert gradcheck.rel_error(grad, exact) < 1e-7 or np.allclose(grad, exact, atol=1e-9)


def test_numerical_gradient_array_checks_a_backward_pass():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 4))
    dout = rng.normal(size=(3, 4))
    _, cache = layers.tanh_forward(z)
    analytic = layers.tanh_backward(dout, cache)
    numeric = gradcheck.numerical_gradient_array(lambda a: np.tanh(a), z, dout)
    assert gradcheck.rel_error(analytic, numeric) < 1e-8
    wrong = dout * (1.0 - np.tanh(z))  # forgot to square
    assert gradcheck.rel_error(wrong, numeric) > 1e-2


def test_rel_error_values():
    assert gradcheck.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert gradcheck.rel_error(np.array([1.0]), np.array([-1.0])) == 1.0
    assert gradcheck.rel_error(np.array([1.0, 0.0]), np.array([1.1, 0.0])) == pytest.approx(
        0.1 / 2.1
    )
    assert gradcheck.rel_error(np.zeros(0), np.zeros(0)) == 0.0
    assert gradcheck.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.rel_error(1e-20, 2e-20) < 1e-7  # the 1e-12 floor ignores roundoff noise


def test_numerical_gradient_needs_float64():
    x32 = np.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match=r"x has dtype float32.*float64"):
        gradcheck.numerical_gradient(lambda: 0.0, x32)
    model = mlp(nn.Tanh())
    model.float()
    with pytest.raises(TypeError, match=r"parameter 0\.weight has dtype float32"):
        gradcheck.check_gradients(model, nn.MSELoss(), np.ones((2, 4)), np.ones((2, 3)))


def test_rel_error_rejects_different_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(1, 3\)"):
        gradcheck.rel_error(np.zeros(3), np.zeros((1, 3)))


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])

    def f() -> float:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_numerical_gradient_needs_a_scalar_function():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"f must return a single number.*shape \(4,\)"):
        gradcheck.numerical_gradient(lambda: np.ones(4) * x.sum(), x)
    one_entry = gradcheck.numerical_gradient(lambda: np.array([np.sum(x**2)]), x)
    np.testing.assert_allclose(one_entry, 2.0 * x, rtol=1e-8)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), seed=SEEDS)
def test_numerical_jacobian_of_softmax(n, seed):
    z = np.random.default_rng(seed).normal(0.0, 2.0, size=n)
    original = z.copy()
    jac = gradcheck.numerical_jacobian(F.softmax, z)
    np.testing.assert_array_equal(z, original)  # the caller's array is never changed
    assert jac.shape == (n, n)
    assert gradcheck.rel_error(jac, F.softmax_jacobian(z)) < 1e-6 or np.allclose(
        jac, F.softmax_jacobian(z), atol=1e-10
    )


def test_numerical_jacobian_shape_and_a_function_that_returns_its_input():
    x = np.arange(6.0).reshape(2, 3)
    identity = gradcheck.numerical_jacobian(lambda a: a, x)  # f returns x itself, a view
    assert identity.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(identity.reshape(6, 6), np.eye(6), atol=1e-9)
    summed = gradcheck.numerical_jacobian(lambda a: a.sum(), [1, 2, 3])  # ints: float64
    assert summed.shape == (3,)
    np.testing.assert_allclose(summed, np.ones(3), rtol=1e-9)


@pytest.mark.parametrize(
    "f, df",
    [(F.tanh, F.tanh_derivative), (F.sigmoid, F.sigmoid_derivative), (F.gelu, F.gelu_derivative)],
)
def test_numerical_derivative_of_elementwise_functions(f, df):
    z = np.random.default_rng(0).normal(0.0, 2.0, size=(3, 4))
    numeric = gradcheck.numerical_derivative(f, z)
    assert numeric.shape == z.shape and numeric.dtype == np.float64
    assert gradcheck.rel_error(numeric, df(z)) < 1e-8
