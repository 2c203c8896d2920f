"""nnlib.optim against torch.optim and torch.optim.lr_scheduler in float64.

Both libraries get the same initial parameters and the same sequence of gradients; after
every step the parameters (and learning rates) must agree to a relative error of 1e-7.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import nn, optim

RTOL = 1e-7
ATOL = 1e-12
FAST = settings(max_examples=30, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)
SHAPE_LISTS = st.lists(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), min_size=1, max_size=3)
# Tiny tensors: threads only add overhead (and contend with a parallel test run).
torch.set_num_threads(1)


def make_params(shapes, seed):
    """The same initial values as nnlib Parameters and torch Parameters."""
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s) for s in shapes]
    ours = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.nn.Parameter(torch.tensor(a.copy())) for a in init]
    return ours, theirs, rng


def set_grads(ours, theirs, grads) -> None:
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad = None if g is None else g.copy()
        q.grad = None if g is None else torch.tensor(g.copy())


def assert_params_match(ours, theirs) -> None:
    for p, q in zip(ours, theirs, strict=True):
        assert p.data.shape == tuple(q.shape)
        assert p.data.dtype == np.float64
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=RTOL, atol=ATOL)


def run_both(ours_opt, torch_opt, ours, theirs, rng, n_steps, grad_scale=1.0):
    """n_steps of fresh random gradients; compare the parameters after each step."""
    for _ in range(n_steps):
        set_grads(ours, theirs, [grad_scale * rng.normal(size=p.shape) for p in ours])
        ours_opt.step()
        torch_opt.step()
        assert_params_match(ours, theirs)


@FAST
@given(
    shapes=SHAPE_LISTS,
    lr=st.floats(1e-3, 1.0),
    momentum=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
    nesterov=st.booleans(),
    weight_decay=st.sampled_from([0.0, 1e-4, 0.01, 0.3]),
    n_steps=st.integers(1, 6),
    seed=SEEDS,
)
def test_sgd_matches_torch(shapes, lr, momentum, nesterov, weight_decay, n_steps, seed):
    nesterov = nesterov and momentum > 0
    ours, theirs, rng = make_params(shapes, seed)
    kwargs = {"lr": lr, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay}
    run_both(
        optim.SGD(ours, **kwargs), torch.optim.SGD(theirs, **kwargs), ours, theirs, rng, n_steps
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
        {"weight_decay": 0.1},
        {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05},
    ],
    ids=["plain", "momentum", "nesterov", "weight_decay", "all"],
)
def test_sgd_variants_match_torch_over_many_steps(kwargs):
    ours, theirs, rng = make_params([(3, 4), (4,)], seed=0)
    run_both(
        optim.SGD(ours, lr=0.05, **kwargs),
        torch.optim.SGD(theirs, lr=0.05, **kwargs),
        ours,
        theirs,
        rng,
        n_steps=20,
    )


@FAST
@given(
    shapes=SHAPE_LISTS,
    lr=st.floats(1e-3, 1.0),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    dampening=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.3]),
    nesterov=st.booleans(),
    maximize=st.booleans(),
    n_steps=st.integers(1, 6),
    seed=SEEDS,
)
def test_sgd_with_dampening_and_maximize_matches_torch(
    shapes, lr, momentum, dampening, weight_decay, nesterov, maximize, n_steps, seed
):
    if nesterov:  # torch (and nnlib) allow Nesterov only with momentum and no dampening
        momentum, dampening = max(momentum, 0.5), 0.0
    ours, theirs, rng = make_params(shapes, seed)
    kwargs = {
        "lr": lr,
        "momentum": momentum,
        "dampening": dampening,
        "weight_decay": weight_decay,
        "nesterov": nesterov,
        "maximize": maximize,
    }
    run_both(
        optim.SGD(ours, **kwargs), torch.optim.SGD(theirs, **kwargs), ours, theirs, rng, n_steps
    )


@pytest.mark.parametrize(
    "args",
    [(0.1, 0.9, 0.5), (0.1, 0.9, 0.0, 0.01, True), (0.05, 0.5, 0.2, 0.1), (0.1,), ()],
    ids=["dampening", "nesterov", "weight_decay", "lr", "defaults"],
)
def test_sgd_positional_arguments_mean_what_they_mean_in_torch(args):
    ours, theirs, rng = make_params([(3, 4), (4,)], seed=1)
    run_both(optim.SGD(ours, *args), torch.optim.SGD(theirs, *args), ours, theirs, rng, 10)


def test_sgd_signature_is_torchs_for_what_it_supports():
    ours = inspect.signature(optim.SGD).parameters
    theirs = inspect.signature(torch.optim.SGD).parameters
    assert list(ours) == list(theirs)[: len(ours)]
    for name, param in ours.items():
        assert param.kind == theirs[name].kind, name
        if name != "params":
            assert param.default == theirs[name].default, name
    assert ours["maximize"].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(TypeError):
        optim.SGD(make_params([(2,)], 0)[0], 0.1, 0.9, 0.0, 0.0, False, True)


@pytest.mark.parametrize(
    "kwargs",
    [{"nesterov": True}, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}],
    ids=["no-momentum", "dampening"],
)
def test_sgd_rejects_nesterov_without_momentum_or_with_dampening_like_torch(kwargs):
    ours, theirs, _ = make_params([(2,)], seed=0)
    with pytest.raises(ValueError, match="nesterov=True needs a momentum > 0 and dampening=0"):
        optim.SGD(ours, lr=0.1, **kwargs)
    with pytest.raises(ValueError, match="Nesterov"):
        torch.optim.SGD(theirs, lr=0.1, **kwargs)


def test_plain_sgd_step_is_p_minus_lr_times_grad():
    p = nn.Parameter(np.array([1.0, -2.0, 3.0]))
    p.grad = np.array([0.5, 0.5, -1.0])
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.05, 3.1], rtol=1e-15)


@FAST
@given(
    shapes=SHAPE_LISTS,
    lr=st.floats(1e-4, 0.1),
    betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99), (0.95, 0.0)]),
    eps=st.sampled_from([1e-8, 1e-6, 1e-3]),
    weight_decay=st.sampled_from([0.0, 1e-4, 0.01, 0.5]),
    n_steps=st.integers(1, 8),
    grad_scale=st.sampled_from([1e-4, 1.0, 100.0]),
    seed=SEEDS,
)
def test_adam_matches_torch(shapes, lr, betas, eps, weight_decay, n_steps, grad_scale, seed):
    ours, theirs, rng = make_params(shapes, seed)
    kwargs = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
    run_both(
        optim.Adam(ours, **kwargs),
        torch.optim.Adam(theirs, **kwargs),
        ours,
        theirs,
        rng,
        n_steps,
        grad_scale,
    )


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_defaults_match_torch_over_many_steps(weight_decay):
    ours, theirs, rng = make_params([(5, 3), (5,)], seed=1)
    run_both(
        optim.Adam(ours, weight_decay=weight_decay),
        torch.optim.Adam(theirs, weight_decay=weight_decay),
        ours,
        theirs,
        rng,
        n_steps=30,
    )


def test_adam_first_step_moves_each_entry_by_about_lr():
    """Bias correction: the very first Adam step is lr * sign(g) (up to eps)."""
    p = nn.Parameter(np.zeros(4))
    p.grad = np.array([3.0, -0.001, 250.0, -7.0])
    optim.Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.data, [-0.01, 0.01, -0.01, 0.01], rtol=1e-4)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: (
            optim.SGD(ps[0], lr=0.1, momentum=0.9),
            torch.optim.SGD(ps[1], lr=0.1, momentum=0.9),
        ),
        lambda ps: (
            optim.Adam(ps[0], lr=0.01, weight_decay=0.1),
            torch.optim.Adam(ps[1], lr=0.01, weight_decay=0.1),
        ),
    ],
    ids=["sgd_momentum", "adam"],
)
def test_parameters_with_grad_none_are_skipped_like_torch(make):
    """A parameter without a gradient keeps its value and its optimizer state."""
    ours, theirs, rng = make_params([(2, 3), (3,), (4,)], seed=2)
    ours_opt, torch_opt = make((ours, theirs))
    frozen = ours[2].data.copy()
    pattern = [(1, 1, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0), (1, 0, 0)]  # 1: has a gradient
    for has_grad in pattern:
        grads = [
            rng.normal(size=p.shape) if h else None for p, h in zip(ours, has_grad, strict=True)
        ]
        set_grads(ours, theirs, grads)
        ours_opt.step()
        torch_opt.step()
        assert_params_match(ours, theirs)
    np.testing.assert_array_equal(ours[2].data, frozen)
    assert ours_opt.state.get(ours[2], {}) == {}  # torch: state is keyed by parameter


def test_optimizer_zero_grad_sets_grads_to_none_and_then_step_changes_nothing():
    model = nn.Sequential(nn.Linear(3, 2, rng=0, dtype=np.float64))
    model(np.ones((4, 3)))
    model.backward(np.ones((4, 2)))
    opt = optim.Adam(model.parameters(), lr=0.1)
    assert all(p.grad is not None for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    before = [p.data.copy() for p in model.parameters()]
    opt.step()
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)
    assert all(s == {} for s in opt.state)


# ---------------------------------------------------------------- learning-rate schedules


def torch_sgd(lr: float):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=lr)


def ours_sgd(lr: float):
    return optim.SGD([nn.Parameter(np.zeros(1))], lr=lr)


def assert_schedules_match(ours_sched, torch_sched, torch_opt, ours_opt, n_epochs, base_lr):
    assert ours_sched.get_last_lr() == torch_sched.get_last_lr() == [base_lr]
    for epoch in range(1, n_epochs + 1):
        torch_opt.step()  # torch wants optimizer.step() before scheduler.step()
        ours_opt.step()
        torch_sched.step()
        ours_sched.step()
        expected = torch_opt.param_groups[0]["lr"]
        np.testing.assert_allclose(
            ours_opt.param_groups[0]["lr"],
            expected,
            rtol=RTOL,
            atol=1e-12 * base_lr,
            err_msg=f"epoch {epoch}",
        )
        last, last_t = ours_sched.get_last_lr(), torch_sched.get_last_lr()
        assert isinstance(last, list) and len(last) == len(last_t) == 1  # one per group, as torch
        np.testing.assert_allclose(last, last_t, rtol=RTOL, atol=1e-12 * base_lr)


@FAST
@given(
    base_lr=st.floats(1e-3, 1.0),
    step_size=st.integers(1, 5),
    gamma=st.sampled_from([0.1, 0.5, 0.9, 1.0]),
    n_epochs=st.integers(1, 20),
)
def test_step_lr_matches_torch(base_lr, step_size, gamma, n_epochs):
    ours_opt, torch_opt = ours_sgd(base_lr), torch_sgd(base_lr)
    ours_sched = optim.StepLR(ours_opt, step_size=step_size, gamma=gamma)
    torch_sched = torch.optim.lr_scheduler.StepLR(torch_opt, step_size=step_size, gamma=gamma)
    assert_schedules_match(ours_sched, torch_sched, torch_opt, ours_opt, n_epochs, base_lr)


@FAST
@given(
    base_lr=st.floats(1e-3, 1.0),
    t_max=st.integers(1, 25),
    eta_min=st.sampled_from([0.0, 1e-5, 1e-4]),
)
def test_cosine_annealing_lr_matches_torch_up_to_t_max(base_lr, t_max, eta_min):
    ours_opt, torch_opt = ours_sgd(base_lr), torch_sgd(base_lr)
    ours_sched = optim.CosineAnnealingLR(ours_opt, T_max=t_max, eta_min=eta_min)
    torch_sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        torch_opt, T_max=t_max, eta_min=eta_min
    )
    assert_schedules_match(ours_sched, torch_sched, torch_opt, ours_opt, t_max, base_lr)
    np.testing.assert_allclose(ours_opt.param_groups[0]["lr"], eta_min, atol=1e-12)


def test_cosine_annealing_lr_matches_torch_after_t_max():
    """torch's closed form keeps following the cosine after T_max (the lr rises again)."""
    ours_opt, torch_opt = ours_sgd(0.1), torch_sgd(0.1)
    ours_sched = optim.CosineAnnealingLR(ours_opt, T_max=4, eta_min=0.001)
    torch_sched = torch.optim.lr_scheduler.CosineAnnealingLR(torch_opt, T_max=4, eta_min=0.001)
    assert_schedules_match(ours_sched, torch_sched, torch_opt, ours_opt, 12, 0.1)


