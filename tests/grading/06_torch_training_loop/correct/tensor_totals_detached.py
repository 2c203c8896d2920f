"""Correct code that accumulates detached tensors and converts them at the end; numpy history.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_one_epoch(model, loss_fn, optimizer, loader, device):
    model.train()
    total = torch.zeros(())
    hits = torch.zeros((), dtype=torch.long)
    n = 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad(set_to_none=True)
        out = model(xb)
        loss = loss_fn(out, yb)
        loss.backward()
        optimizer.step()
        total += loss.detach() * yb.numel()
        hits += (out.detach().argmax(1) == yb).sum()
        n += yb.numel()
    return (total / n).item(), hits.item() / n

# %% answer_evaluate
def evaluate(model, loss_fn, loader, device):
    was = model.training
    model.eval()
    total, hits, n = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            total += loss_fn(out, yb).item() * len(yb)
            hits += (out.argmax(1) == yb).sum().item()
            n += len(yb)
    return float(total / n), float(hits / n)

# %% answer_toy
def train_toy_model(train_loader, test_loader, epochs, device="cpu"):
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 2)).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    rows = []
    for _ in range(epochs):
        rows.append(train_one_epoch(model, loss_fn, optimizer, train_loader, device)
                    + evaluate(model, loss_fn, test_loader, device))
    table = np.array(rows)
    history = {"train_loss": table[:, 0], "train_accuracy": table[:, 1],
               "test_loss": table[:, 2], "test_accuracy": table[:, 3]}
    return model, history
