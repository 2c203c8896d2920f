"""nnlib.layers and nnlib.nn against torch in float64: forward values and every backward.

Modules get torch's weights through load_state_dict, so forward outputs, parameter
gradients and input gradients can be compared entry by entry with torch autograd.
Also covered: gradient accumulation, zero_grad, train()/eval() and dropout, seeding,
initialisation, and state_dict names and round trips.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch_compare import assert_close, to_np

import nnlib
from nnlib import layers, nn

FAST = settings(max_examples=25, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)
SIZES = st.integers(1, 6)
# Tiny tensors: threads only add overhead (and contend with a parallel test run).
torch.set_num_threads(1)


def tt(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def nonzero_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """Standard normal values pushed away from 0, so ReLU kinks are never hit."""
    z = rng.normal(size=shape)
    return np.where(np.abs(z) < 1e-3, 1e-3, z)


def copy_torch_weights(model: nn.Module, torch_model: torch.nn.Module) -> None:
    model.load_state_dict({k: to_np(v).copy() for k, v in torch_model.state_dict().items()})


def assert_grads_match_torch(model: nn.Module, torch_model: torch.nn.Module) -> None:
    torch_grads = {name: p.grad for name, p in torch_model.named_parameters()}
    ours = dict(model.named_parameters())
    assert list(ours) == list(torch_grads)
    for name, p in ours.items():
        assert p.grad is not None, name
        assert_close(p.grad, torch_grads[name])


# ---------------------------------------------------------------- layers.py (functional pairs)


@FAST
@given(n=SIZES, fin=SIZES, fout=SIZES, bias=st.booleans(), seed=SEEDS)
def test_linear_forward_and_backward_match_torch(n, fin, fout, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, fin))
    w = rng.normal(size=(fout, fin))
    b = rng.normal(size=fout) if bias else None
    dout = rng.normal(size=(n, fout))
    out, cache = layers.linear_forward(x, w, b)
    dx, dw, db = layers.linear_backward(dout, cache)

    xt, wt = tt(x, True), tt(w, True)
    bt = tt(b, True) if bias else None
    out_t = TF.linear(xt, wt, bt)
    inputs = [xt, wt, bt] if bias else [xt, wt]
    grads = torch.autograd.grad(out_t, inputs, tt(dout))
    assert_close(out, out_t)
    assert_close(dx, grads[0])
    assert_close(dw, grads[1])
    if bias:
        assert_close(db, grads[2])
    else:
        assert db is None


ACTIVATION_CASES = {  # id -> (name in functional.ACTIVATIONS, kwargs, torch function)
    "relu": ("relu", {}, torch.relu),
    "sigmoid": ("sigmoid", {}, torch.sigmoid),
    "tanh": ("tanh", {}, torch.tanh),
    "leaky_relu": ("leaky_relu", {}, TF.leaky_relu),
    "leaky_relu(0.3)": ("leaky_relu", {"negative_slope": 0.3}, lambda t: TF.leaky_relu(t, 0.3)),
    "gelu": ("gelu", {}, TF.gelu),
    "gelu(tanh)": ("gelu", {"approximate": "tanh"}, lambda t: TF.gelu(t, approximate="tanh")),
}


@pytest.mark.parametrize("case", list(ACTIVATION_CASES))
@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), seed=SEEDS)
def test_activation_forward_and_backward_match_torch(case, shape, seed):
    name, kwargs, torch_fn = ACTIVATION_CASES[case]
    rng = np.random.default_rng(seed)
    z = 3.0 * nonzero_normal(rng, shape)
    dout = rng.normal(size=shape)
    out, cache = layers.activation_forward(z, name, **kwargs)
    zt = tt(z, True)
    out_t = torch_fn(zt)
    (dz_t,) = torch.autograd.grad(out_t, zt, tt(dout))
    assert_close(out, out_t)
    assert_close(layers.activation_backward(dout, cache), dz_t)


@pytest.mark.parametrize(
    "forward, backward, torch_fn",
    [
        (layers.relu_forward, layers.relu_backward, torch.relu),
        (layers.sigmoid_forward, layers.sigmoid_backward, torch.sigmoid),
        (layers.tanh_forward, layers.tanh_backward, torch.tanh),
    ],
    ids=["relu", "sigmoid", "tanh"],
)
@FAST
@given(n=SIZES, d=SIZES, seed=SEEDS)
def test_named_activation_pairs_match_torch(forward, backward, torch_fn, n, d, seed):
    rng = np.random.default_rng(seed)
    z = 3.0 * nonzero_normal(rng, (n, d))
    dout = rng.normal(size=(n, d))
    out, cache = forward(z)
    zt = tt(z, True)
    out_t = torch_fn(zt)
    (dz_t,) = torch.autograd.grad(out_t, zt, tt(dout))
    assert_close(out, out_t)
    assert_close(backward(dout, cache), dz_t)


@FAST
@given(n=SIZES, d=SIZES, p=st.sampled_from([0.1, 0.5, 0.8]), seed=SEEDS)
def test_dropout_forward_and_backward_use_one_mask(n, d, p, seed):
    rng = np.random.default_rng(seed)
    x = nonzero_normal(rng, (n, d))
    dout = rng.normal(size=(n, d))
    out, mask = layers.dropout_forward(x, p, training=True, rng=np.random.default_rng(seed))
    assert mask.shape == x.shape
    assert set(np.unique(mask)) <= {0.0, 1.0 / (1.0 - p)}
    # torch reference: the same mask applied as a constant
    xt = tt(x, True)
    out_t = xt * tt(mask)
    (dx_t,) = torch.autograd.grad(out_t, xt, tt(dout))
    assert_close(out, out_t)
    assert_close(layers.dropout_backward(dout, mask), dx_t)
    # eval mode (and p = 0) is the identity, forward and backward
    for p_eval, training in ((p, False), (0.0, True)):
        same, cache = layers.dropout_forward(x, p_eval, training, rng)
        assert cache is None
        np.testing.assert_array_equal(same, x)
        np.testing.assert_array_equal(layers.dropout_backward(dout, cache), dout)


@FAST
@given(n=SIZES, c=SIZES, seed=SEEDS)
def test_softmax_cross_entropy_pair_matches_torch(n, c, seed):
    rng = np.random.default_rng(seed)
    z = 4.0 * rng.normal(size=(n, c))
    labels = rng.integers(0, c, size=n)
    loss, cache = layers.softmax_cross_entropy_forward(z, labels)
    zt = tt(z, True)
    loss_t = TF.cross_entropy(zt, torch.tensor(labels))
    (dz_t,) = torch.autograd.grad(loss_t, zt)
    assert_close(loss, loss_t)
    assert_close(layers.softmax_cross_entropy_backward(cache), dz_t)


# ---------------------------------------------------------------- nn modules


@FAST
@given(n=SIZES, fin=SIZES, fout=SIZES, bias=st.booleans(), seed=SEEDS)
def test_linear_module_matches_torch(n, fin, fout, bias, seed):
    torch.manual_seed(seed)
    ref = torch.nn.Linear(fin, fout, bias=bias, dtype=torch.float64)
    lin = nn.Linear(fin, fout, bias=bias, dtype=np.float64, rng=seed)
    copy_torch_weights(lin, ref)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, fin))
    dout = rng.normal(size=(n, fout))

    out = lin(x)
    dx = lin.backward(dout)
    xt = tt(x, True)
    out_t = ref(xt)
    out_t.backward(tt(dout))
    assert_close(out, out_t)
    assert_close(dx, xt.grad)
    assert_grads_match_torch(lin, ref)


@FAST
@given(
    lead=st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple),
    fin=SIZES,
    fout=SIZES,
    bias=st.booleans(),
    seed=SEEDS,
)
def test_linear_module_takes_any_leading_axes_like_torch(lead, fin, fout, bias, seed):
    """(in,), (N, in) and (N, *, in): values, input gradients and parameter gradients
    (summed over every leading axis) as torch's; an empty axis gives zero gradients."""
    torch.manual_seed(seed)
    ref = torch.nn.Linear(fin, fout, bias=bias, dtype=torch.float64)
    lin = nn.Linear(fin, fout, bias=bias, dtype=np.float64, rng=seed)
    copy_torch_weights(lin, ref)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=lead + (fin,))
    dout = rng.normal(size=lead + (fout,))

    out = lin(x)
    dx = lin.backward(dout)
    xt = tt(x, True)
    out_t = ref(xt)
    out_t.backward(tt(dout))
    assert out.shape == lead + (fout,)
    assert_close(out, out_t)
    assert_close(dx, xt.grad)
    assert_grads_match_torch(lin, ref)


