"""train_one_epoch sums the losses as tensors (total += loss * B), keeping every batch's graph alive.

Loses: test_train hidden_train_metrics
Says: accumulating a tensor that requires grad
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_one_epoch(model, loss_fn, optimizer, loader, device):
    model.train()
    total_loss, correct, count = 0.0, 0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        total_loss = total_loss + loss * len(yb)
        correct += (logits.argmax(dim=1) == yb).sum().item()
        count += len(yb)
    return float(total_loss) / count, correct / count
