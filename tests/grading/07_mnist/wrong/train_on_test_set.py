"""train_model adds the test set to the training data, for "more data".

Loses: hidden_no_test_set
Says: The model was trained on the test set
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_model(model, images, labels):
    all_images = np.concatenate([images, mnist.x_test])
    all_labels = np.concatenate([labels, mnist.y_test])
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(all_images),
                                             torch.as_tensor(all_labels))
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
