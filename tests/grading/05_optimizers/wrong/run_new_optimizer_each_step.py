"""run_optimizer creates a new optimiser in every step, losing its state.

Loses: test_run hidden_run
Says: create the optimiser once, before the loop
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_run
def run_optimizer(make_optimizer, grad_fn, start, steps):
    p = np.array(start, dtype=float)
    path = [p.copy()]
    for _ in range(steps):
        make_optimizer([p]).step([grad_fn(p)])
        path.append(p.copy())
    return np.array(path)
