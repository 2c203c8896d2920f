"""Momentum puts the learning rate inside the velocity (v = mu v + lr g, p -= v): wrong once lr changes.

Loses: test_momentum hidden_momentum
Says: the learning rate is inside the velocity
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
        for i, (p, g) in enumerate(zip(self.params, grads)):
            self.v[i] = self.momentum * self.v[i] + self.lr * g
            p -= self.v[i]
