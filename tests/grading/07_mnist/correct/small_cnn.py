"""A small CNN (with nn.Unflatten), SGD with momentum, batches of 128, predict in chunks.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_model
def build_model():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )

# %% answer_train
def train_model(model, images, labels):
    x = torch.from_numpy(np.asarray(images, dtype=np.float32))
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128,
                                         shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(EPOCHS):
        for xb, yb in loader:
            optimizer.zero_grad()
            criterion(model(xb), yb).backward()
            optimizer.step()
    return model

# %% answer_predict
def predict(model, images):
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), 256):
            chunk = torch.tensor(images[start:start + 256], device=device)
            out.append(model(chunk).argmax(1).cpu().numpy())
    return np.concatenate(out)
