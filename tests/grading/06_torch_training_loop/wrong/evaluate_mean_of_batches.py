"""evaluate averages the batch losses and accuracies over batches, not samples.

Loses: test_evaluate hidden_evaluate_metrics
Says: the loss was averaged over batches
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_evaluate
def evaluate(model, loss_fn, loader, device):
    model.eval()
    losses, accuracies = [], []
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            losses.append(loss_fn(logits, yb).item())
            accuracies.append((logits.argmax(dim=1) == yb).float().mean().item())
    return float(np.mean(losses)), float(np.mean(accuracies))
