"""predict returns the softmax probabilities instead of the predicted digits.

Loses: test_predict hidden_predict
Says: instead of their argmax
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(model, images):
    model.eval()
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(images)), dim=1).numpy()
