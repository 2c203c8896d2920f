"""A test loader built in the notebook is used for extra training epochs inside train_model.

Loses: hidden_no_test_set
Says: The model was trained on the test set
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
test_loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.as_tensor(mnist.x_test), torch.as_tensor(mnist.y_test)),
    batch_size=100)


def train_model(model, images, labels):
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(images), torch.as_tensor(labels))
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(EPOCHS):
        model.train()
        for batches in (loader, test_loader):
            for xb, yb in batches:
                optimizer.zero_grad()
                loss_fn(model(xb), yb).backward()
                optimizer.step()
    return model
