"""run_optimizer works on start itself (np.asarray), changing the caller's array and failing on integers.

Loses: hidden_run
Says: start was changed
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_run
def run_optimizer(make_optimizer, grad_fn, start, steps):
    p = np.asarray(start)
    opt = make_optimizer([p])
    path = [p.copy()]
    for _ in range(steps):
        opt.step([grad_fn(p)])
        path.append(p.copy())
    return np.array(path)
