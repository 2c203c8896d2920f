"""predict hands the threshold to nnlib.functional.step instead of writing it.

Loses: test_predict hidden_predict
Says: calling a library function
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_predict
from nnlib.functional import step


def predict(w, b, X):
    return step(X @ w + b)
