"""race_settings gives Adam lr = 0.02: its steps of about lr cannot cover the way in 150 steps.

Loses: test_race hidden_race
Says: too small to arrive
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_race
race_settings = {
    "sgd": {"lr": 0.1},
    "momentum": {"lr": 0.1, "momentum": 0.5},
    "adam": {"lr": 0.02},
}
