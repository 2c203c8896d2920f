"""Optimizers and learning-rate schedules with PyTorch's names and update rules.

An optimizer holds its `Parameter`s in `param_groups` (as torch does); `step()` updates each
one from its `.grad` and `zero_grad()` clears the gradients. Parameters whose `.grad` is None
are skipped. The state (`state[p]`) uses torch's names: momentum_buffer, step, exp_avg, ...
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from nnlib.nn import Parameter


class Optimizer:
    """Base class, as torch.optim.Optimizer: parameter groups, their settings, per-parameter state.

    `params` is an iterable of Parameters, or of dicts {"params": [...], "lr": ...} (parameter
    groups, each setting overriding `defaults`). `param_groups[0]["lr"]` is the learning rate
    that schedulers change; `state[p]` holds what the rule remembers about parameter p.
    """

    def __init__(self, params: Iterable[Parameter] | Iterable[dict], defaults: dict) -> None:
        self.defaults = dict(defaults)
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups: list[dict] = []
        self.state: dict[Parameter, dict] = {}
        # One scratch array per parameter, reused by every step for the update's intermediate
        # values (not optimizer state: its contents mean nothing between steps).
        self._scratch: dict[Parameter, np.ndarray] = {}
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own settings (the others from `defaults`)."""
        group = {**self.defaults, **param_group, "params": list(param_group["params"])}
        for i, p in enumerate(group["params"]):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"params[{i}] is a {type(p).__name__}, expected an nnlib Parameter "
                    "(pass model.parameters())"
                )
        if not group["lr"] > 0:  # also rejects NaN, for which every comparison is False
            raise ValueError(f"learning rate lr must be positive, got {group['lr']}")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's gradient to None (or to zeros with set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = np.zeros_like(p.grad)

    def step(self, closure=None):
        """Update every parameter that has a gradient; closure() (if given) is called first."""
        loss = None if closure is None else closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p, p.grad, self.state.setdefault(p, {}), group)
        return loss

    def update(self, p: Parameter, grad: np.ndarray, state: dict, group: dict) -> None:
        """Apply the rule to one parameter (in place on p.data), with its group's settings."""
        raise NotImplementedError

    def scratch(self, p: Parameter) -> np.ndarray:
        """A work array of p's shape and dtype, the same one at every step (no allocation)."""
        work = self._scratch.get(p)
        if work is None or work.shape != p.data.shape or work.dtype != p.data.dtype:
            work = self._scratch[p] = np.empty_like(p.data)
        return work


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
        params: Iterable[Parameter] | Iterable[dict],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "nesterov=True needs a momentum > 0 and dampening=0 (as in torch.optim.SGD), "
                f"got momentum={momentum}, dampening={dampening}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def update(self, p: Parameter, grad: np.ndarray, state: dict, group: dict) -> None:
        """One SGD step for one parameter."""
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        mu = group["momentum"]
        work = self.scratch(p)
        if mu:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = np.array(g, dtype=p.data.dtype)
            else:
                # v = mu * v + (1 - dampening) * g, in place
                v = state["momentum_buffer"]
                v *= mu
                v += np.multiply(g, 1 - group["dampening"], out=work)
            v = state["momentum_buffer"]
            if group["nesterov"]:  # g + mu * v
                g = np.add(g, np.multiply(v, mu, out=work), out=work)
            else:
                g = v
        # p = p - lr * g, in place
        p.data -= np.multiply(g, group["lr"], out=work)


class Adam(Optimizer):
    """Adam: per-parameter steps from running means of g and g^2, with bias correction.

    torch.optim.Adam's arguments: amsgrad keeps the largest v seen so far; maximize steps up the
    gradient; decoupled_weight_decay=True is AdamW (p *= 1 - lr * weight_decay, not g += wd p).
    """

    def __init__(
        self,
        params: Iterable[Parameter] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def update(self, p: Parameter, grad: np.ndarray, state: dict, group: dict) -> None:
        """One Adam step for one parameter."""
        beta1, beta2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        g = -grad if group["maximize"] else grad
        if wd and group["decoupled_weight_decay"]:
            p.data *= 1 - lr * wd
        elif wd:
            g = g + wd * p.data
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        # Every array operation below writes into m, v, p.data or one reused scratch array:
        # no new arrays per step, and a float32 model computes in float32 throughout.
        work = self.scratch(p)
        # m = beta1 * m + (1 - beta1) * g
        m *= beta1
        m += np.multiply(g, 1 - beta1, out=work)
        # v = beta2 * v + (1 - beta2) * g^2
        v *= beta2
        work = np.multiply(g, g, out=work)
        work *= 1 - beta2
        v += work
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        # p = p - lr * m_hat / (sqrt(v_hat) + eps), with the bias corrections (m and v start
        # at 0) m_hat = m / c1 and v_hat = v / c2, c1 = 1 - beta1^t and c2 = 1 - beta2^t.
        # They are numbers, so they move out of the arrays (multiply top and bottom by
        # sqrt(c2)): p = p - (lr * sqrt(c2) / c1) * m / (sqrt(v) + eps * sqrt(c2))
        root_c2 = math.sqrt(1 - beta2**t)
        denom = np.sqrt(v, out=work)
        denom += group["eps"] * root_c2
        step = np.divide(m, denom, out=work)
        step *= lr * root_c2 / (1 - beta1**t)
        p.data -= step


class LRScheduler:
    """Base class of the schedules: step() once per epoch sets every group's "lr"."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = list(self.base_lrs)

    def get_lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate for a group that started at base_lr, after `epoch` epochs."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rate now in use, one per parameter group (as in torch)."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch and set each group's learning rate."""
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self.get_lr_at(base_lr, self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the learning rate by gamma every step_size epochs (call step() once per epoch)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr_at(self, base_lr: float, epoch: int) -> float:
        """base_lr * gamma ** (epoch // step_size)."""
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Cosine decay from the initial learning rate to eta_min over T_max epochs.

    lr = eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2. As in PyTorch, the cosine
    goes on after T_max: the learning rate rises again and returns to its initial value at
    t = 2 * T_max (a warm restart without the jump).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803
        if T_max < 1:
            raise ValueError(f"T_max must be >= 1, got {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def get_lr_at(self, base_lr: float, epoch: int) -> float:
        """The cosine schedule's value at `epoch`."""
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * cosine
