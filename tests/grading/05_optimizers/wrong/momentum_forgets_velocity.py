"""Momentum makes a fresh zero velocity in every step, which is plain SGD.

Loses: test_momentum hidden_momentum
Says: the velocity is not kept from one step to the next
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_momentum
class Momentum:
    def __init__(self, params, lr, momentum=0.9):
        self.params = params
        self.lr = lr
        self.momentum = momentum

    def step(self, grads):
        for p, g in zip(self.params, grads):
            v = np.zeros_like(p)
            v = self.momentum * v + g
            p -= self.lr * v
