"""Other correct formulas: v = mu v - g with p += lr v, PyTorch's Adam step-size form, a list path.

Loses nothing.
"""
# Student code, run as notebook cells (names come from earlier cells): not linted.
# ruff: noqa

# %% answer_sgd
class SGD:
    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def step(self, grads):
        for p, g in zip(self.params, grads):
            np.subtract(p, self.lr * g, out=p)

# %% answer_momentum
class Momentum:
    def __init__(self, params, lr, momentum=0.9):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.buffers = None

    def step(self, grads):
        if self.buffers is None:
            self.buffers = [np.zeros_like(p) for p in self.params]
        for p, b, g in zip(self.params, self.buffers, grads):
            b[...] = self.momentum * b - g  # the velocity with the opposite sign
            p += self.lr * b

# %% answer_adam
class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.lr = lr
        self.betas = tuple(betas)
        self.eps = eps
        self.step_count = 0
        self.exp_avg = [np.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [np.zeros_like(p) for p in self.params]

    def step(self, grads):
        beta1, beta2 = self.betas
        self.step_count += 1
        correction1 = 1 - beta1 ** self.step_count
        correction2 = 1 - beta2 ** self.step_count
        step_size = self.lr / correction1
        for p, m, v, g in zip(self.params, self.exp_avg, self.exp_avg_sq, grads):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * np.square(g)
            denom = np.sqrt(v) / np.sqrt(correction2) + self.eps
            p -= step_size * m / denom

# %% answer_run
def run_optimizer(make_optimizer, grad_fn, start, steps):
    p = np.asarray(start, dtype=np.float64).copy()
    opt = make_optimizer([p])
    path = [list(p)]
    for _ in range(steps):
        grad = grad_fn(p)
        opt.step([grad])
        path.append(list(p))
    return path

# %% answer_race
race_settings = {
    "sgd": {"lr": 0.25},
    "momentum": {"lr": 0.05, "momentum": 0.5},
    "adam": {"lr": 0.5},
}
