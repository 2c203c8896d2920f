"""Helpers shared by the tests that compare nnlib with torch in float64."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import torch

#: Smooth functions must agree with torch to this relative error (gradient-checking practice).
RTOL = 1e-7
ATOL = 1e-12


def to_np(t: torch.Tensor) -> np.ndarray:
    """A tensor as a NumPy array, detached from the graph."""
    return t.detach().numpy()


def assert_close(actual, expected, rtol: float = RTOL, atol: float = ATOL) -> None:
    """Same shape, float64, and equal to rtol/atol."""
    if isinstance(expected, torch.Tensor):
        expected = to_np(expected)
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.float64, f"dtype {actual.dtype} is not float64"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


@contextlib.contextmanager
def strict_numerics() -> Iterator[None]:
    """Turn every warning and every overflow/divide/invalid into an exception."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            yield
