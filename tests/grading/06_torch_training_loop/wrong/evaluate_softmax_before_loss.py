"""evaluate applies a softmax to the outputs before CrossEntropyLoss, which applies log-softmax
itself: the loss it reports is wrong (the accuracy is not).

Loses: hidden_evaluate_metrics test_evaluate
Says: a softmax was applied before the loss
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
            probabilities = torch.softmax(model(xb), dim=1)
            total_loss += loss_fn(probabilities, yb).item() * len(yb)
            correct += (probabilities.argmax(dim=1) == yb).sum().item()
            count += len(yb)
    return total_loss / count, correct / count
