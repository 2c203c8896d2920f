"""sigmoid hands the work to torch.sigmoid.

Loses: test_sigmoid hidden_sigmoid test_sigmoid_stable hidden_sigmoid_stable
Says: calling a library function
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid
import torch


def sigmoid(z):
    return torch.sigmoid(torch.as_tensor(z)).numpy()
