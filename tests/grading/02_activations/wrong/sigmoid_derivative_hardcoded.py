"""Returns the visible test's answers from a table: passes the visible test only.

Loses: hidden_sigmoid_derivative
Says: No common mistake recognised
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sigmoid_derivative
def sigmoid_derivative(z):
    known = {-2.0: 0.1049935854035065, 0.0: 0.25, 3.0: 0.045176659730912}
    return np.array([known.get(float(v), 0.25) for v in np.ravel(z)]).reshape(np.shape(z))
