"""Momentum keeps one velocity for all parameters (it breaks when their shapes differ).

Loses: test_momentum hidden_momentum
Says: one state shared by all parameters
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_momentum
class Momentum:
    def __init__(self, params, lr, momentum=0.9):
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.velocity = 0.0

    def step(self, grads):
        for p, g in zip(self.params, grads):
            self.velocity = self.momentum * self.velocity + g
            p -= self.lr * self.velocity
