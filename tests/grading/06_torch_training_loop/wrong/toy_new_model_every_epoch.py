"""train_toy_model builds a new model and optimiser inside the loop over the epochs.

Loses: test_toy hidden_toy
Says: build the model once, before the loop
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_toy
def train_toy_model(train_loader, test_loader, epochs, device="cpu"):
    history = {"train_loss": [], "train_accuracy": [], "test_loss": [], "test_accuracy": []}
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2)).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
        loss, acc = train_one_epoch(model, loss_fn, optimizer, train_loader, device)
        test_loss, test_acc = evaluate(model, loss_fn, test_loader, device)
        history["train_loss"].append(loss)
        history["train_accuracy"].append(acc)
        history["test_loss"].append(test_loss)
        history["test_accuracy"].append(test_acc)
    return model, history