def test_linear_module_gradients_accumulate_over_calls_of_different_shapes():
    """A (in,) call and a (2, 3, in) call, backward through both: the sums torch gets."""
    torch.manual_seed(0)
    ref = torch.nn.Linear(4, 3, dtype=torch.float64)
    lin = nn.Linear(4, 3, dtype=np.float64)
    copy_torch_weights(lin, ref)
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(4,)), rng.normal(size=(2, 3, 4))]
    douts = [rng.normal(size=(3,)), rng.normal(size=(2, 3, 3))]
    for x, dout in zip(xs, douts, strict=True):
        lin(x)
        lin.backward(dout)
        ref(tt(x)).backward(tt(dout))
    assert_grads_match_torch(lin, ref)


def test_linear_module_rejects_a_wrong_last_axis_or_a_number_like_torch():
    lin = nn.Linear(3, 2)
    for bad in (np.zeros(4), np.zeros((2, 5, 4)), np.float32(1.0)):
        with pytest.raises(ValueError, match="in_features=3"):
            lin(bad)
        with pytest.raises(RuntimeError):
            torch.nn.Linear(3, 2)(torch.tensor(bad))


def test_float32_linear_step_keeps_float32_and_grads_are_fresh_arrays():
    """The lean path (no copy of a layer's own gradient) still gives each parameter its own
    float32 .grad, and accumulating into it does not change an array read out earlier."""
    lin = nn.Linear(5, 4, rng=0)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    out = lin(x)
    dx = lin.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == lin.weight.grad.dtype == lin.bias.grad.dtype == np.float32
    first = lin.weight.grad
    snapshot = first.copy()
    lin(x)
    lin.backward(np.ones_like(out))
    np.testing.assert_array_equal(first, snapshot)
    np.testing.assert_allclose(lin.weight.grad, 2 * snapshot)


