"""train_one_epoch moves the inputs to the device but not the labels.

Loses: test_train hidden_train_mode
Says: moving the inputs but not the labels
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_one_epoch(model, loss_fn, optimizer, loader, device):
    model.train()
    total_loss, correct, count = 0.0, 0, 0
    for xb, yb in loader:
        xb = xb.to(device)
        optimizer.zero_grad()
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(yb)
        correct += (logits.argmax(dim=1) == yb).sum().item()
        count += len(yb)
    return total_loss / count, correct / count
