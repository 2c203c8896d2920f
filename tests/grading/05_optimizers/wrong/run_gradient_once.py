"""run_optimizer computes the gradient once, at the start, and reuses it at every step.

Loses: test_run hidden_run
Says: the gradient was computed once
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_run
def run_optimizer(make_optimizer, grad_fn, start, steps):
    p = np.array(start, dtype=float)
    opt = make_optimizer([p])
    g = grad_fn(p)
    path = [p.copy()]
    for _ in range(steps):
        opt.step([g])
        path.append(p.copy())
    return np.array(path)
