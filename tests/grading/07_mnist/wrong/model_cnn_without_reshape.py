"""build_model is a CNN that expects (N, 1, 28, 28) images and fails on the flat rows.

Loses: test_model hidden_model test_train hidden_train_data hidden_accuracy hidden_no_test_set
Says: a CNN must reshape them itself
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_model
def build_model():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
