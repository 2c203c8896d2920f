"""train_model uses plain SGD with lr = 1e-4: the model hardly moves in the epochs it has.

Loses: test_train hidden_train_data hidden_accuracy
Says: the learning rate is far too small
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_model(model, images, labels):
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(images), torch.as_tensor(labels))
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    for _ in range(EPOCHS):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    return model
