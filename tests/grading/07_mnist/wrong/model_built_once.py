"""build_model returns one model built once at module level, the same object at every call.

Loses: hidden_model
Says: build a new one inside build_model()
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_model
the_model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def build_model():
    return the_model
