"""Bad input gets a clear error: the exception type, and a message that names the argument
and the shapes (or values) involved, so a student can find the mistake from the message."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from nnlib import functional as F
from nnlib import layers, losses, nn, optim

ELEMENTWISE_LOSSES = {
    "mse_loss": losses.mse_loss,
    "binary_cross_entropy": losses.binary_cross_entropy,
    "binary_cross_entropy_with_logits": losses.binary_cross_entropy_with_logits,
}
ALL_LOSSES = {**ELEMENTWISE_LOSSES, "cross_entropy": losses.cross_entropy}

BAD_DTYPES = {
    "strings": (np.array([["a", "b", "c"], ["d", "e", "f"]]), TypeError, r"array of numbers.*<U1"),
    "objects": (
        np.array([[0.1, None, 0.2], [0.3, 0.4, 0.5]], dtype=object),
        TypeError,
        r"array of numbers.*object",
    ),
    "complex": (np.full((2, 3), 0.5 + 0.5j), TypeError, r"real.*complex128"),
}


def probs(shape=(2, 3)) -> np.ndarray:
    return np.full(shape, 0.5)


# ---------------------------------------------------------------- shape mismatches


@pytest.mark.parametrize("name", sorted(ALL_LOSSES))
def test_loss_input_target_shape_mismatch_names_both_shapes(name):
    fn = ALL_LOSSES[name]
    with pytest.raises(
        ValueError,
        match=r"input and target must have the same shape, "
        r"got \(3, 2\) and \(2, 3\)",
    ):
        fn(probs((3, 2)), probs((2, 3)))


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_LOSSES))
def test_elementwise_loss_rejects_broadcastable_shapes(name):
    """(4, 1) against (4,) would broadcast to (4, 4) silently; it must be an error."""
    with pytest.raises(ValueError, match=r"got \(4, 1\) and \(4,\)"):
        ELEMENTWISE_LOSSES[name](probs((4, 1)), probs((4,)))


def test_cross_entropy_label_count_mismatch():
    with pytest.raises(
        ValueError,
        match=r"target must have shape \(4,\) to match 4 samples, "
        r"got shape \(3,\)",
    ):
        losses.cross_entropy(np.zeros((4, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"target must have shape \(4,\).*got shape \(4, 1, 1\)"):
        losses.cross_entropy(np.zeros((4, 3)), np.zeros((4, 1, 1), dtype=int))


def test_cross_entropy_labels_must_fit_the_input_without_its_class_axis():
    """(C,), (N, C) and (N, C, d1, ...) are all inputs, as in torch; the labels must match."""
    with pytest.raises(ValueError, match=r"input must have shape \(C,\), \(N, C\) or"):
        losses.cross_entropy(np.float64(0.0), np.array(1))
    with pytest.raises(
        ValueError, match=r"target must have shape \(\) to match an unbatched input"
    ):
        losses.cross_entropy(np.zeros(5), np.array([[1]]))
    with pytest.raises(
        ValueError,
        match=r"target must have shape \(2, 4\) to match the input's shape without its "
        r"class axis 1, got shape \(2,\)",
    ):
        losses.cross_entropy(np.zeros((2, 3, 4)), np.array([0, 1]))


def test_linear_x_and_weight_mismatch_names_both_shapes():
    msg = r"x has shape \(4, 3\) \(in_features=3\) but weight has shape \(2, 5\)"
    with pytest.raises(ValueError, match=msg):
        layers.linear_forward(np.zeros((4, 3)), np.zeros((2, 5)), None)
    with pytest.raises(ValueError, match=msg):
        nn.Linear(5, 2)(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"weight has shape \(5,\)"):
        layers.linear_forward(np.zeros((4, 5)), np.zeros(5), None)


def test_linear_needs_a_batch_of_rows():
    # layers.linear_forward takes a matrix; nn.Linear, like torch, also (in,) and (N, *, in).
    with pytest.raises(
        ValueError,
        match=r"x must have shape \(batch, in_features\), "
        r"got shape \(3,\)",
    ):
        layers.linear_forward(np.zeros(3), np.zeros((2, 3)), None)
    with pytest.raises(ValueError, match=r"x has shape \(4,\).*in_features=3"):
        nn.Linear(3, 2)(np.zeros(4))
    with pytest.raises(ValueError, match=r"x must have shape .*got shape \(2, 2, 3\)"):
        layers.linear_forward(np.zeros((2, 2, 3)), np.zeros((2, 3)), None)


def test_linear_bias_shape_mismatch():
    with pytest.raises(
        ValueError,
        match=r"bias must have shape \(2,\) to match weight "
        r"\(2, 3\), got \(3,\)",
    ):
        layers.linear_forward(np.zeros((4, 3)), np.zeros((2, 3)), np.zeros(3))


def test_softmax_backward_shape_mismatch():
    with pytest.raises(
        ValueError,
        match=r"grad_output and s must have the same shape, "
        r"got \(2, 3\) and \(3, 2\)",
    ):
        F.softmax_backward(np.zeros((2, 3)), np.zeros((3, 2)))


def test_softmax_jacobian_takes_one_vector():
    with pytest.raises(ValueError, match=r"one vector z of shape \(k,\), got \(2, 3\)"):
        F.softmax_jacobian(np.zeros((2, 3)))


# ---------------------------------------------------------------- wrong dtypes


@pytest.mark.parametrize("bad", list(BAD_DTYPES))
@pytest.mark.parametrize("name", sorted(ALL_LOSSES))
def test_loss_rejects_bad_input_dtype(name, bad):
    arr, exc, msg = BAD_DTYPES[bad]
    target = np.array([0, 1]) if name == "cross_entropy" else probs()
    with pytest.raises(exc, match=r"^input must .*" + msg):
        ALL_LOSSES[name](arr, target)


@pytest.mark.parametrize("bad", list(BAD_DTYPES))
@pytest.mark.parametrize("name", sorted(ALL_LOSSES))
def test_loss_rejects_bad_target_dtype(name, bad):
    arr, exc, msg = BAD_DTYPES[bad]
    with pytest.raises(exc, match=r"^target must .*" + msg):
        ALL_LOSSES[name](probs(), arr)


@pytest.mark.parametrize(
    "labels, msg",
    [
        (np.array(["0", "1"]), r"target must hold integer class labels, got dtype <U1"),
        (np.array([0, None], dtype=object), r"target must hold integer class labels.*object"),
        (np.array([True, False]), r"target must hold integer class labels, got dtype bool"),
        (np.array([0, 1j]), r"target must hold integer class labels.*complex"),
    ],
    ids=["strings", "objects", "bool", "complex"],
)
def test_cross_entropy_rejects_labels_of_the_wrong_dtype(labels, msg):
    with pytest.raises(TypeError, match=msg):
        losses.cross_entropy(np.zeros((2, 3)), labels)


@pytest.mark.parametrize("bad", list(BAD_DTYPES))
@pytest.mark.parametrize(
    "fn",
    [
        F.sigmoid,
        F.tanh,
        F.relu,
        F.leaky_relu,
        F.gelu,
        F.softmax,
        F.log_softmax,
        F.step,
        F.sigmoid_derivative,
        F.relu_derivative,
        F.gelu_derivative,
    ],
    ids=lambda f: f.__name__,
)
def test_activations_reject_bad_dtypes(fn, bad):
    arr, exc, msg = BAD_DTYPES[bad]
    with pytest.raises(exc, match=r"^input must .*" + msg):
        fn(arr)


@pytest.mark.parametrize("bad", list(BAD_DTYPES))
def test_linear_rejects_bad_x_dtype(bad):
    arr, exc, msg = BAD_DTYPES[bad]
    with pytest.raises(exc, match=r"^x must .*" + msg):
        nn.Linear(3, 2)(arr)
    with pytest.raises(exc, match=r"^input must .*" + msg):
        nn.Flatten()(arr)


@pytest.mark.parametrize("bad", list(BAD_DTYPES))
def test_linear_forward_rejects_bad_weight_dtype(bad):
    arr, exc, msg = BAD_DTYPES[bad]
    with pytest.raises(exc, match=r"^weight must .*" + msg):
        layers.linear_forward(np.zeros((4, 3)), arr, None)


def test_softmax_backward_rejects_bad_dtypes():
    arr, exc, msg = BAD_DTYPES["strings"]
    with pytest.raises(exc, match=r"^grad_output must .*" + msg):
        F.softmax_backward(arr, np.zeros((2, 3)))
    with pytest.raises(exc, match=r"^s must .*" + msg):
        F.softmax_backward(np.zeros((2, 3)), arr)


# ---------------------------------------------------------------- labels and values


@pytest.mark.parametrize(
    "labels, msg",
    [
        ([0, 3, 1, 2], r"target must lie in \[0, 2\] for 3 classes, got values from 0 to 3"),
        ([0, -1, 1, 2], r"target must lie in \[0, 2\] for 3 classes, got values from -1 to 2"),
        ([7, 7, 7, 7], r"got values from 7 to 7"),
    ],
)
def test_cross_entropy_labels_out_of_range(labels, msg):
    with pytest.raises(ValueError, match=msg):
        losses.cross_entropy(np.zeros((4, 3)), np.array(labels))
    with pytest.raises(ValueError, match=msg):
        nn.CrossEntropyLoss()(np.zeros((4, 3)), labels)


@pytest.mark.parametrize(
    "labels", [[0.0, 1.5, 2.0, 0.0], [0.0, np.nan, 1.0, 1.0], [0.0, np.inf, 1.0, 1.0]]
)
def test_cross_entropy_non_integer_labels(labels):
    with pytest.raises(
        TypeError,
        match=r"target must hold integer class labels, "
        r"got non-integer floats",
    ):
        losses.cross_entropy(np.zeros((4, 3)), np.array(labels))


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("which", ["input", "target"])
@pytest.mark.parametrize("name", sorted(ALL_LOSSES))
def test_losses_reject_nan_and_inf(name, which, bad_value):
    x, y = probs(), probs()
    if name == "cross_entropy" and which == "input":
        y = np.array([0, 2])
    (x if which == "input" else y)[1, 2] = bad_value
    with pytest.raises(
        ValueError,
        match=rf"^{which} contains 1 NaN or inf value\(s\) "
        r"\(shape \(2, 3\)\)",
    ):
        ALL_LOSSES[name](x, y)


def test_bce_input_must_be_probabilities():
    with pytest.raises(
        ValueError,
        match=r"input must be probabilities in \[0, 1\] \(shape "
        r"\(3,\)\), got values from -0\.1 to 0\.5.*with_logits",
    ):
        losses.binary_cross_entropy(np.array([-0.1, 0.2, 0.5]), np.zeros(3))
    with pytest.raises(ValueError, match=r"got values from 0\.2 to 1\.5"):
        nn.BCELoss()(np.array([0.2, 1.5]), np.zeros(2))


def test_bce_target_must_lie_in_0_1_like_torch():
    p = np.array([0.2, 0.5, 0.7])
    y = np.array([0.0, 1.5, 1.0])
    with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(y))
    with pytest.raises(ValueError, match=r"target.*\[0, 1\].*\(3,\)"):
        losses.binary_cross_entropy(p, y)


@pytest.mark.parametrize("name", sorted(ALL_LOSSES))
def test_losses_reject_unknown_reduction(name):
    target = np.array([0, 1]) if name == "cross_entropy" else probs()
    with pytest.raises(
        ValueError,
        match=r"reduction must be 'mean', 'sum' or 'none', "
        r"got 'average'",
    ):
        ALL_LOSSES[name](probs(), target, reduction="average")


# ---------------------------------------------------------------- optimizers and schedules


def param() -> nn.Parameter:
    return nn.Parameter(np.zeros(3))


@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Adam])
@pytest.mark.parametrize(
    "params, msg",
    [
        ([np.zeros(3)], r"params\[0\] is a ndarray, expected an nnlib Parameter"),
        ([param(), np.zeros(3)], r"params\[1\] is a ndarray, expected an nnlib Parameter"),
        ([torch.nn.Parameter(torch.zeros(3))], r"params\[0\] is a Parameter, expected an nnlib"),
        ([("0.weight", param())], r"params\[0\] is a tuple"),
        (nn.Sequential(nn.Linear(2, 2)), r"params\[0\] is a Linear.*model\.parameters\(\)"),
    ],
    ids=["ndarray", "mixed", "torch", "named", "module"],
)
def test_optimizers_reject_non_parameters(opt_cls, params, msg):
    with pytest.raises(TypeError, match=msg):
        opt_cls(params, lr=0.1)


@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Adam])
def test_optimizers_reject_an_empty_parameter_list(opt_cls):
    with pytest.raises(ValueError, match="empty parameter list"):
        opt_cls([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        opt_cls(iter([]), lr=0.1)


@pytest.mark.parametrize("lr", [0, 0.0, -0.1, -1e-9])
@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Adam])
def test_optimizers_reject_non_positive_lr(opt_cls, lr):
    with pytest.raises(ValueError, match=rf"learning rate lr must be positive, got {lr}"):
        opt_cls([param()], lr=lr)


@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Adam])
def test_optimizers_reject_nan_lr(opt_cls):
    with pytest.raises(ValueError, match=r"lr must be positive, got nan"):
        opt_cls([param()], lr=float("nan"))


def test_sgd_momentum_settings():
    with pytest.raises(ValueError, match=r"momentum must be >= 0, got -0\.5"):
        optim.SGD([param()], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match=r"nesterov=True needs a momentum > 0"):
        optim.SGD([param()], lr=0.1, nesterov=True)


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.9), (0.9, 1.5)])
def test_adam_betas(betas):
    with pytest.raises(ValueError, match=re.escape(f"betas must be in [0, 1), got {betas}")):
        optim.Adam([param()], betas=betas)


def test_scheduler_settings():
    opt = optim.SGD([param()], lr=0.1)
    with pytest.raises(ValueError, match=r"step_size must be >= 1, got 0"):
        optim.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match=r"T_max must be >= 1, got 0"):
        optim.CosineAnnealingLR(opt, T_max=0)


# ---------------------------------------------------------------- modules


@pytest.mark.parametrize("sizes", [(0, 3), (3, 0), (-1, 2), (0, 0)])
def test_linear_rejects_sizes_below_one(sizes):
    msg = rf"in_features and out_features must be >= 1, got {sizes[0]}, {sizes[1]}"
    with pytest.raises(ValueError, match=msg):
        nn.Linear(*sizes)


@pytest.mark.parametrize(
    "sizes, name",
    [((2.5, 3), "in_features"), ((3, 2.0), "out_features"), (("3", 2), "in_features")],
)
def test_linear_rejects_non_integer_sizes_naming_the_argument(sizes, name):
    with pytest.raises(TypeError, match=name):
        nn.Linear(*sizes)


def test_linear_accepts_numpy_integer_sizes():
    lin = nn.Linear(np.int64(3), np.int32(2), rng=0)
    assert lin.weight.shape == (2, 3)


def test_linear_rejects_unknown_init():
    with pytest.raises(
        ValueError,
        match=r"init must be 'he', 'xavier', 'small' or 'uniform', "
        r"got 'kaiming'",
    ):
        nn.Linear(3, 2, init="kaiming")


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])  # p = 1 is allowed, as in torch
def test_dropout_rejects_p_outside_0_1(p):
    msg = rf"dropout probability p must be in \[0, 1\], got {p}"
    with pytest.raises(ValueError, match=msg):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=msg):
        layers.dropout_forward(np.ones(3), p, training=True, rng=np.random.default_rng(0))


def test_gelu_rejects_unknown_approximation():
    for call in (
        lambda: nn.GELU("fast"),
        lambda: F.gelu(np.zeros(2), approximate="fast"),
        lambda: F.gelu_derivative(np.zeros(2), approximate="fast"),
    ):
        with pytest.raises(ValueError, match=r"approximate must be 'none' or 'tanh', got 'fast'"):
            call()


def test_unknown_activation_name():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; choose from \["):
        layers.activation_forward(np.zeros(2), "swish")


def test_sequential_takes_modules_only():
    with pytest.raises(TypeError, match=r"Sequential takes Modules, argument 1 is str"):
        nn.Sequential(nn.Linear(2, 2), "relu")


@pytest.mark.parametrize(
    "module, args",
    [
        (nn.Linear(2, 2), (np.zeros((1, 2)),)),
        (nn.ReLU(), (np.zeros((1, 2)),)),
        (nn.GELU(), (np.zeros((1, 2)),)),
        (nn.MSELoss(), ()),
        (nn.CrossEntropyLoss(), ()),
    ],
    ids=["Linear", "ReLU", "GELU", "MSELoss", "CrossEntropyLoss"],
)
def test_backward_before_forward_is_a_clear_error(module, args):
    with pytest.raises(
        RuntimeError,
        match=rf"{type(module).__name__}\.backward called before "
        r"forward",
    ):
        module.backward(*args)


def test_load_state_dict_reports_missing_unexpected_and_misshapen_entries():
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU(), nn.Linear(2, 1, rng=1))
    state = model.state_dict()
    missing = {k: v for k, v in state.items() if k != "2.bias"}
    with pytest.raises(ValueError, match=r"missing \['2\.bias'\], unexpected \[\]"):
        model.load_state_dict(missing)
    renamed = {("layer." + k if k == "0.weight" else k): v for k, v in state.items()}
    with pytest.raises(
        ValueError, match=r"missing \['0\.weight'\], unexpected \['layer\.0\.weight'\]"
    ):
        model.load_state_dict(renamed)
    transposed = dict(state, **{"0.weight": state["0.weight"].T})
    with pytest.raises(
        ValueError,
        match=r"state_dict\['0\.weight'\] has shape \(3, 2\), "
        r"parameter has \(2, 3\)",
    ):
        model.load_state_dict(transposed)


def test_an_undefined_name_in_a_test_cell_says_to_run_the_answer_cell(capsys) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from nncourse import checks

    shell = InteractiveShell.instance()
    try:
        assert checks.install_name_hint(shell)
        result = shell.run_cell("checks_probe = predict_not_defined_anywhere(1)")
    finally:
        shell.set_custom_exc((), None)
        InteractiveShell.clear_instance()
    assert isinstance(result.error_in_exec, NameError)
    err = capsys.readouterr().err
    assert "predict_not_defined_anywhere is not defined yet: run the cell that defines it" in err
