"""SGD rebinds p = p - lr * g inside the loop, so the caller's arrays never change.

Loses: test_sgd hidden_sgd
Says: update each array in place
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sgd
class SGD:
    def __init__(self, params, lr):
        self.params = params
        self.lr = lr

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p = p - self.lr * g
