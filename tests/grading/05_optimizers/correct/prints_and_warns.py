"""Correct code that prints, warns, writes to stderr and changes the gradients it is given.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sgd
import sys
import warnings


class SGD:
    def __init__(self, params, lr):
        print("SGD with", len(params), "parameters")
        self.params = params
        self.lr = lr

    def step(self, grads):
        for p, g in zip(self.params, grads):
            g *= self.lr  # changes the gradient array in place
            p -= g

# %% answer_momentum
class Momentum:
    def __init__(self, params, lr, momentum=0.9):
        warnings.warn("momentum is experimental", UserWarning)
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.velocities = [np.zeros_like(p) for p in params]

    def step(self, grads):
        print("momentum step", file=sys.stderr)
        for p, v, g in zip(self.params, self.velocities, grads):
            v *= self.momentum
            v += g
            p -= self.lr * v

# %% answer_adam
class Adam:
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads):
        self.t += 1
        b1, b2 = self.betas
        print(f"Adam step {self.t}")
        for p, m, v, g in zip(self.params, self.m, self.v, grads):
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g**2
            p -= self.lr * (m / (1 - b1**self.t)) / (np.sqrt(v / (1 - b2**self.t)) + self.eps)

# %% answer_run
def run_optimizer(make_optimizer, grad_fn, start, steps):
    p = np.array(start, dtype=np.float64)
    optimizer = make_optimizer([p])
    path = [p.copy()]
    for k in range(steps):
        optimizer.step([grad_fn(p)])
        path.append(p.copy())
        if k % 5 == 0:
            warnings.warn(f"step {k}: f = {np.sum(p ** 2):.3g}", RuntimeWarning)
    return np.array(path)
