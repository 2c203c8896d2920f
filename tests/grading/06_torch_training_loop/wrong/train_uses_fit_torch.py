"""train_one_epoch hands the epoch to nnlib.training.fit_torch.

Loses: test_train hidden_train_steps hidden_train_mode hidden_train_metrics
Says: write the loop over the batches yourself
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
from nnlib.training import fit_torch


def train_one_epoch(model, loss_fn, optimizer, loader, device):
    history = fit_torch(model, loss_fn, optimizer, loader, epochs=1, device=device,
                        progress=False)
    return history["loss"][-1], history["accuracy"][-1]
