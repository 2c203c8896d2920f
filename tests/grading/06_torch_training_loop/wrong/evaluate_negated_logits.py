"""evaluate negates the model's outputs (logits = -model(xb)): loss and accuracy are those of
the opposite classifier.

Loses: hidden_evaluate_metrics test_evaluate
Says: the outputs were negated
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
            logits = -model(xb)
            total_loss += loss_fn(logits, yb).item() * len(yb)
            correct += (logits.argmax(dim=1) == yb).sum().item()
            count += len(yb)
    return total_loss / count, correct / count
