"""predict runs the model with gradient tracking on.

Loses: test_predict hidden_predict
Says: with torch.no_grad()
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(model, images):
    model.eval()
    logits = model(torch.as_tensor(images))
    return logits.argmax(dim=1).detach().numpy()
