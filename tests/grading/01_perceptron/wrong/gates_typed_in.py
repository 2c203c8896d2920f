"""The gate results are typed in by hand (from another run) instead of computed.

Loses: hidden_gates
Says: store exactly what train_perceptron returns
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_gates
results = {
    "AND": (np.array([1.0, 1.0]), -2.0, 4, True),
    "OR": (np.array([1.0, 1.0]), -1.0, 3, True),
    "XOR": (np.array([-1.0, 0.0]), 0.0, 100, False),
}