def test_backward_without_input_grad_gives_the_same_parameter_gradients():
    """model.backward(dout, input_grad=False): torch's case of an input without requires_grad;
    the first Linear skips dL/dx, every parameter gradient is the one torch computes."""
    torch.manual_seed(0)
    ref = torch.nn.Sequential(
        torch.nn.Linear(5, 4, dtype=torch.float64), torch.nn.Tanh(),
        torch.nn.Linear(4, 3, dtype=torch.float64),
    )  # fmt: skip
    model = nn.Sequential(
        nn.Linear(5, 4, dtype=np.float64), nn.Tanh(), nn.Linear(4, 3, dtype=np.float64)
    )
    copy_torch_weights(model, ref)
    rng = np.random.default_rng(0)
    x, dout = rng.normal(size=(2, 6, 5)), rng.normal(size=(2, 6, 3))
    model(x)
    assert model.backward(dout, input_grad=False) is None
    ref(tt(x)).backward(tt(dout))  # x without requires_grad
    assert_grads_match_torch(model, ref)
    nested = nn.Sequential(nn.Sequential(nn.Linear(5, 4, dtype=np.float64)), nn.Tanh())
    nested(x[0])
    assert nested.backward(np.ones((6, 4)), input_grad=False) is None
    assert nested[0][0].weight.grad.shape == (4, 5)


MODULE_CASES = {
    "ReLU": (nn.ReLU, torch.nn.ReLU, {}),
    "Sigmoid": (nn.Sigmoid, torch.nn.Sigmoid, {}),
    "Tanh": (nn.Tanh, torch.nn.Tanh, {}),
    "LeakyReLU": (nn.LeakyReLU, torch.nn.LeakyReLU, {}),
    "LeakyReLU(0.2)": (nn.LeakyReLU, torch.nn.LeakyReLU, {"negative_slope": 0.2}),
    "GELU": (nn.GELU, torch.nn.GELU, {}),
    "GELU(tanh)": (nn.GELU, torch.nn.GELU, {"approximate": "tanh"}),
    "Softmax(dim=-1)": (nn.Softmax, torch.nn.Softmax, {"dim": -1}),
    "Softmax(dim=0)": (nn.Softmax, torch.nn.Softmax, {"dim": 0}),
    "Softmax(dim=1)": (nn.Softmax, torch.nn.Softmax, {"dim": 1}),
    "Flatten": (nn.Flatten, torch.nn.Flatten, {}),
    "Identity": (nn.Identity, torch.nn.Identity, {}),
}


