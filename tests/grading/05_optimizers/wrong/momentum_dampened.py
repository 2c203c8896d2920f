"""Momentum averages the gradients, v = mu v + (1 - mu) g, instead of PyTorch's v = mu v + g.

Loses: test_momentum hidden_momentum
Says: the velocity is an average
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_momentum
class Momentum:
    def __init__(self, params, lr, momentum=0.9):
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads):
        for p, v, g in zip(self.params, self.v, grads):
            v[...] = self.momentum * v + (1 - self.momentum) * g
            p -= self.lr * v
