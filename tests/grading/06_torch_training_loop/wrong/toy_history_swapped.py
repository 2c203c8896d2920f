"""train_toy_model stores the test numbers under the train keys and the other way round.

Loses: test_toy hidden_toy
Says: holds the values of another key
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_toy
def train_toy_model(train_loader, test_loader, epochs, device="cpu"):
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 2)).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    history = {"train_loss": [], "train_accuracy": [], "test_loss": [], "test_accuracy": []}
    for _ in range(epochs):
        train_result = train_one_epoch(model, loss_fn, optimizer, train_loader, device)
        test_result = evaluate(model, loss_fn, test_loader, device)
        history["train_loss"].append(test_result[0])
        history["train_accuracy"].append(test_result[1])
        history["test_loss"].append(train_result[0])
        history["test_accuracy"].append(train_result[1])
    return model, history
