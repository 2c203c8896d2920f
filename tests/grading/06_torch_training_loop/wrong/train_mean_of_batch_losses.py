"""train_one_epoch returns the mean of the batch losses and of the batch accuracies.

Loses: test_train hidden_train_metrics
Says: the loss was averaged over batches
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_one_epoch(model, loss_fn, optimizer, loader, device):
    model.train()
    losses, accuracies = [], []
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        accuracies.append((logits.argmax(dim=1) == yb).float().mean().item())
    return sum(losses) / len(losses), sum(accuracies) / len(accuracies)
