"""predict returns a torch tensor instead of a NumPy array.

Loses: test_predict hidden_predict
Says: convert at the end with .cpu().numpy()
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(model, images):
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(images)).argmax(dim=1)