@pytest.mark.parametrize("case", list(MODULE_CASES))
@FAST
@given(shape=hnp.array_shapes(min_dims=2, max_dims=4, max_side=4), seed=SEEDS)
def test_parameter_free_modules_match_torch(case, shape, seed):
    ours_cls, torch_cls, kwargs = MODULE_CASES[case]
    module, ref = ours_cls(**kwargs), torch_cls(**kwargs)
    assert list(module.parameters()) == []
    rng = np.random.default_rng(seed)
    x = 3.0 * nonzero_normal(rng, shape)
    xt = tt(x, True)
    out_t = ref(xt)
    dout = rng.normal(size=tuple(out_t.shape))
    out_t.backward(tt(dout))
    out = module(x)
    assert_close(out, out_t)
    assert_close(module.backward(dout), xt.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "ours_cls, torch_cls, kind",
    [
        (nn.MSELoss, torch.nn.MSELoss, "real"),
        (nn.BCELoss, torch.nn.BCELoss, "prob"),
        (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, "real"),
        (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, "labels"),
        (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, "probs"),
    ],
    ids=["MSE", "BCE", "BCEWithLogits", "CE-labels", "CE-probs"],
)
@settings(max_examples=10, deadline=None)
@given(n=SIZES, c=SIZES, seed=SEEDS, scale=st.sampled_from([1.0, 2.5]))
def test_loss_modules_match_torch(ours_cls, torch_cls, kind, reduction, n, c, seed, scale):
    rng = np.random.default_rng(seed)
    if kind == "prob":
        x = rng.uniform(0.01, 0.99, size=(n, c))
        y = rng.uniform(size=(n, c))
    else:
        x = 3.0 * rng.normal(size=(n, c))
        y = {
            "real": lambda: rng.normal(size=(n, c)),
            "labels": lambda: rng.integers(0, c, size=n),
            "probs": lambda: rng.dirichlet(np.ones(c), size=n),
        }[kind]()
    criterion = ours_cls(reduction=reduction)
    value = criterion(x, y)
    grad = criterion.backward(scale) if reduction != "none" else criterion.backward()

    xt = tt(x, True)
    yt = torch.tensor(y)
    value_t = torch_cls(reduction=reduction)(xt, yt)
    (grad_t,) = torch.autograd.grad(value_t.sum(), xt)
    assert_close(value, value_t)
    assert_close(grad, grad_t * (scale if reduction != "none" else 1.0))


LOSS_PAIRS = {
    "MSE": (nn.MSELoss, torch.nn.MSELoss, "real"),
    "BCE": (nn.BCELoss, torch.nn.BCELoss, "prob"),
    "BCEWithLogits": (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, "real"),
    "CE-labels": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, "labels"),
    "CE-probs": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, "probs"),
}


def loss_data(kind, n, c, rng):
    if kind == "prob":
        return rng.uniform(0.01, 0.99, size=(n, c)), rng.uniform(size=(n, c))
    y = {
        "real": lambda: rng.normal(size=(n, c)),
        "labels": lambda: rng.integers(0, c, size=n),
        "probs": lambda: rng.dirichlet(np.ones(c), size=n),
    }[kind]()
    return 3.0 * rng.normal(size=(n, c)), y


@pytest.mark.parametrize("case", list(LOSS_PAIRS))
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("n, c", [(4, 3), (2, 5), (3, 3), (1, 1), (1, 4)])
def test_loss_backward_with_an_upstream_gradient_matches_torch(case, reduction, n, c):
    # dout = dSomething/dloss: one value per loss entry for 'none', a number otherwise
    ours_cls, torch_cls, kind = LOSS_PAIRS[case]
    rng = np.random.default_rng(n * 10 + c)
    x, y = loss_data(kind, n, c, rng)
    criterion = ours_cls(reduction=reduction)
    value = criterion(x, y)
    xt = tt(x, True)
    value_t = torch_cls(reduction=reduction)(xt, torch.tensor(y))
    dout = rng.normal(size=tuple(value_t.shape)) if reduction == "none" else -1.7
    (grad_t,) = torch.autograd.grad(value_t, xt, tt(np.asarray(dout)))
    assert_close(value, value_t)
    assert_close(criterion.backward(dout), grad_t)
    if reduction != "none":
        assert_close(criterion.backward(np.float64(dout)), grad_t)
        assert_close(criterion.backward(np.array(dout)), grad_t)


