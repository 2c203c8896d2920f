"""train_model trains on mnist.x_train / mnist.y_train instead of the arrays it is given.

Loses: hidden_train_data
Says: use the images and labels passed to it
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_model(model, images, labels):
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(mnist.x_train),
                                             torch.as_tensor(mnist.y_train))
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(EPOCHS):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    return model
