"""nnlib: a small neural-network library for teaching, with PyTorch's names.

    from nnlib import nn, optim
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
"""

from nnlib import functional, gradcheck, layers, losses, nn, optim
from nnlib.random import manual_seed

__all__ = ["functional", "gradcheck", "layers", "losses", "nn", "optim", "manual_seed"]
__version__ = "0.1.0"
