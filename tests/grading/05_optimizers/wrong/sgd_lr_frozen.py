"""SGD copies the learning rate into another attribute at creation and ignores later changes of lr.

Loses: test_sgd hidden_sgd
Says: the learning rate was read once
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sgd
class SGD:
    def __init__(self, params, lr):
        self.params = params
        self.lr = lr
        self.step_size = lr

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p -= self.step_size * g
