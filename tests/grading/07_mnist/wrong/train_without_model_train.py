"""train_model never calls model.train(): a model that comes in eval mode trains without dropout.

Loses: test_train hidden_train_data
Says: model.train() is missing at the start of the epoch loop
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_model(model, images, labels):
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(images), torch.as_tensor(labels))
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(EPOCHS):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
    return model
