"""One seeded random generator for the whole library, like `torch.manual_seed`."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed nnlib's generator (weight initialisation, dropout, shuffling) and return it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def get_rng(rng: np.random.Generator | int | None = None) -> np.random.Generator:
    """Return `rng` if given (an int is used as a seed), else nnlib's shared generator."""
    if rng is None:
        return _generator
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
