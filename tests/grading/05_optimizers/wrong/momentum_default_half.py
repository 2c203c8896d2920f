"""Momentum is right but its default momentum is 0.5 instead of 0.9.

Loses: test_momentum hidden_momentum
Says: the default momentum
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_momentum
class Momentum:
    def __init__(self, params, lr, momentum=0.5):
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads):
        for p, v, g in zip(self.params, self.v, grads):
            v *= self.momentum
            v += g
            p -= self.lr * v
