"""predict takes the right argmax but returns the labels as floats (.float() before .numpy()).

Loses: test_predict hidden_predict
Says: the labels are right in value but floats
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(model, images):
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(images)).argmax(dim=1).float().numpy()
