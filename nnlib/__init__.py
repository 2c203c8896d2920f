"""nnlib: a small neural-network library for teaching, with PyTorch's names.

    from nnlib import nn, optim
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))

Modules: functional (activations and their derivatives), losses (value and gradient),
layers (forward/backward pairs with a cache), nn (modules), optim (optimizers and schedules),
gradcheck (finite differences), data (toy sets, DataLoader, MNIST), training (fit loops),
plots (matplotlib pictures; imported on its own: `from nnlib import plots`).
"""

from nnlib import data, functional, gradcheck, layers, losses, nn, optim, training
from nnlib.random import manual_seed

__all__ = [
    "data",
    "functional",
    "gradcheck",
    "layers",
    "losses",
    "manual_seed",
    "nn",
    "optim",
    "training",
]
__version__ = "0.1.0"