@pytest.mark.parametrize("reduction, bad", [("none", (3, 3)), ("none", (2,)), ("mean", (3,))])
def test_loss_backward_rejects_a_dout_of_the_wrong_shape(reduction, bad):
    criterion = nn.CrossEntropyLoss(reduction=reduction)
    criterion(np.zeros((3, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="dout has shape"):
        criterion.backward(np.ones(bad))


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_loss_backward_keeps_float32_gradients_float32(reduction):
    criterion = nn.CrossEntropyLoss(reduction=reduction)
    criterion(np.zeros((3, 2), dtype=np.float32), np.array([0, 1, 1]))
    assert criterion.backward().dtype == np.float32
    assert criterion.backward(2.0).dtype == np.float32


LAYER_CHOICES = {
    "relu": (nn.ReLU, torch.nn.ReLU),
    "leaky": (lambda: nn.LeakyReLU(0.1), lambda: torch.nn.LeakyReLU(0.1)),
    "sigmoid": (nn.Sigmoid, torch.nn.Sigmoid),
    "tanh": (nn.Tanh, torch.nn.Tanh),
    "gelu": (nn.GELU, torch.nn.GELU),
    "gelu_tanh": (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    "identity": (nn.Identity, torch.nn.Identity),
    "dropout_eval": (lambda: nn.Dropout(0.5), lambda: torch.nn.Dropout(0.5)),
}


def build_pair(sizes, acts, seed, flatten_to=None):
    """The same MLP in nnlib and torch (torch's initial weights copied into nnlib)."""
    torch.manual_seed(seed)
    ours: list[nn.Module] = [nn.Flatten()] if flatten_to else []
    theirs: list[torch.nn.Module] = [torch.nn.Flatten()] if flatten_to else []
    for i, (fin, fout) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        ours.append(nn.Linear(fin, fout, dtype=np.float64, rng=seed))
        theirs.append(torch.nn.Linear(fin, fout, dtype=torch.float64))
        if i < len(acts):
            ours_act, torch_act = LAYER_CHOICES[acts[i]]
            ours.append(ours_act())
            theirs.append(torch_act())
    model, ref = nn.Sequential(*ours), torch.nn.Sequential(*theirs)
    copy_torch_weights(model, ref)
    return model, ref


@FAST
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    acts=st.lists(st.sampled_from(sorted(LAYER_CHOICES)), min_size=3, max_size=3),
    n=SIZES,
    seed=SEEDS,
)
def test_sequential_with_cross_entropy_matches_torch(sizes, acts, n, seed):
    model, ref = build_pair(sizes, acts, seed)
    model.eval()
    ref.eval()
    assert [k for k, _ in model.named_parameters()] == [k for k, _ in ref.named_parameters()]
    rng = np.random.default_rng(seed)
    x = 2.0 * rng.normal(size=(n, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=n)
    criterion = nn.CrossEntropyLoss()

    loss = criterion(model(x), labels)
    dx = model.backward(criterion.backward())
    xt = tt(x, True)
    loss_t = torch.nn.CrossEntropyLoss()(ref(xt), torch.tensor(labels))
    loss_t.backward()
    assert_close(loss, loss_t)
    assert_close(dx, xt.grad)
    assert_grads_match_torch(model, ref)


@FAST
@given(n=SIZES, h=st.integers(1, 3), w=st.integers(1, 3), seed=SEEDS)
def test_flatten_then_mlp_with_mse_matches_torch(n, h, w, seed):
    model, ref = build_pair([2 * h * w, 5, 3], ["tanh"], seed, flatten_to=True)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2, h, w))
    y = rng.normal(size=(n, 3))
    criterion = nn.MSELoss(reduction="sum")
    loss = criterion(model(x), y)
    dx = model.backward(criterion.backward())
    xt = tt(x, True)
    loss_t = torch.nn.MSELoss(reduction="sum")(ref(xt), tt(y))
    loss_t.backward()
    assert_close(loss, loss_t)
    assert_close(dx, xt.grad)
    assert dx.shape == x.shape
    assert_grads_match_torch(model, ref)


# ---------------------------------------------------------------- gradient accumulation


@FAST
@given(n=SIZES, seed=SEEDS)
def test_two_backward_calls_without_zero_grad_add_up_like_torch(n, seed):
    model, ref = build_pair([3, 4, 2], ["tanh"], seed)
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    y1, y2 = rng.integers(0, 2, size=n), rng.integers(0, 2, size=n)
    criterion = nn.CrossEntropyLoss()
    assert all(p.grad is None for p in model.parameters())

    # one forward, two backward calls: exactly twice the gradient
    criterion(model(x1), y1)
    model.backward(criterion.backward())
    once = {k: p.grad.copy() for k, p in model.named_parameters()}
    model.backward(criterion.backward())
    for k, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, 2.0 * once[k], rtol=1e-15)

    # torch does the same (retain_graph), and then a second batch adds on top
    loss_t = torch.nn.CrossEntropyLoss()(ref(tt(x1)), torch.tensor(y1))
    loss_t.backward(retain_graph=True)
    loss_t.backward()
    assert_grads_match_torch(model, ref)
    criterion(model(x2), y2)
    model.backward(criterion.backward())
    torch.nn.CrossEntropyLoss()(ref(tt(x2)), torch.tensor(y2)).backward()
    assert_grads_match_torch(model, ref)

    model.zero_grad()
    ref.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert all(p.grad is None for p in ref.parameters())  # torch's default set_to_none


