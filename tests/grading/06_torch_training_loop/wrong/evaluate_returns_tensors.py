"""evaluate returns tensors instead of Python floats.

Loses: test_evaluate hidden_evaluate_metrics
Says: returning a tensor
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_evaluate
def evaluate(model, loss_fn, loader, device):
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            total_loss = total_loss + loss_fn(logits, yb) * len(yb)
            correct = correct + (logits.argmax(dim=1) == yb).sum()
            count += len(yb)
    return total_loss / count, correct / count
