"""SGD hands the update to torch.optim.SGD through tensors that share the arrays' memory.

Loses: test_sgd hidden_sgd
Says: calling a library function
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sgd
import torch


class SGD:
    def __init__(self, params, lr):
        self.params = params
        self.lr = lr
        self.tensors = [torch.from_numpy(p) for p in params]
        self.opt = torch.optim.SGD(self.tensors, lr=lr)

    def step(self, grads):
        for group in self.opt.param_groups:
            group["lr"] = self.lr
        for t, g in zip(self.tensors, grads):
            t.grad = torch.from_numpy(g)
        self.opt.step()