def test_accumulate_copies_the_incoming_gradient():
    p = nn.Parameter(np.zeros(3))
    g = np.ones(3)
    p.accumulate(g)
    g[:] = 5.0  # the caller reusing its buffer must not change p.grad
    np.testing.assert_array_equal(p.grad, np.ones(3))
    p.accumulate(np.full(3, 2.0))
    np.testing.assert_array_equal(p.grad, np.full(3, 3.0))


# ---------------------------------------------------------------- a module used twice


def shared_pair(seed: int):
    """Sequential(shared, ReLU, shared, head) in nnlib and torch, one Linear used twice."""
    torch.manual_seed(seed)
    shared_t = torch.nn.Linear(4, 4, dtype=torch.float64)
    ref = torch.nn.Sequential(
        shared_t, torch.nn.ReLU(), shared_t, torch.nn.Linear(4, 3, dtype=torch.float64)
    )
    shared = nn.Linear(4, 4, dtype=np.float64, rng=seed)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(4, 3, dtype=np.float64, rng=seed))
    copy_torch_weights(model, ref)  # torch's state_dict names the shared weight twice
    return model, ref


@FAST
@given(n=SIZES, seed=SEEDS)
def test_module_used_twice_accumulates_both_gradients_like_torch(n, seed):
    model, ref = shared_pair(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    labels = rng.integers(0, 3, size=n)
    criterion = nn.CrossEntropyLoss()
    loss = criterion(model(x), labels)
    dx = model.backward(criterion.backward())

    xt = tt(x, True)
    loss_t = torch.nn.CrossEntropyLoss()(ref(xt), torch.tensor(labels))
    loss_t.backward(retain_graph=True)
    assert_close(loss, loss_t)
    assert_close(dx, xt.grad)
    assert_grads_match_torch(model, ref)

    # a second backward over the same forward adds the same again (torch: retain_graph)
    model.backward(criterion.backward())
    loss_t.backward()
    assert_grads_match_torch(model, ref)


def test_module_used_twice_is_listed_once_like_torch():
    model, ref = shared_pair(0)
    names = [name for name, _ in model.named_parameters()]
    assert names == [name for name, _ in ref.named_parameters()]
    assert names == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert len(list(model.parameters())) == len(list(ref.parameters())) == 4
    assert next(model.parameters()) is model[2].weight
    assert model.num_parameters() == sum(q.numel() for q in ref.parameters())
    assert list(model.state_dict()) == list(ref.state_dict())  # every name, as torch
    assert len(list(model.modules())) == len(list(ref.modules())) == 4


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_steps_a_module_used_twice_once_like_torch(momentum):
    model, ref = shared_pair(1)
    opt = nnlib.optim.SGD(model.parameters(), lr=0.1, momentum=momentum)
    opt_t = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=momentum)
    rng = np.random.default_rng(1)
    criterion = nn.MSELoss()
    for _ in range(4):
        x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
        opt.zero_grad()
        criterion(model(x), y)
        model.backward(criterion.backward())
        opt.step()
        opt_t.zero_grad()
        torch.nn.MSELoss()(ref(tt(x)), tt(y)).backward()
        opt_t.step()
        for (name, p), (_, q) in zip(model.named_parameters(), ref.named_parameters(), strict=True):
            np.testing.assert_allclose(p.data, to_np(q), rtol=1e-7, atol=1e-12, err_msg=name)


@FAST
@given(n=SIZES, seed=SEEDS)
def test_nested_block_used_twice_matches_torch(n, seed):
    torch.manual_seed(seed)
    block_t = torch.nn.Sequential(torch.nn.Linear(3, 3, dtype=torch.float64), torch.nn.Tanh())
    ref = torch.nn.Sequential(block_t, block_t, torch.nn.Linear(3, 2, dtype=torch.float64))
    block = nn.Sequential(nn.Linear(3, 3, dtype=np.float64), nn.Tanh())
    model = nn.Sequential(block, block, nn.Linear(3, 2, dtype=np.float64))
    copy_torch_weights(model, ref)
    rng = np.random.default_rng(seed)
    x, dout = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
    out = model(x)
    dx = model.backward(dout)
    xt = tt(x, True)
    out_t = ref(xt)
    out_t.backward(tt(dout))
    assert_close(out, out_t)
    assert_close(dx, xt.grad)
    assert_grads_match_torch(model, ref)


