"""train_model walks the images in the same order in every epoch (a hand-made batch loop).

Loses: test_train hidden_train_data
Says: the DataLoader needs shuffle=True
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_train
def train_model(model, images, labels):
    x, y = torch.as_tensor(images), torch.as_tensor(labels)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(EPOCHS):
        model.train()
        for start in range(0, len(x), 100):
            optimizer.zero_grad()
            loss = loss_fn(model(x[start:start + 100]), y[start:start + 100])
            loss.backward()
            optimizer.step()
    return model
