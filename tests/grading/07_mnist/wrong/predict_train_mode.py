"""predict forgets model.eval(), so dropout makes the predictions noisy.

Loses: test_predict hidden_predict
Says: call model.eval() before predicting
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
def predict(model, images):
    with torch.no_grad():
        logits = model(torch.as_tensor(images))
    return logits.argmax(dim=1).numpy()