def test_each_call_from_outside_starts_a_new_forward_pass():
    # evaluation calls without backward must not pile up caches (or be used by backward)
    model, ref = shared_pair(2)
    rng = np.random.default_rng(2)
    for _ in range(3):
        model(rng.normal(size=(7, 4)))
    assert len(model[0]._caches) == 2  # the two uses of the last pass only
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    model(x)
    dx = model.backward(dout)
    xt = tt(x, True)
    ref(xt).backward(tt(dout))
    assert_close(dx, xt.grad)
    assert_grads_match_torch(model, ref)


def test_backward_before_forward_raises():
    for module in (nn.Linear(2, 2), nn.ReLU(), nn.Softmax(), nn.Dropout(0.5), nn.Flatten()):
        with pytest.raises(RuntimeError, match="backward called before forward"):
            module.backward(np.ones((1, 2)))


# ---------------------------------------------------------------- train / eval and dropout


def test_train_and_eval_switch_every_module_and_return_self():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Dropout(0.5), nn.ReLU(), nn.Linear(4, 2))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert len(list(model.modules())) == 5
    assert not any(m.training for m in model.modules())
    assert model.train() is model
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not any(m.training for m in model.modules())


@pytest.mark.parametrize("p", [0.0, 0.3, 0.9])
def test_dropout_is_identity_in_eval_mode(p):
    x = np.random.default_rng(1).normal(size=(8, 5))
    drop = nn.Dropout(p).eval()
    out = drop(x)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(out, to_np(torch.nn.Dropout(p).eval()(tt(x))))
    dout = np.arange(40.0).reshape(8, 5)
    np.testing.assert_array_equal(drop.backward(dout), dout)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.75])
def test_dropout_in_training_zeros_about_p_and_scales_the_rest(p):
    nnlib.manual_seed(123)
    x = np.random.default_rng(2).uniform(1.0, 2.0, size=(200, 500))  # no zeros in x
    drop = nn.Dropout(p)
    out = drop(x)
    dropped = out == 0.0
    # 100000 draws: the standard error of the fraction is below 0.0016
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(out[~dropped], x[~dropped] / (1.0 - p), rtol=1e-15)
    # backward uses the mask the forward pass drew
    dout = np.random.default_rng(3).normal(size=x.shape)
    dx = drop.backward(dout)
    np.testing.assert_array_equal(dx[dropped], 0.0)
    np.testing.assert_allclose(dx[~dropped], dout[~dropped] / (1.0 - p), rtol=1e-15)
    # the expected value is kept: mean of out is close to mean of x
    assert abs(out.mean() / x.mean() - 1.0) < 0.05


@FAST
@given(n=SIZES, d=SIZES, p=st.sampled_from([0.2, 0.5]), seed=SEEDS)
def test_dropout_module_backward_matches_torch_with_its_own_mask(n, d, p, seed):
    nnlib.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = nonzero_normal(rng, (n, d))
    dout = rng.normal(size=(n, d))
    drop = nn.Dropout(p)
    out = drop(x)
    mask = drop._cache  # the mask (already scaled by 1/(1-p)) this forward pass used
    xt = tt(x, True)
    out_t = xt * tt(mask)
    out_t.backward(tt(dout))
    assert_close(out, out_t)
    assert_close(drop.backward(dout), xt.grad)


def test_dropout_is_deterministic_under_manual_seed():
    x = np.ones((6, 7))
    drop = nn.Dropout(0.5)
    nnlib.manual_seed(7)
    first = [drop(x), drop(x)]
    nnlib.manual_seed(7)
    second = [drop(x), drop(x)]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # a fresh mask on every call
    nnlib.manual_seed(8)
    assert not np.array_equal(drop(x), first[0])


def test_dropout_with_an_integer_seed_draws_a_new_mask_each_call():
    """Dropout(p, rng=seed) must be reproducible, but not reuse one mask for every batch."""
    x = np.ones((10, 10))
    a, b = nn.Dropout(0.5, rng=42), nn.Dropout(0.5, rng=42)
    a1, a2 = a(x), a(x)
    np.testing.assert_array_equal(a1, b(x))  # same seed, same sequence of masks
    assert not np.array_equal(a1, a2), "Dropout(rng=int) reuses the same mask on every call"


def test_sequential_in_eval_mode_ignores_dropout():
    nnlib.manual_seed(0)
    with_dropout = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.ReLU(), nn.Linear(6, 2))
    without = nn.Sequential(with_dropout[0], nn.ReLU(), with_dropout[3])
    x = np.random.default_rng(0).normal(size=(5, 4))
    with_dropout.eval()
    np.testing.assert_array_equal(with_dropout(x), without(x))
    with_dropout.train()
    assert not np.array_equal(with_dropout(x), without(x))


