"""nnlib keeps torch's names, argument order, defaults and results, or says otherwise.

Every public nnlib name with a torch counterpart (nnlib.functional and nnlib.losses vs
torch.nn.functional, nnlib.nn vs torch.nn, nnlib.optim vs torch.optim and its schedulers,
nnlib.data vs torch.utils.data) has its signature compared with torch's; any difference must be
in nnlib.DIFFERENCES_FROM_PYTORCH, which the README's "Differences from PyTorch" table renders.
Then float64 behaviour checks: outputs and gradients against torch autograd.
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
import torch.optim as topt
import torch.utils.data as tdata
from torch_compare import assert_close

import nnlib
from nnlib import data, functional, losses, nn, optim

TABLE = nnlib.DIFFERENCES_FROM_PYTORCH
README = Path(__file__).resolve().parents[1] / "README.md"


# ---------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------


def torch_signature(obj) -> inspect.Signature:
    """inspect.signature, or for a C builtin (F.gelu, F.linear) the one its docstring shows."""
    try:
        return inspect.signature(obj)
    except (ValueError, TypeError):
        first = (obj.__doc__ or "").strip().splitlines()[0]
        ns: dict = {}
        arguments = re.match(r"\w+\((.*)\)", first).group(1)
        exec(f"def f({arguments}): pass", ns)  # noqa: S102
        return inspect.signature(ns["f"])


def differences(ours: inspect.Signature, theirs: inspect.Signature) -> list[tuple[str, str]]:
    """(what, parameter) for each difference: extra, missing, kind, position, default."""
    o = [p for p in ours.parameters.values() if p.name != "self"]
    t = [p for p in theirs.parameters.values() if p.name != "self"]
    t_public = [p for p in t if not p.name.startswith("_")]
    t_index = {p.name: i for i, p in enumerate(t_public)}
    t_by_name = {p.name: p for p in t}
    o_names = {p.name for p in o}
    found = []
    for i, p in enumerate(o):
        if p.name not in t_by_name:
            found.append(("extra", p.name))
            continue
        q = t_by_name[p.name]
        if p.kind != q.kind:
            found.append(("kind", p.name))
        elif p.kind == p.POSITIONAL_OR_KEYWORD and i != t_index[p.name]:
            found.append(("position", p.name))
        if p.default is not q.default and p.default != q.default:
            found.append(("default", p.name))
    found += [("missing", p.name) for p in t if p.name not in o_names]
    return found


def _public(module) -> list[str]:
    return [n for n in getattr(module, "__all__", dir(module)) if not n.startswith("_")]


def counterparts() -> list[tuple[str, object, object]]:
    """(nnlib name, nnlib object, torch object) for every public name torch has too."""
    pairs = []
    groups = [
        ("F", functional, [TF]),
        ("losses", losses, [TF]),
        ("nn", nn, [tnn]),
        ("optim", optim, [topt, topt.lr_scheduler]),
        ("data", data, [tdata, TF]),
    ]
    for short, ours_module, torch_modules in groups:
        for name in _public(ours_module):
            obj = getattr(ours_module, name)
            if not callable(obj) or not getattr(obj, "__module__", "").startswith("nnlib"):
                continue
            for tm in torch_modules:
                if hasattr(tm, name):
                    theirs = getattr(tm, name)
                    pairs.append((f"{short}.{name}", obj, theirs))
                    if inspect.isclass(obj):  # methods defined in this nnlib class
                        for m, f in vars(obj).items():
                            if not m.startswith("_") and callable(f) and hasattr(theirs, m):
                                pairs.append((f"{short}.{name}.{m}", f, getattr(theirs, m)))
                    break
    pairs.append(("manual_seed", nnlib.manual_seed, torch.manual_seed))
    return pairs


PAIRS = counterparts()


def _rows_for(name: str) -> list[str]:
    return [k for k in TABLE if name in k.split(", ")]


def _ticked(text: str) -> set[str]:
    """Every identifier inside `backticks` in text."""
    return {w for span in re.findall(r"`([^`]+)`", text) for w in re.findall(r"\w+", span)}


ALL_ROW = _ticked(TABLE["*"][0])


def test_the_conformance_test_sees_every_kind_of_name():
    names = {name for name, _, _ in PAIRS}
    for expected in (
        "F.softmax",
        "F.gelu",
        "nn.Linear",
        "nn.Module.parameters",
        "optim.SGD",
        "optim.StepLR",
        "data.DataLoader",
        "losses.cross_entropy",
    ):
        assert expected in names


@pytest.mark.parametrize(("name", "ours", "theirs"), PAIRS, ids=[p[0] for p in PAIRS])
def test_signature_matches_torch_or_is_listed(name, ours, theirs):
    found = [
        (what, p)
        for what, p in differences(inspect.signature(ours), torch_signature(theirs))
        if p not in ALL_ROW
    ]
    rows = [k for k in _rows_for(name) if " (" not in k]
    if not found:
        assert not rows, f"{name} now matches torch: remove its row {rows} from the table"
        return
    assert rows, f"{name} differs from torch ({found}) but is not in DIFFERENCES_FROM_PYTORCH"
    mentioned = set().union(*(_ticked(TABLE[k][0]) for k in rows))
    unlisted = [(what, p) for what, p in found if p not in mentioned]
    assert not unlisted, f"{name}: differences {unlisted} are not named in its table row"


def test_every_signature_row_names_real_nnlib_objects():
    names = {name for name, _, _ in PAIRS}
    for key in TABLE:
        if key == "*" or " (" in key:
            continue
        for name in key.split(", "):
            assert name in names, f"table row {key!r}: {name} has no torch counterpart here"


def test_readme_table_is_the_dict():
    text = README.read_text(encoding="utf-8")
    assert "## Differences from PyTorch" in text
    section = text.split("## Differences from PyTorch", 1)[1]
    assert nnlib.differences_markdown() in section, (
        "README's table is stale: paste nnlib.differences_markdown() into it"
    )


# Behaviour rows: each is checked to be true as written.


def _check_backward_explicit():
    crit = nn.MSELoss()
    loss = crit(np.ones(3), np.zeros(3))
    assert not hasattr(loss, "backward") and loss.item() == 1.0 and isinstance(loss, float)


def _check_linear_init():
    w = nn.Linear(400, 300, rng=0, dtype=np.float64)
    assert np.all(w.bias.data == 0) and abs(w.weight.data.std() - np.sqrt(2 / 400)) < 2e-3
    u = nn.Linear(400, 300, init="uniform", rng=0).weight.data
    assert np.abs(u).max() <= 1 / np.sqrt(400) and abs(u.std() - 1 / np.sqrt(3 * 400)) < 1e-3


def _check_softmax_implicit_dim():
    z = np.random.default_rng(0).normal(size=(2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = functional.softmax(z)
    with pytest.warns(UserWarning):
        theirs = TF.softmax(torch.tensor(z))
    assert_close(ours, theirs)


def _check_losses_return_gradient():
    value, grad = losses.mse_loss(np.ones(2), np.zeros(2))
    assert value == 1.0 and grad.shape == (2,)


def _check_cross_entropy_targets():
    z = np.random.default_rng(0).normal(size=(2, 3))
    with pytest.raises(ValueError, match="label_smoothing"):
        functional.cross_entropy(z, np.array([0, 2]), label_smoothing=-0.1)
    plain = TF.cross_entropy(torch.tensor(z), torch.tensor([0, 2]))
    assert_close(
        TF.cross_entropy(torch.tensor(z), torch.tensor([0, 2]), label_smoothing=-0.1), plain
    )
    one_hot = functional.one_hot(np.array([0, 2]), 3)  # int64 rows
    assert_close(functional.cross_entropy(z, one_hot), plain)
    with pytest.raises(RuntimeError):
        TF.cross_entropy(torch.tensor(z), torch.tensor(one_hot))


def _check_optimizer_state_dict():
    assert not hasattr(optim.Adam, "state_dict")


BEHAVIOUR = {
    "nn.Module (backward)": _check_backward_explicit,
    "nn.Linear (init)": _check_linear_init,
    "F.softmax (dim=None)": _check_softmax_implicit_dim,
    "losses (gradient)": _check_losses_return_gradient,
    "F.cross_entropy (targets)": _check_cross_entropy_targets,
    "optim.Optimizer (state_dict)": _check_optimizer_state_dict,
}


def test_every_behaviour_row_has_a_check():
    assert set(BEHAVIOUR) == {k for k in TABLE if " (" in k}


@pytest.mark.parametrize("key", list(BEHAVIOUR))
def test_behaviour_row_is_true(key):
    BEHAVIOUR[key]()


# ---------------------------------------------------------------------------------------------
# Behaviour in float64: outputs and gradients against torch autograd
# ---------------------------------------------------------------------------------------------

RNG = np.random.default_rng(1234)


def _x(*shape):
    return RNG.normal(size=shape)


FUNCTIONS = [
    ("sigmoid", {}, {}),
    ("tanh", {}, {}),
    ("relu", {}, {}),
    ("leaky_relu", {"negative_slope": 0.2}, {"negative_slope": 0.2}),
    ("gelu", {}, {}),
    ("gelu", {"approximate": "tanh"}, {"approximate": "tanh"}),
    ("softmax", {"dim": 1}, {"dim": 1}),
    ("log_softmax", {"dim": 0}, {"dim": 0}),
]


@pytest.mark.parametrize(("name", "ours_kw", "torch_kw"), FUNCTIONS)
def test_functional_values_and_derivatives_match_torch(name, ours_kw, torch_kw):
    z = _x(4, 5)
    zt = torch.tensor(z, requires_grad=True)
    out_t = getattr(TF, name)(zt, **torch_kw)
    assert_close(getattr(functional, name)(input=z, **ours_kw), out_t)
    if hasattr(functional, name + "_derivative"):
        out_t.sum().backward()
        assert_close(getattr(functional, name + "_derivative")(z, **ours_kw), zt.grad)


def test_inplace_relu_like_torch():
    z = _x(3, 4)
    zt = torch.tensor(z)
    out = functional.relu(z, inplace=True)
    TF.relu(zt, inplace=True)
    assert out is z and np.array_equal(z, zt.numpy())


def test_linear_one_hot_and_loss_values_match_torch():
    x, w, b = _x(5, 3), _x(2, 3), _x(2)
    assert_close(
        functional.linear(x, w, b), TF.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    )
    labels = np.array([0, 2, 1, 2])
    assert np.array_equal(functional.one_hot(labels), TF.one_hot(torch.tensor(labels)).numpy())
    assert functional.one_hot(labels).dtype == np.int64
    logits, p = _x(4, 3), 1 / (1 + np.exp(-_x(4, 3)))
    y = (RNG.random((4, 3)) > 0.5).astype(np.float64)
    for red in ("mean", "sum", "none"):
        lt = torch.tensor(logits)
        assert_close(
            functional.cross_entropy(logits, labels, reduction=red),
            TF.cross_entropy(lt, torch.tensor(labels), reduction=red),
        )
        assert_close(
            functional.mse_loss(logits, y, reduction=red),
            TF.mse_loss(lt, torch.tensor(y), reduction=red),
        )
        assert_close(
            functional.binary_cross_entropy(p, y, reduction=red),
            TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y), reduction=red),
        )
        assert_close(
            functional.binary_cross_entropy_with_logits(logits, y, reduction=red),
            TF.binary_cross_entropy_with_logits(lt, torch.tensor(y), reduction=red),
        )


def test_dropout_edge_values_like_torch():
    x = _x(3, 4)
    assert np.array_equal(functional.dropout(x, p=1.0), np.zeros_like(x))
    assert np.array_equal(functional.dropout(x, p=0.0), x)
    assert np.array_equal(functional.dropout(x, p=0.5, training=False), x)
    drop = nn.Dropout(p=1.0)
    assert np.array_equal(drop(x), np.zeros_like(x))
    assert np.array_equal(drop.backward(np.ones_like(x)), np.zeros_like(x))


MODULES = [
    (lambda: nn.ReLU(), lambda: tnn.ReLU()),
    (lambda: nn.ReLU(inplace=True), lambda: tnn.ReLU()),
    (lambda: nn.Sigmoid(), lambda: tnn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: tnn.Tanh()),
    (lambda: nn.LeakyReLU(0.1), lambda: tnn.LeakyReLU(0.1)),
    (lambda: nn.GELU("tanh"), lambda: tnn.GELU("tanh")),
    (lambda: nn.Softmax(dim=1), lambda: tnn.Softmax(dim=1)),
    (lambda: nn.Softmax(), lambda: tnn.Softmax(dim=-1)),
    (lambda: nn.Identity(), lambda: tnn.Identity()),
    (lambda: nn.Flatten(), lambda: tnn.Flatten()),
    (lambda: nn.Flatten(0, 1), lambda: tnn.Flatten(0, 1)),
    (lambda: nn.Flatten(start_dim=2), lambda: tnn.Flatten(start_dim=2)),
]


@pytest.mark.parametrize(("make_ours", "make_theirs"), MODULES)
def test_module_forward_and_backward_match_torch(make_ours, make_theirs):
    x = _x(3, 4, 2) if "Flatten" in repr(make_ours()) else _x(3, 4)
    ours, theirs = make_ours(), make_theirs()
    xt = torch.tensor(x, requires_grad=True)
    out_t = theirs(xt)
    dout = _x(*out_t.shape)
    out_t.backward(torch.tensor(dout))
    out = ours(x.copy())
    assert_close(out, out_t)
    assert_close(ours.backward(dout), xt.grad)


def test_activations_reject_unknown_arguments_at_construction():
    with pytest.raises(TypeError):
        nn.Sigmoid(anything=1)
    with pytest.raises(TypeError):
        nn.ReLU(fast=True)
    nn.ReLU(inplace=True)


def test_linear_and_sequential_gradients_match_torch_with_a_shared_layer():
    shared = nn.Linear(4, 4, dtype=np.float64, rng=0)
    head = nn.Linear(4, 3, dtype=np.float64, rng=1)
    model = nn.Sequential(OrderedDict(shared=shared, act=nn.Tanh(), again=shared))
    model.append(head)
    t_shared, t_head = tnn.Linear(4, 4).double(), tnn.Linear(4, 3).double()
    with torch.no_grad():
        t_shared.weight.copy_(torch.tensor(shared.weight.data))
        t_shared.bias.copy_(torch.tensor(shared.bias.data))
        t_head.weight.copy_(torch.tensor(head.weight.data))
        t_head.bias.copy_(torch.tensor(head.bias.data))
    ref = tnn.Sequential(OrderedDict(shared=t_shared, act=tnn.Tanh(), again=t_shared))
    ref.append(t_head)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert list(model.state_dict()) == list(ref.state_dict())
    x, y = _x(6, 4), RNG.integers(0, 3, 6)
    crit = nn.CrossEntropyLoss()
    loss = crit(model(x), y)
    model.backward(crit.backward())
    loss_t = tnn.CrossEntropyLoss()(ref(torch.tensor(x)), torch.tensor(y))
    loss_t.backward()
    assert_close(np.float64(loss.item()), loss_t)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        assert_close(p.grad, q.grad)
    assert isinstance(model[1:], nn.Sequential) and len(model[1:]) == 3
    assert next(model.parameters()) is shared.weight


def test_module_methods_behave_like_torch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    with pytest.raises(ValueError):
        model.train("no")
    assert list(model.parameters(recurse=False)) == []
    result = model.load_state_dict({"0.weight": np.zeros((3, 2))}, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == []
    assert np.all(model[0].weight.data == 0)
    model[0].weight.grad = np.ones((3, 2))
    model.zero_grad(set_to_none=False)
    assert np.all(model[0].weight.grad == 0)


def _torch_params(ours):
    return [torch.tensor(p.data, requires_grad=True) for p in ours]


OPTIMIZERS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS)
def test_optimizer_steps_and_schedules_match_torch(name, kwargs):
    ours = [nn.Parameter(_x(3, 2)), nn.Parameter(_x(2))]
    theirs = _torch_params(ours)
    opt = getattr(optim, name)([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.05}], **kwargs)
    topt_ = getattr(topt, name)(
        [{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.05}], **kwargs
    )
    sched = optim.CosineAnnealingLR(opt, T_max=3)
    tsched = topt.lr_scheduler.CosineAnnealingLR(topt_, T_max=3)
    for _ in range(5):
        grads = [_x(*p.shape) for p in ours]
        for p, q, g in zip(ours, theirs, grads, strict=True):
            p.grad, q.grad = g, torch.tensor(g)
        opt.step()
        topt_.step()
        sched.step()
        tsched.step()
        for p, q in zip(ours, theirs, strict=True):
            assert_close(p.data, q)
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
    assert opt.param_groups[1]["lr"] == pytest.approx(topt_.param_groups[1]["lr"])


def test_step_lr_matches_torch():
    p = nn.Parameter(np.zeros(1))
    q = torch.zeros(1, requires_grad=True)
    ours = optim.StepLR(optim.SGD([p], lr=0.3), step_size=2, gamma=0.5)
    theirs = topt.lr_scheduler.StepLR(topt.SGD([q], lr=0.3), step_size=2, gamma=0.5)
    for _ in range(5):
        ours.optimizer.step()
        theirs.optimizer.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr())
