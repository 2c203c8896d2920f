"""train_toy_model trains a single linear layer, whose straight boundary cannot follow the moons.

Loses: test_toy hidden_toy
Says: a model that can only draw a straight boundary
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_toy
def train_toy_model(train_loader, test_loader, epochs, device="cpu"):
    model = nn.Linear(2, 2).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    history = {"train_loss": [], "train_accuracy": [], "test_loss": [], "test_accuracy": []}
    for _ in range(epochs):
        loss, acc = train_one_epoch(model, loss_fn, optimizer, train_loader, device)
        test_loss, test_acc = evaluate(model, loss_fn, test_loader, device)
        history["train_loss"].append(loss)
        history["train_accuracy"].append(acc)
        history["test_loss"].append(test_loss)
        history["test_accuracy"].append(test_acc)
    return model, history
