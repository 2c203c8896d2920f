"""A cautious learning rate of 0.01 for both data sets: XOR is not learned within 1000 epochs.

Loses: test_settings hidden_settings
Says: too small a learning rate
Says: with a larger learning rate
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_settings
xor_settings = {"n_hidden": 4, "lr": 0.01, "epochs": 1000}
moons_settings = {"n_hidden": 16, "lr": 0.01, "epochs": 1000}
