"""Small data sets and data helpers for the course.

Everything here is plain NumPy:

* ``logic_gate``: the four rows of a truth table (AND, OR, XOR, NAND, NOR);
* ``make_moons``, ``make_spirals``, ``make_blobs``, ``make_circles``: seeded 2-D toy sets;
* ``standardize``, ``train_test_split``, ``one_hot``: preprocessing;
* ``DataLoader``: a mini-batch iterator that behaves like ``torch.utils.data.DataLoader``;
* ``load_mnist``: the MNIST digits (see ``nnlib.mnist``).

Toy sets return ``(X, y)`` with ``X`` float64 of shape ``(n, 2)`` and ``y`` int64 of shape ``(n,)``.
The same ``seed`` always gives the same data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from nnlib.mnist import MNIST, load_mnist
from nnlib.random import get_rng

__all__ = [
    "GATES",
    "MNIST",
    "DataLoader",
    "load_mnist",
    "logic_gate",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "one_hot",
    "standardize",
    "train_test_split",
]

# ---------------------------------------------------------------------------------------------
# Logic gates
# ---------------------------------------------------------------------------------------------

# The inputs, in the usual truth-table order, and the output of each gate for those rows.
_GATE_INPUTS = ((0, 0), (0, 1), (1, 0), (1, 1))
_GATE_OUTPUTS = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "XOR": (0, 1, 1, 0),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
}
GATES = tuple(_GATE_OUTPUTS)


def logic_gate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the truth table of a gate as ``(X, y)``: X (4, 2) float64, y (4,) float64."""
    key = str(name).upper()
    if key not in _GATE_OUTPUTS:
        raise ValueError(f"name must be one of {', '.join(GATES)} (any case), got {name!r}")
    X = np.array(_GATE_INPUTS, dtype=np.float64)
    y = np.array(_GATE_OUTPUTS[key], dtype=np.float64)
    return X, y


# ---------------------------------------------------------------------------------------------
# Seeded 2-D toy sets
# ---------------------------------------------------------------------------------------------


def _check_n_samples(n_samples: int, minimum: int = 1) -> None:
    if int(n_samples) != n_samples or n_samples < minimum:
        raise ValueError(f"n_samples must be an integer >= {minimum}, got {n_samples!r}")


def _check_noise(noise: float, name: str = "noise") -> None:
    if not noise >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {noise!r}")


def _split_evenly(n_samples: int, n_parts: int) -> list[int]:
    """Split n_samples into n_parts counts that differ by at most one."""
    base, extra = divmod(int(n_samples), n_parts)
    return [base + (1 if i < extra else 0) for i in range(n_parts)]


