"""evaluate calls loss.backward() on every batch, filling the model's gradients.

Loses: test_evaluate hidden_evaluate_mode
Says: with torch.no_grad()
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_evaluate
def evaluate(model, loss_fn, loader, device):
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        with torch.enable_grad():
            logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        total_loss += loss.item() * len(yb)
        correct += (logits.argmax(dim=1) == yb).sum().item()
        count += len(yb)
    return total_loss / count, correct / count
