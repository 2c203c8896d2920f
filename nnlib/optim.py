"""Optimizers and learning-rate schedules with PyTorch's names and update rules.

An optimizer holds a list of `Parameter`s; `step()` updates each one from its `.grad`
and `zero_grad()` clears the gradients. Parameters whose `.grad` is None are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from nnlib.nn import Parameter


class Optimizer:
    """Base class: keeps the parameters, the learning rate and per-parameter state."""

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"params[{i}] is a {type(p).__name__}, expected an nnlib Parameter "
                    "(pass model.parameters())"
                )
        if not lr > 0:  # also rejects NaN, for which every comparison is False
            raise ValueError(f"learning rate lr must be positive, got {lr}")
        self.lr = lr
        self.state: list[dict] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to None."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is not None:
                self.update(p, p.grad, state)

    def update(self, p: Parameter, grad: np.ndarray, state: dict) -> None:
        """Apply the rule to one parameter (in place on p.data)."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    The arguments are torch.optim.SGD's, in its order and with its defaults:
    SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
    maximize=False). With momentum mu the velocity starts as v = g and then becomes
    v = mu * v + (1 - dampening) * g; the step is p -= lr * v (Nesterov: p -= lr * (g + mu * v)).
    weight_decay adds weight_decay * p to g; maximize steps up the gradient instead of down.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "nesterov=True needs a momentum > 0 and dampening=0 (as in torch.optim.SGD), "
                f"got momentum={momentum}, dampening={dampening}"
            )
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.maximize = maximize

    def update(self, p: Parameter, grad: np.ndarray, state: dict) -> None:
        """One SGD step for one parameter."""
        g = -grad if self.maximize else grad
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            if "velocity" not in state:
                state["velocity"] = g.copy()
            else:
                state["velocity"] = self.momentum * state["velocity"] + (1 - self.dampening) * g
            v = state["velocity"]
            g = g + self.momentum * v if self.nesterov else v
        p.data -= self.lr * g


class Adam(Optimizer):
    """Adam: per-parameter steps from running means of g and g^2, with bias correction."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay

    def update(self, p: Parameter, grad: np.ndarray, state: dict) -> None:
        """One Adam step for one parameter."""
        beta1, beta2 = self.betas
        g = grad + self.weight_decay * p.data if self.weight_decay else grad
        if not state:
            state["t"] = 0
            state["m"] = np.zeros_like(p.data)
            state["v"] = np.zeros_like(p.data)
        state["t"] += 1
        t, m, v = state["t"], state["m"], state["v"]
        # m = beta1 * m + (1 - beta1) * g and v = beta2 * v + (1 - beta2) * g^2, in place.
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        m_hat = m / (1 - beta1**t)  # bias correction: m and v start at 0
        v_hat = v / (1 - beta2**t)
        p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class StepLR:
    """Multiply the learning rate by gamma every step_size epochs (call step() once per epoch)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.optimizer = optimizer
        self.step_size = step_size
        self.gamma = gamma
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def get_last_lr(self) -> list[float]:
        """The learning rate now in use, as a list with one entry (torch: one per group)."""
        return [self.optimizer.lr]

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** (self.last_epoch // self.step_size)


class CosineAnnealingLR:
    """Cosine decay from the initial learning rate to eta_min over T_max epochs."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803
        if T_max < 1:
            raise ValueError(f"T_max must be >= 1, got {T_max}")
        self.optimizer = optimizer
        self.T_max = T_max
        self.eta_min = eta_min
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def get_last_lr(self) -> list[float]:
        """The learning rate now in use, as a list with one entry (torch: one per group)."""
        return [self.optimizer.lr]

    def step(self) -> None:
        """Advance one epoch: lr = eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2.

        As in PyTorch, the cosine goes on after T_max: the learning rate rises again and
        returns to its initial value at t = 2 * T_max (a warm restart without the jump).
        """
        self.last_epoch += 1
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        self.optimizer.lr = self.eta_min + (self.base_lr - self.eta_min) * cosine
