"""evaluate hands the work to nnlib.training.evaluate_torch.

Loses: test_evaluate hidden_evaluate_mode hidden_evaluate_metrics
Says: write the loop over the batches yourself
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_evaluate
import nnlib.training


def evaluate(model, loss_fn, loader, device):
    return nnlib.training.evaluate_torch(model, loss_fn, loader, device)
