"""predict returns a Python list of the predicted digits instead of a NumPy array.

Loses: test_predict hidden_predict
Says: expected a NumPy array of labels
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(model, images):
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(images))
    return logits.argmax(dim=1).tolist()
