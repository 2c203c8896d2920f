"""race_settings keeps Lesson 7's learning rate 0.1 for Adam, too small to arrive in 100 steps.

Loses: test_race hidden_race
Says: too small to arrive
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_race
race_settings = {
    "sgd": {"lr": 0.1},
    "momentum": {"lr": 0.1, "momentum": 0.5},
    "adam": {"lr": 0.1},
}
