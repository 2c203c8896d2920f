"""race_settings gives SGD lr = 0.4, above the limit 1/3 where the y direction diverges.

Loses: test_race hidden_race
Says: the run diverges
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_race
race_settings = {
    "sgd": {"lr": 0.4},
    "momentum": {"lr": 0.1, "momentum": 0.5},
    "adam": {"lr": 0.5},
}
