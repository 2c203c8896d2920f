"""Correct code that prints progress, warns, writes to stderr and handles a device.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_model
import sys
import warnings


def build_model():
    print("building an MLP")
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))

# %% answer_train
def train_model(model, images, labels):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(images), torch.as_tensor(labels))
    loader = torch.utils.data.DataLoader(dataset, batch_size=100, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        model.train()
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        print(f"epoch {epoch + 1}: loss {total / len(dataset):.4f}")
        print("progress", file=sys.stderr)
    warnings.warn("training finished", UserWarning)
    return model

# %% answer_predict
def predict(model, images):
    warnings.warn("predicting", UserWarning)
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(images, device=next(model.parameters()).device))
    print(f"predicted {len(images)} images", file=sys.stderr)
    return logits.argmax(dim=1).cpu().numpy()

# %% answer_architectures
"""I compared an MLP 784-256-10 (203,530 parameters, 93% on the sample in 2 s) with a small
CNN (about 20,000 parameters, 96% in 15 s). I would take the CNN: its filters are shared over
the image, so it needs fewer weights and generalises better; the MLP is faster to train."""
