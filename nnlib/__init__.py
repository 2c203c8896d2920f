"""nnlib: a small neural-network library for teaching, with PyTorch's names.

    from nnlib import nn, optim
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))

Modules: functional (activations and their derivatives), losses (value and gradient),
layers (forward/backward pairs with a cache), nn (modules), optim (optimizers and schedules),
gradcheck (finite differences), data (toy sets, DataLoader, MNIST), training (fit loops),
plots (matplotlib pictures; imported on its own: `from nnlib import plots`), threads
(`use_available_cpus()`: thread pools sized to the CPUs a container may really use).

Names, argument order, defaults and results are torch's wherever torch has the concept; the
deliberate differences are listed in DIFFERENCES_FROM_PYTORCH (rendered as the README's
"Differences from PyTorch" table by differences_markdown(); tests/test_torch_parity.py
keeps both true).
"""

from nnlib import data, functional, gradcheck, layers, losses, nn, optim, training
from nnlib.random import manual_seed
from nnlib.threads import use_available_cpus

# nnlib name(s) -> (the difference, why). A key of several names (", ") shares a row; a key
# with " (" names a difference of behaviour, checked one by one in tests/test_torch_parity.py;
# every other difference of signature must name its parameters in `backticks`.
DIFFERENCES_FROM_PYTORCH: dict[str, tuple[str, str]] = {
    "*": (
        "torch's `size_average` and `reduce` (deprecated), `foreach`, `fused`, `capturable`, "
        "`differentiable`, `_stacklevel` and the `*args`/`**kwargs` catch-all of "
        "`Module`, `Sigmoid`, `Tanh`, `Identity`, `state_dict` are absent",
        "speed, compilation and legacy switches that a NumPy CPU library has no use for",
    ),
    "nn.Module (backward)": (
        "gradients come from `model.backward(criterion.backward())`, not `loss.backward()`; a "
        "loss value is a NumPy float (it has `.item()`), not a tensor",
        "the course writes backpropagation out; there is no autograd",
    ),
    "nn.Parameter": (
        "no `requires_grad`; `data` is a NumPy array",
        "no autograd: every Parameter is trained",
    ),
    "nn.Module.forward": (
        "`forward(input)` takes one `input` (torch: `*input`)",
        "every nnlib module has one input; losses take (input, target)",
    ),
    "nn.Module.to": (
        "`to(dtype)` takes a NumPy dtype only",
        "CPU only: no devices to move to",
    ),
    "nn.Linear": (
        "extra keyword-only `init` and `rng`; `device` may only be None or 'cpu'",
        "the lessons compare initialisations and seed each layer",
    ),
    "nn.Linear (init)": (
        "default init='he': weight normal with std sqrt(2 / in_features), bias 0; torch's "
        "U(-1/sqrt(in), 1/sqrt(in)) for weight and bias is init='uniform'",
        "He initialisation suits the ReLU networks the lessons train",
    ),
    "nn.Dropout": (
        "extra keyword-only `rng` (a seed or Generator for the masks)",
        "reproducible masks in a lesson without seeding everything",
    ),
    "F.softmax (dim=None)": (
        "without dim, the same implicit choice as torch but no deprecation warning",
        "the lessons call softmax(logits) on vectors and (N, C) batches, where it is the last axis",
    ),
    "F.mse_loss, losses.mse_loss, nn.MSELoss": (
        "no `weight`; `reduction` is the 3rd argument (in the module: keyword-only)",
        "the plain formula of lesson 5",
    ),
    "F.binary_cross_entropy, losses.binary_cross_entropy": (
        "`reduction` is the 4th argument (torch: 6th, after the deprecated `size_average`, "
        "`reduce`)",
        "torch's deprecated arguments are left out (see 'all'); pass reduction by keyword",
    ),
    "F.binary_cross_entropy_with_logits, losses.binary_cross_entropy_with_logits": (
        "`reduction`, `pos_weight` are the 4th and 5th arguments (torch: 6th and 7th, after "
        "the deprecated `size_average`, `reduce`)",
        "torch's deprecated arguments are left out (see 'all'); pass them by keyword",
    ),
    "F.cross_entropy, losses.cross_entropy": (
        "`ignore_index`, `reduction`, `label_smoothing` are the 4th to 6th arguments (torch: "
        "5th, 7th, 8th, around the deprecated `size_average`, `reduce`)",
        "torch's deprecated arguments are left out (see 'all'); pass them by keyword",
    ),
    "F.cross_entropy (targets)": (
        "a negative label_smoothing is a ValueError (torch ignores it); integer one-hot "
        "targets of the input's shape count as class probabilities (torch: float only)",
        "a negative smoothing is a mistake; one_hot(labels) rows are the probabilities they say",
    ),
    "nn.BCELoss": (
        "`reduction` is keyword-only",
        "the options of nnlib's loss modules come by name",
    ),
    "nn.BCEWithLogitsLoss": (
        "`reduction`, `pos_weight` are keyword-only",
        "the options of nnlib's loss modules come by name",
    ),
    "nn.CrossEntropyLoss": (
        "`ignore_index`, `reduction`, `label_smoothing` are keyword-only",
        "the options of nnlib's loss modules come by name",
    ),
    "losses (gradient)": (
        "nnlib.losses functions return `(loss, grad)`, the gradient with respect to input",
        "explicit backward: a loss module's backward() returns that gradient",
    ),
    "optim.StepLR, optim.CosineAnnealingLR, optim.LRScheduler": (
        "no `last_epoch` (a schedule starts at epoch 0)",
        "resuming a schedule is beyond the course",
    ),
    "optim.LRScheduler.step": (
        "no `epoch` argument (deprecated in torch)",
        "one step() per epoch is the only use",
    ),
    "optim.Optimizer (state_dict)": (
        "optimisers have no state_dict() / load_state_dict()",
        "the course saves model weights only",
    ),
    "data.DataLoader": (
        "takes `data`, a tuple of arrays (torch: a `dataset`); `batch_size` defaults to 64 "
        "(torch: 1) and `shuffle` to False (torch: None); `seed` instead of `generator`; "
        "`drop_last` is the 5th argument; no `sampler`, `batch_sampler`, `num_workers`, "
        "`collate_fn`, `pin_memory`, `timeout`, `worker_init_fn`, `multiprocessing_context`, "
        "`prefetch_factor`, `persistent_workers`, `pin_memory_device`, `in_order`",
        "NumPy arrays in memory need no Dataset, workers or pinning",
    ),
    "data.one_hot": (
        "`one_hot(y, num_classes=None)` gives float64 rows; torch's "
        "`one_hot(tensor, num_classes=-1)` (int64) is nnlib.functional.one_hot",
        "float rows serve directly as cross-entropy target probabilities",
    ),
}


def differences_markdown() -> str:
    """DIFFERENCES_FROM_PYTORCH as the Markdown table in the README."""
    lines = ["| nnlib | difference from PyTorch | why |", "| --- | --- | --- |"]
    for key, (what, why) in DIFFERENCES_FROM_PYTORCH.items():
        names = "all" if key == "*" else ", ".join(f"`{k}`" for k in key.split(", "))
        lines.append(f"| {names} | {what} | {why} |")
    return "\n".join(lines) + "\n"


__all__ = [
    "DIFFERENCES_FROM_PYTORCH",
    "data",
    "differences_markdown",
    "functional",
    "gradcheck",
    "layers",
    "losses",
    "manual_seed",
    "nn",
    "optim",
    "training",
    "use_available_cpus",
]
__version__ = "0.1.0"
