"""The moons are trained for only 100 epochs: the loss falls, but the accuracy stays near 95%.

Loses: hidden_settings
Says: train longer
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_settings
xor_settings = {"n_hidden": 8, "lr": 1.0, "epochs": 500}
moons_settings = {"n_hidden": 16, "lr": 1.0, "epochs": 100}
