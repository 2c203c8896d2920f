"""Other correct styles: model.zero_grad(), set_to_none=False, inference_mode, enumerate, SGD momentum.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_one_epoch(model, loss_fn, optimizer, loader, device):
    model.train(True)
    sums = {"loss": 0.0, "correct": 0, "seen": 0}
    for i, batch in enumerate(loader):
        inputs, targets = (t.to(device) for t in batch)
        model.zero_grad(set_to_none=False)
        outputs = model(inputs)
        batch_loss = loss_fn(outputs, targets)
        batch_loss.backward()
        optimizer.step()
        n = targets.shape[0]
        sums["loss"] += batch_loss.detach().item() * n
        sums["correct"] += int(torch.sum(torch.argmax(outputs.detach(), 1) == targets))
        sums["seen"] += n
    return sums["loss"] / sums["seen"], sums["correct"] / sums["seen"]

# %% answer_evaluate
@torch.inference_mode()
def evaluate(model, loss_fn, loader, device):
    model.train(False)
    losses, sizes, hits = [], [], []
    for xb, yb in loader:
        xb = xb.to(device)
        yb = yb.to(device)
        out = model(xb)
        losses.append(float(loss_fn(out, yb)))
        sizes.append(len(xb))
        hits.append(int((out.argmax(-1) == yb).sum()))
    n = sum(sizes)
    return sum(l * s for l, s in zip(losses, sizes)) / n, sum(hits) / n

# %% answer_toy
def train_toy_model(train_loader, test_loader, epochs, device="cpu"):
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 2))
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    history = dict(train_loss=[], train_accuracy=[], test_loss=[], test_accuracy=[])
    epoch = 0
    while epoch < epochs:
        tl, ta = train_one_epoch(model, criterion, optimizer, train_loader, device)
        vl, va = evaluate(model, criterion, test_loader, device)
        history["train_loss"] += [tl]
        history["train_accuracy"] += [ta]
        history["test_loss"] += [vl]
        history["test_accuracy"] += [va]
        epoch += 1
    return model, history
