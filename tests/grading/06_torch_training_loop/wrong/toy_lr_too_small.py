"""train_toy_model uses plain SGD with lr = 0.001: after 20 epochs the model has hardly moved.

Loses: test_toy hidden_toy
Says: a learning rate too small
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_toy
def train_toy_model(train_loader, test_loader, epochs, device="cpu"):
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2)).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    history = {key: [] for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")}
    for _ in range(epochs):
        loss, acc = train_one_epoch(model, loss_fn, optimizer, train_loader, device)
        test_loss, test_acc = evaluate(model, loss_fn, test_loader, device)
        for key, value in zip(history, (loss, acc, test_loss, test_acc)):
            history[key].append(value)
    return model, history