def _shuffle(
    X: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle the rows of X and y together, so the classes are mixed."""
    order = rng.permutation(len(y))
    return X[order], y[order]


def make_moons(
    n_samples: int = 200, noise: float = 0.1, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (class 0 on top, class 1 below), with Gaussian noise."""
    _check_n_samples(n_samples, minimum=2)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    n_top, n_bottom = _split_evenly(n_samples, 2)

    angle_top = np.linspace(0.0, np.pi, n_top)
    top = np.column_stack([np.cos(angle_top), np.sin(angle_top)])
    angle_bottom = np.linspace(0.0, np.pi, n_bottom)
    bottom = np.column_stack([1.0 - np.cos(angle_bottom), 0.5 - np.sin(angle_bottom)])

    X = np.vstack([top, bottom]) + noise * rng.standard_normal((n_samples, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_top, n_bottom])
    return _shuffle(X, y, rng)


def make_spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class, starting at the origin; noise jitters the angle."""
    if int(n_classes) != n_classes or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    _check_n_samples(n_samples, minimum=n_classes)
    _check_noise(noise)
    rng = np.random.default_rng(seed)

    points, labels = [], []
    for k, count in enumerate(_split_evenly(n_samples, n_classes)):
        radius = np.linspace(0.0, 1.0, count)
        # Each arm starts at its own angle and turns by 1.5 pi on its way out.
        angle = 2 * np.pi * k / n_classes + 1.5 * np.pi * radius
        angle = angle + noise * rng.standard_normal(count)
        points.append(np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
        labels.append(np.full(count, k, dtype=np.int64))
    return _shuffle(np.vstack(points), np.concatenate(labels), rng)


def make_blobs(
    n_samples: int = 300,
    centers: int | Sequence[Sequence[float]] | np.ndarray = 3,
    std: float = 1.0,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs; centers is a count (random centers in [-6, 6]^2) or a (k, 2) array."""
    rng = np.random.default_rng(seed)
    if np.isscalar(centers):
        if int(centers) != centers or centers < 1:
            raise ValueError(f"centers must be an integer >= 1 or a (k, 2) array, got {centers!r}")
        center_xy = rng.uniform(-6.0, 6.0, size=(int(centers), 2))
    else:
        center_xy = np.asarray(centers, dtype=np.float64)
        if center_xy.ndim != 2 or center_xy.shape[1] != 2 or len(center_xy) < 1:
            raise ValueError(f"centers must have shape (k, 2), got shape {center_xy.shape}")
    _check_n_samples(n_samples, minimum=len(center_xy))
    _check_noise(std, name="std")

    counts = _split_evenly(n_samples, len(center_xy))
    y = np.repeat(np.arange(len(center_xy), dtype=np.int64), counts)
    X = center_xy[y] + std * rng.standard_normal((n_samples, 2))
    return _shuffle(X, y, rng)


def make_circles(
    n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius ``factor`` (class 1) inside the unit circle (class 0), with noise."""
    _check_n_samples(n_samples, minimum=2)
    _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor (inner radius / outer radius) must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)

    rings = []
    for radius, count in zip((1.0, factor), _split_evenly(n_samples, 2), strict=True):
        angle = np.linspace(0.0, 2 * np.pi, count, endpoint=False)
        rings.append(radius * np.column_stack([np.cos(angle), np.sin(angle)]))
    X = np.vstack(rings) + noise * rng.standard_normal((n_samples, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [len(rings[0]), len(rings[1])])
    return _shuffle(X, y, rng)


# ---------------------------------------------------------------------------------------------
# Preprocessing
# ---------------------------------------------------------------------------------------------


def standardize(
    X: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each feature to mean 0 and std 1; return ``(X_std, mean, std)``.

    Fit on the training set, then pass its ``mean`` and ``std`` for the test set:

        X_train, mean, std = standardize(X_train)
        X_test, _, _ = standardize(X_test, mean, std)

    A feature with std 0 (e.g. an always-black MNIST border pixel) gets std 1, so it becomes 0.
    """
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    if X.ndim < 1 or len(X) == 0:
        raise ValueError(f"X must have at least one row, got shape {X.shape}")
    if (mean is None) != (std is None):
        raise ValueError("pass both mean and std (the training statistics) or neither")

    if mean is None:
        mean = X.mean(axis=0)
        std = X.std(axis=0)
    else:
        mean = np.asarray(mean, dtype=X.dtype)
        std = np.asarray(std, dtype=X.dtype)
        for name, stat in (("mean", mean), ("std", std)):
            if stat.shape not in ((), X.shape[1:]):
                raise ValueError(
                    f"{name} has shape {stat.shape}, but X has shape {X.shape}; "
                    f"expected shape {X.shape[1:]} (one value per feature)"
                )
        if np.any(std < 0):
            raise ValueError("std must be >= 0")
    std = np.where(std == 0, 1, std).astype(X.dtype)
    return (X - mean) / std, mean, std


def train_test_split(
    X: np.ndarray,
    y: np.ndarray,
    test_size: float | int = 0.25,
    seed: int | None = 0,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into ``X_train, X_test, y_train, y_test`` (the order scikit-learn uses).

    ``test_size`` is a fraction in (0, 1) (rounded up to whole samples) or a number of samples.
    Without ``shuffle`` the last samples form the test set.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"X and y must have the same number of rows, got X shape {X.shape} "
            f"and y shape {y.shape}"
        )
    n = len(X)
    if isinstance(test_size, float):
        if not 0 < test_size < 1:
            raise ValueError(f"test_size as a fraction must be in (0, 1), got {test_size!r}")
        n_test = math.ceil(test_size * n)
    else:
        n_test = int(test_size)
        if n_test != test_size:
            raise ValueError(f"test_size must be a float fraction or an int, got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_size={test_size!r} gives {n_test} test samples out of {n}; "
            f"both the train and the test set need at least one sample"
        )

    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    train, test = order[: n - n_test], order[n - n_test :]
    return X[train], X[test], y[train], y[test]


def one_hot(y: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Turn integer labels of shape (n,) into a float64 one-hot matrix of shape (n, num_classes).

    Without ``num_classes`` it is ``y.max() + 1``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one label per sample), got shape {y.shape}")
    if y.size and not np.all(np.mod(y, 1) == 0):
        raise ValueError(f"y must hold whole-number class labels, got dtype {y.dtype}")
    labels = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be an integer >= 1, got {num_classes!r}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must be in [0, {num_classes - 1}] for num_classes={num_classes}, "
            f"got values from {labels.min()} to {labels.max()}"
        )
    encoded = np.zeros((len(labels), int(num_classes)), dtype=np.float64)
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded


# ---------------------------------------------------------------------------------------------
# Mini-batches
# ---------------------------------------------------------------------------------------------


class DataLoader:
    """Iterate over arrays in mini-batches, like ``torch.utils.data.DataLoader``.

        loader = DataLoader((X, y), batch_size=32, shuffle=True, seed=0)
        for epoch in range(5):
            for xb, yb in loader:   # every sample exactly once per epoch
                ...

    ``data`` is a tuple (or list) of arrays with the same first dimension; each batch is a tuple
    with one slice of every array. A single array may be passed too; batches are then arrays.
    With ``shuffle`` every epoch uses a new order, drawn from a generator seeded once, so the
    whole sequence of epochs is the same for the same ``seed`` (without one, nnlib's shared
    generator is used, which ``nnlib.manual_seed`` sets). ``len(loader)`` is the number
    of batches per epoch; ``drop_last`` skips a final batch smaller than ``batch_size``.
    """

    def __init__(
        self,
        data: np.ndarray | Sequence[np.ndarray],
        batch_size: int = 64,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self._single = isinstance(data, np.ndarray)
        arrays = (data,) if self._single else tuple(np.asarray(a) for a in data)
        if not arrays:
            raise ValueError("data must contain at least one array")
        shapes = [a.shape for a in arrays]
        if any(len(s) == 0 for s in shapes) or len({s[0] for s in shapes}) != 1:
            raise ValueError(
                f"all arrays in data must have the same first dimension (number of samples), "
                f"got shapes {shapes}"
            )
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")

        self.arrays = arrays
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.n_samples = shapes[0][0]
        # Without a seed, shuffle with nnlib's shared generator, so nnlib.manual_seed decides.
        self.rng = get_rng(seed)

    def __len__(self) -> int:
        """Number of batches in one epoch."""
        if self.drop_last:
            return self.n_samples // self.batch_size
        return math.ceil(self.n_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...] | np.ndarray]:
        """Yield the batches of one epoch (a fresh order each epoch when shuffling)."""
        order = self.rng.permutation(self.n_samples) if self.shuffle else None
        for b in range(len(self)):
            start, stop = b * self.batch_size, min((b + 1) * self.batch_size, self.n_samples)
            index = slice(start, stop) if order is None else order[start:stop]
            batch = tuple(a[index] for a in self.arrays)
            yield batch[0] if self._single else batch

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return (
            f"DataLoader(shapes=[{shapes}], batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})"
        )