def test_schedulers_drive_the_sgd_updates_like_torch():
    ours, theirs, rng = make_params([(3, 2), (2,)], seed=4)
    ours_opt = optim.SGD(ours, lr=0.2, momentum=0.9)
    torch_opt = torch.optim.SGD(theirs, lr=0.2, momentum=0.9)
    ours_sched = optim.StepLR(ours_opt, step_size=2, gamma=0.5)
    torch_sched = torch.optim.lr_scheduler.StepLR(torch_opt, step_size=2, gamma=0.5)
    for _ in range(7):
        run_both(ours_opt, torch_opt, ours, theirs, rng, n_steps=3)
        ours_sched.step()
        torch_sched.step()
    np.testing.assert_allclose(ours_opt.param_groups[0]["lr"], 0.2 * 0.5**3)

    ours_opt = optim.Adam(ours, lr=0.05)
    torch_opt = torch.optim.Adam(theirs, lr=0.05)
    ours_sched = optim.CosineAnnealingLR(ours_opt, T_max=5)
    torch_sched = torch.optim.lr_scheduler.CosineAnnealingLR(torch_opt, T_max=5)
    for _ in range(5):
        run_both(ours_opt, torch_opt, ours, theirs, rng, n_steps=2)
        ours_sched.step()
        torch_sched.step()
