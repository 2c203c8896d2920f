"""run_optimizer appends p itself, so every row of the path is the last point.

Loses: test_run hidden_run
Says: every row is the last point
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_run
def run_optimizer(make_optimizer, grad_fn, start, steps):
    p = np.array(start, dtype=float)
    opt = make_optimizer([p])
    path = [p]
    for _ in range(steps):
        opt.step([grad_fn(p)])
        path.append(p)
    return np.array(path)
