"""Tests for nnlib.data: logic gates, toy sets, preprocessing and the DataLoader."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import data
from nnlib.data import (
    DataLoader,
    logic_gate,
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    one_hot,
    standardize,
    train_test_split,
)

# --------------------------------------------------------------------------------------------
# Logic gates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AND", [0, 0, 0, 1]),
        ("OR", [0, 1, 1, 1]),
        ("XOR", [0, 1, 1, 0]),
        ("NAND", [1, 1, 1, 0]),
        ("NOR", [1, 0, 0, 0]),
        ("xor", [0, 1, 1, 0]),
    ],
)
def test_logic_gate_truth_tables(name, expected):
    X, y = logic_gate(name)
    assert X.dtype == np.float64 and X.shape == (4, 2)
    assert y.dtype == np.float64 and y.shape == (4,)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, expected)


def test_logic_gate_returns_fresh_arrays():
    X, y = logic_gate("AND")
    X[:] = 7
    y[:] = 7
    X2, y2 = logic_gate("AND")
    assert X2.max() == 1 and y2.max() == 1


def test_logic_gate_unknown_name():
    with pytest.raises(ValueError, match=r"name must be one of AND, OR, XOR.*'XNOR2'"):
        logic_gate("XNOR2")


# --------------------------------------------------------------------------------------------
# Toy sets
# --------------------------------------------------------------------------------------------

TOY_SETS = {
    "moons": (make_moons, 200, 2),
    "spirals": (make_spirals, 300, 3),
    "blobs": (make_blobs, 300, 3),
    "circles": (make_circles, 200, 2),
}


@pytest.mark.parametrize("name", TOY_SETS)
def test_toy_set_defaults(name):
    make, n, n_classes = TOY_SETS[name]
    X, y = make()
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))
    # Balanced classes 0 .. k-1, and shuffled (not all of class 0 first).
    np.testing.assert_array_equal(np.bincount(y), [n // n_classes] * n_classes)
    assert len(np.unique(y[: n // n_classes])) > 1


@pytest.mark.parametrize("name", TOY_SETS)
def test_toy_set_deterministic_for_a_seed(name):
    make = TOY_SETS[name][0]
    X1, y1 = make(seed=3)
    X2, y2 = make(seed=3)
    X3, _ = make(seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", TOY_SETS)
def test_toy_set_odd_sample_count(name):
    make = TOY_SETS[name][0]
    X, y = make(n_samples=31)
    assert X.shape == (31, 2) and y.shape == (31,)
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1


def test_spirals_number_of_classes():
    _, y = make_spirals(n_samples=100, n_classes=5)
    assert set(y.tolist()) == {0, 1, 2, 3, 4}


def test_blobs_with_given_centers():
    centers = [[-10.0, 0.0], [10.0, 0.0]]
    X, y = make_blobs(n_samples=100, centers=centers, std=0.5)
    # Every point is near its own center.
    np.testing.assert_array_less(np.abs(X[:, 0] - np.where(y == 0, -10, 10)), 3.0)


def test_circles_radii_without_noise():
    X, y = make_circles(n_samples=40, noise=0.0, factor=0.3)
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)


def test_moons_without_noise_lie_on_half_circles():
    X, y = make_moons(n_samples=50, noise=0.0)
    np.testing.assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(X[y == 1] - [1.0, 0.5], axis=1), 1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: make_moons(n_samples=0), r"n_samples must be an integer >= 2, got 0"),
        (lambda: make_moons(noise=-1), r"noise must be >= 0, got -1"),
        (lambda: make_spirals(n_classes=1), r"n_classes must be an integer >= 2, got 1"),
        (lambda: make_blobs(centers=0), r"centers must be an integer >= 1"),
        (lambda: make_blobs(centers=[[1, 2, 3]]), r"centers must have shape \(k, 2\).*\(1, 3\)"),
        (lambda: make_blobs(std=-0.5), r"std must be >= 0, got -0.5"),
        (lambda: make_circles(factor=1.5), r"factor .* must be in \(0, 1\), got 1.5"),
    ],
)
def test_toy_set_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------------------------
# standardize, train_test_split, one_hot
# --------------------------------------------------------------------------------------------


def test_standardize_fits_and_reuses_train_statistics():
    rng = np.random.default_rng(0)
    X_train = rng.normal(5.0, 3.0, size=(200, 3))
    X_test = rng.normal(5.0, 3.0, size=(50, 3))
    Z_train, mean, std = standardize(X_train)
    np.testing.assert_allclose(Z_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z_train.std(axis=0), 1.0)
    Z_test, mean2, std2 = standardize(X_test, mean, std)
    np.testing.assert_allclose(Z_test, (X_test - X_train.mean(axis=0)) / X_train.std(axis=0))
    assert mean2 is not None and np.array_equal(mean2, mean) and np.array_equal(std2, std)


def test_standardize_constant_feature_becomes_zero():
    X = np.array([[1.0, 4.0], [1.0, 6.0]])
    Z, _, std = standardize(X)
    np.testing.assert_array_equal(Z[:, 0], 0.0)
    np.testing.assert_array_equal(std, [1.0, 1.0])
    assert np.all(np.isfinite(Z))


def test_standardize_keeps_float32_and_converts_ints():
    Z32, _, _ = standardize(np.ones((4, 2), dtype=np.float32))
    Zint, _, _ = standardize(np.arange(8).reshape(4, 2))
    assert Z32.dtype == np.float32 and Zint.dtype == np.float64


def test_standardize_errors():
    X = np.zeros((5, 3))
    with pytest.raises(ValueError, match="both mean and std"):
        standardize(X, mean=np.zeros(3))
    with pytest.raises(ValueError, match=r"mean has shape \(2,\), but X has shape \(5, 3\)"):
        standardize(X, np.zeros(2), np.ones(2))


def test_train_test_split_sizes_and_order():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=1)
    assert len(X_train) == 7 and len(X_test) == 3  # ceil(2.5) test samples
    np.testing.assert_array_equal(X_train[:, 0] // 2, y_train)  # rows stay with their labels
    np.testing.assert_array_equal(X_test[:, 0] // 2, y_test)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))


def test_train_test_split_deterministic_and_unshuffled():
    X, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    a = train_test_split(X, y, seed=5)
    b = train_test_split(X, y, seed=5)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    _, _, y_train, y_test = train_test_split(X, y, test_size=2, shuffle=False)
    np.testing.assert_array_equal(y_train, np.arange(8))
    np.testing.assert_array_equal(y_test, [8, 9])


def test_train_test_split_errors():
    with pytest.raises(ValueError, match=r"X shape \(4, 2\) and y shape \(3,\)"):
        train_test_split(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"test_size as a fraction must be in \(0, 1\), got 1.5"):
        train_test_split(np.zeros((4, 2)), np.zeros(4), test_size=1.5)
    with pytest.raises(ValueError, match="gives 4 test samples out of 4"):
        train_test_split(np.zeros((4, 2)), np.zeros(4), test_size=4)


def test_one_hot():
    encoded = one_hot(np.array([2, 0, 1]), 4)
    np.testing.assert_array_equal(encoded, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    assert encoded.dtype == np.float64
    assert one_hot([0, 3]).shape == (2, 4)


def test_one_hot_errors():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\] for num_classes=3.*0 to 3"):
        one_hot([0, 3], 3)
    with pytest.raises(ValueError, match=r"y must be 1-D.*\(2, 2\)"):
        one_hot(np.zeros((2, 2), dtype=int), 3)
    with pytest.raises(ValueError, match="whole-number"):
        one_hot([0.5, 1.0], 3)


# --------------------------------------------------------------------------------------------
# DataLoader
# --------------------------------------------------------------------------------------------


def _epoch_labels(loader):
    """All labels of one epoch, in the order the loader gave them."""
    return np.concatenate([yb for _, yb in loader])


def test_loader_batches_in_order():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = DataLoader((X, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    for xb, yb in batches:
        assert isinstance(xb, np.ndarray) and xb.shape == (len(yb), 2)
        np.testing.assert_array_equal(xb[:, 0] // 2, yb)
    np.testing.assert_array_equal(_epoch_labels(loader), y)


def test_loader_drop_last():
    y = np.arange(10)
    loader = DataLoader((y,), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(b) for (b,) in loader] == [4, 4]
    assert len(DataLoader((y,), batch_size=5, drop_last=True)) == 2
    assert len(DataLoader((y,), batch_size=11, drop_last=True)) == 0
    assert len(DataLoader((y,), batch_size=11)) == 1


def test_loader_shuffle_each_epoch_and_seeded():
    X, y = np.arange(100.0).reshape(50, 2), np.arange(50)
    loader = DataLoader((X, y), batch_size=8, shuffle=True, seed=0)
    first, second = _epoch_labels(loader), _epoch_labels(loader)
    np.testing.assert_array_equal(np.sort(first), y)
    np.testing.assert_array_equal(np.sort(second), y)
    assert not np.array_equal(first, second)  # a new order every epoch
    assert not np.array_equal(first, y)
    again = DataLoader((X, y), batch_size=8, shuffle=True, seed=0)
    np.testing.assert_array_equal(_epoch_labels(again), first)  # same seed, same epochs
    np.testing.assert_array_equal(_epoch_labels(again), second)
    for xb, yb in loader:
        np.testing.assert_array_equal(xb[:, 0] // 2, yb)  # samples stay paired


def test_loader_any_number_of_arrays_and_single_array():
    a, b, c = np.arange(6), np.arange(6) * 10, np.zeros((6, 3, 3))
    batches = list(DataLoader([a, b, c], batch_size=4))
    assert [len(batch) for batch in batches] == [3, 3]
    assert batches[1][2].shape == (2, 3, 3)
    singles = list(DataLoader(a, batch_size=4))
    assert isinstance(singles[0], np.ndarray)
    np.testing.assert_array_equal(np.concatenate(singles), a)


def test_loader_errors():
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 2\), \(4,\)"):
        DataLoader((np.zeros((5, 2)), np.zeros(4)))
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        DataLoader((np.zeros(3),), batch_size=0)
    with pytest.raises(ValueError, match="at least one array"):
        DataLoader(())


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=70),
    batch_size=st.integers(min_value=1, max_value=20),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_loader_covers_every_sample_once(n, batch_size, shuffle, drop_last, seed):
    y = np.arange(n)
    loader = DataLoader(
        (y, -y), batch_size=batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last
    )
    for _ in range(2):  # two epochs
        batches = list(loader)
        assert len(batches) == len(loader)
        sizes = [len(yb) for yb, _ in batches]
        assert all(size == batch_size for size in sizes[:-1])
        seen = np.concatenate([yb for yb, _ in batches]) if batches else np.array([], int)
        if drop_last:
            assert all(size == batch_size for size in sizes)
            assert len(seen) == n - n % batch_size
        else:
            assert len(seen) == n
        assert len(np.unique(seen)) == len(seen)  # nothing twice
        for yb, minus_yb in batches:
            np.testing.assert_array_equal(minus_yb, -yb)


def test_load_mnist_is_reexported():
    from nnlib import mnist

    assert data.load_mnist is mnist.load_mnist
    assert data.MNIST is mnist.MNIST
