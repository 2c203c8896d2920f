"""race_settings uses momentum 0.95, which overshoots and is still circling after 150 steps.

Loses: test_race hidden_race
Says: momentum too close to 1
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_race
race_settings = {
    "sgd": {"lr": 0.1},
    "momentum": {"lr": 0.1, "momentum": 0.95},
    "adam": {"lr": 0.3},
}
