"""predict takes the argmax over the images (dim 0) instead of over the classes.

Loses: test_predict hidden_predict
Says: the argmax was taken over the wrong axis
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(model, images):
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(images)).argmax(dim=0).numpy()