# ---------------------------------------------------------------- initialisation and seeding


def test_linear_init_is_deterministic_under_manual_seed():
    nnlib.manual_seed(3)
    a = nn.Linear(5, 4)
    nnlib.manual_seed(3)
    b = nn.Linear(5, 4)
    c = nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(b.weight.data, c.weight.data)
    seeded = [nn.Linear(5, 4, rng=9).weight.data for _ in range(2)]
    np.testing.assert_array_equal(seeded[0], seeded[1])


@pytest.mark.parametrize(
    "init, std",
    [
        ("he", np.sqrt(2.0 / 400)),
        ("xavier", np.sqrt(2.0 / 700)),
        ("small", 0.01),
        ("uniform", 1.0 / np.sqrt(400) / np.sqrt(3.0)),
    ],
)
def test_linear_init_scales(init, std):
    lin = nn.Linear(400, 300, init=init, rng=0)
    w = lin.weight.data
    assert w.shape == (300, 400)
    assert w.dtype == np.float32
    assert abs(w.mean()) < 0.02 * std
    assert abs(w.std() / std - 1.0) < 0.02
    if init == "uniform":
        bound = 1.0 / np.sqrt(400)
        assert np.abs(w).max() <= bound
        assert np.abs(lin.bias.data).max() <= bound
        assert np.any(lin.bias.data != 0)
    else:
        np.testing.assert_array_equal(lin.bias.data, 0.0)


# ---------------------------------------------------------------- state_dict


def torch_and_nnlib_mlps(seed: int = 0):
    torch.manual_seed(seed)
    ref = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(12, 8),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(8, 4, bias=False),
        torch.nn.Tanh(),
        torch.nn.Linear(4, 3),
    )
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(12, 8, rng=seed),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(8, 4, bias=False, rng=seed),
        nn.Tanh(),
        nn.Linear(4, 3, rng=seed),
    )
    return model, ref


def test_parameter_names_and_shapes_match_torch_sequential():
    model, ref = torch_and_nnlib_mlps()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["1.weight", "1.bias", "4.weight", "6.weight", "6.bias"]
    assert names == [name for name, _ in ref.named_parameters()]
    assert list(model.state_dict()) == list(ref.state_dict())
    for (name, p), (_, q) in zip(model.named_parameters(), ref.named_parameters(), strict=True):
        assert p.shape == tuple(q.shape), name
    assert model.num_parameters() == sum(q.numel() for q in ref.parameters())
    assert list(model.parameters()) == [p for _, p in model.named_parameters()]


def test_state_dict_round_trip_restores_outputs_and_is_a_copy():
    model, ref = torch_and_nnlib_mlps(0)
    copy_torch_weights(model, ref)
    model.eval()
    ref.eval()
    x = np.random.default_rng(0).normal(size=(5, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(model(x), to_np(ref(torch.tensor(x))), rtol=1e-5, atol=1e-6)

    state = model.state_dict()
    expected = model(x)
    other, _ = torch_and_nnlib_mlps(1)
    other.eval()
    assert not np.allclose(other(x), expected)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other(x), expected)

    # state_dict hands out copies, and load_state_dict copies in
    state["1.weight"][:] = 0.0
    np.testing.assert_array_equal(other(x), expected)
    assert np.any(model.state_dict()["1.weight"] != 0)
    next(model.parameters()).data[:] = 0.0
    np.testing.assert_array_equal(other(x), expected)


def test_load_state_dict_keeps_the_parameter_dtype():
    lin = nn.Linear(3, 2, rng=0)  # float32
    state = {k: v.astype(np.float64) + 1.0 for k, v in lin.state_dict().items()}
    lin.load_state_dict(state)
    assert lin.weight.data.dtype == np.float32
    np.testing.assert_allclose(lin.weight.data, state["weight"], rtol=1e-6)


def test_double_and_float_convert_parameters_and_forget_gradients():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    assert all(p.data.dtype == np.float32 for p in model.parameters())
    model(np.ones((2, 3)))
    model.backward(np.ones((2, 2)))
    assert all(p.grad is not None for p in model.parameters())
    assert model.double() is model
    assert all(p.data.dtype == np.float64 for p in model.parameters())
    assert all(p.grad is None for p in model.parameters())
    model.float()
    assert all(p.data.dtype == np.float32 for p in model.parameters())
