"""build_model returns the state_dict of a new network instead of the network itself.

Loses: test_model hidden_model test_train hidden_train_data hidden_accuracy hidden_no_test_set
Says: a state_dict
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_model
def build_model():
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    return net.state_dict()
