"""Adam is built on nnlib.optim.Adam, wrapping each array in an nnlib Parameter.

Loses: test_adam hidden_adam
Says: calling a library function
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_adam
from nnlib import nn, optim


class Adam:
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.wrapped = [nn.Parameter(p) for p in params]
        self.inner = optim.Adam(self.wrapped, lr=lr, betas=betas, eps=eps)
        self.lr = lr

    def step(self, grads):
        self.inner.lr = self.lr
        for w, g in zip(self.wrapped, grads):
            w.grad = g
        self.inner.step()
        for p, w in zip(self.params, self.wrapped):
            p[...] = w.data
