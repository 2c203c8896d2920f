"""Correct code that prints progress, warns and writes to stderr.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
import sys
import warnings


def train_one_epoch(model, loss_fn, optimizer, loader, device):
    model.train()
    total_loss, correct, count = 0.0, 0, 0
    for k, (xb, yb) in enumerate(loader):
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        print(f"batch {k}: loss {loss.item():.4f}")
        total_loss += loss.item() * len(yb)
        correct += (logits.argmax(dim=1) == yb).sum().item()
        count += len(yb)
    warnings.warn("epoch finished", UserWarning)
    return total_loss / count, correct / count

# %% answer_evaluate
def evaluate(model, loss_fn, loader, device):
    print("evaluating", file=sys.stderr)
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            total_loss += loss_fn(logits, yb).item() * len(yb)
            correct += (logits.argmax(dim=1) == yb).sum().item()
            count += len(yb)
    return total_loss / count, correct / count

# %% answer_toy
def train_toy_model(train_loader, test_loader, epochs, device="cpu"):
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 2)).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    history = {"train_loss": [], "train_accuracy": [], "test_loss": [], "test_accuracy": []}
    for epoch in range(epochs):
        train_loss, train_acc = train_one_epoch(model, loss_fn, optimizer, train_loader, device)
        test_loss, test_acc = evaluate(model, loss_fn, test_loader, device)
        print(f"epoch {epoch}: {train_loss:.3f} {test_acc:.2%}")
        print("debug", file=sys.stderr)
        history["train_loss"].append(train_loss)
        history["train_accuracy"].append(train_acc)
        history["test_loss"].append(test_loss)
        history["test_accuracy"].append(test_acc)
    return model, history
