"""Element-by-element loops, lazily created state in dicts, p[...] = assignments.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sgd
class SGD:
    def __init__(self, params, lr):
        self.params = params
        self.lr = lr

    def step(self, grads):
        for k in range(len(self.params)):
            p = self.params[k]
            g = grads[k]
            for index in np.ndindex(p.shape):
                p[index] = p[index] - self.lr * g[index]

# %% answer_momentum
class Momentum:
    def __init__(self, params, lr, momentum=0.9):
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.state = {}

    def step(self, grads):
        for k, (p, g) in enumerate(zip(self.params, grads)):
            if k not in self.state:
                self.state[k] = np.zeros(p.shape)
            v = self.state[k]
            for index in np.ndindex(p.shape):
                v[index] = self.momentum * v[index] + g[index]
                p[index] -= self.lr * v[index]

# %% answer_adam
import math


class Adam:
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.steps_done = 0
        self.state = {}

    def step(self, grads):
        self.steps_done += 1
        t = self.steps_done
        for k, (p, g) in enumerate(zip(self.params, grads)):
            m, v = self.state.setdefault(k, (np.zeros(p.shape), np.zeros(p.shape)))
            for index in np.ndindex(p.shape):
                m[index] = self.beta1 * m[index] + (1 - self.beta1) * g[index]
                v[index] = self.beta2 * v[index] + (1 - self.beta2) * g[index] ** 2
                m_hat = m[index] / (1 - self.beta1 ** t)
                v_hat = v[index] / (1 - self.beta2 ** t)
                p[index] -= self.lr * m_hat / (math.sqrt(v_hat) + self.eps)

# %% answer_run
def run_optimizer(make_optimizer, grad_fn, start, steps):
    point = np.zeros(len(start))
    for i in range(len(start)):
        point[i] = float(start[i])
    optimizer = make_optimizer([point])
    path = np.zeros((steps + 1, len(start)))
    path[0] = point
    k = 0
    while k < steps:
        optimizer.step([grad_fn(point)])
        k += 1
        path[k] = point
    return path
