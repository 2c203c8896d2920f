"""Modules: layers that remember their parameters, their gradients and their forward cache.

The API mirrors `torch.nn`: `Module` with `parameters()`, `zero_grad()`, `train()`/`eval()`;
`Linear`, `ReLU`, `Dropout`, `Sequential`, `CrossEntropyLoss` and friends. The one visible
difference is that gradients are computed by calling `backward` explicitly:

    logits = model(x)
    loss = criterion(logits, y)
    model.backward(criterion.backward())   # torch: loss.backward()

Like PyTorch, `backward` *adds* to each parameter's `.grad`, so call `zero_grad()` every step.

A module may be used more than once in a model, e.g. `nn.Sequential(shared, nn.ReLU(), shared)`.
Each forward call then keeps its own cache (`save_for_backward`), and the backward calls use
them newest first (`saved_for_backward`), so both uses' gradients add up, as in torch. Calling
a model from outside (`model(x)`, not from within another module's forward) starts a new
forward pass and forgets the caches of the previous one.
"""

from __future__ import annotations

import math
from collections import OrderedDict, namedtuple
from collections.abc import Iterator

import numpy as np

from nnlib import functional as F
from nnlib import layers, losses
from nnlib._checks import as_float_array
from nnlib.random import get_rng


class Parameter:
    """A trainable array `.data` with its gradient `.grad` (None until a backward pass)."""

    def __init__(self, data: np.ndarray | None = None) -> None:
        self.data = np.empty(0, dtype=np.float32) if data is None else np.asarray(data)
        self.grad: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the data."""
        return self.data.shape

    def accumulate(self, grad: np.ndarray, copy: bool = True) -> None:
        """Add `grad` to `.grad` (PyTorch semantics: gradients add up until zero_grad).

        copy=False: a fresh array that nobody else holds (a layer's own result) becomes
        `.grad` itself when there is none yet, instead of a copy of it.
        """
        if self.grad is None:
            self.grad = grad.copy() if copy else grad
        else:
            self.grad = self.grad + grad

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: a forward pass, a backward pass, and parameters found automatically."""

    # How many module calls are running now; 0 means the next call starts a new forward pass.
    _calls_running = 0

    def __init__(self) -> None:
        self.training = True
        self.forget_caches()

    def __call__(self, *args):
        if Module._calls_running == 0:  # called from outside: a new forward pass
            for m in self.modules():
                m.forget_caches()
        Module._calls_running += 1
        try:
            return self.forward(*args)
        finally:
            Module._calls_running -= 1

    def save_for_backward(self, cache) -> None:
        """Keep what backward needs (forward calls this once per call)."""
        self._caches.append(cache)
        self._uses_left = len(self._caches)
        self._cache = cache  # the newest one, for subclasses that read self._cache

    def saved_for_backward(self):
        """The cache of the latest forward call that backward has not used yet.

        After the oldest one, a further backward starts again from the newest: a second
        backward pass over the same forward pass (torch: backward(retain_graph=True)).
        """
        if not self._caches:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        if self._uses_left == 0:
            self._uses_left = len(self._caches)
        self._uses_left -= 1
        return self._caches[self._uses_left]

    def forget_caches(self) -> None:
        """Drop the caches of earlier forward calls."""
        self._caches: list = []  # one cache per forward call in this pass, oldest first
        self._uses_left = 0  # how many of them backward has not used yet
        self._cache = None

    def forward(self, input: np.ndarray) -> np.ndarray:
        """Compute the output and keep what backward needs."""
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Given dLoss/doutput, accumulate parameter gradients and return dLoss/dinput."""
        raise NotImplementedError

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules with their attribute names."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """All parameters of this module and its children, named like PyTorch ('0.weight').

        As in torch, a parameter met twice (a module used twice) is listed once, under its
        first name; remove_duplicate=False lists it under every name (as state_dict does).
        """
        seen = set()
        for name, p in self._every_named_parameter(prefix, recurse):
            if remove_duplicate and id(p) in seen:
                continue
            seen.add(id(p))
            yield name, p

    def _every_named_parameter(
        self, prefix: str, recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        if recurse:
            for name, child in self.named_children():
                yield from child._every_named_parameter(prefix + name + ".")

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """An iterator over all parameters, each once (what an optimizer updates).

        As in torch it is an iterator: `next(model.parameters())` is the first one, and a
        second loop needs a fresh call (or `list(model.parameters())`).
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        """This module and every module below it, each once (as in torch)."""
        seen = set()
        for m in self._every_module():
            if id(m) not in seen or not remove_duplicate:
                seen.add(id(m))
                yield m

    def _every_module(self) -> Iterator[Module]:
        yield self
        for _, child in self.named_children():
            yield from child._every_module()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: every .grad to None (set_to_none=False: to zeros)."""
        for p in self.parameters():
            p.grad = None if set_to_none or p.grad is None else np.zeros_like(p.grad)

    def train(self, mode: bool = True) -> Module:
        """Switch to training mode (dropout active), or with mode=False to eval; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (dropout off); returns self."""
        return self.train(False)

    def to(self, dtype: type) -> Module:
        """Convert every parameter to `dtype` (e.g. np.float64 for gradient checks)."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        return self

    def double(self) -> Module:
        """Convert parameters to float64."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Convert parameters to float32."""
        return self.to(np.float32)

    def num_parameters(self) -> int:
        """Total number of trainable numbers."""
        return sum(p.data.size for p in self.parameters())

    def state_dict(
        self, *args, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, np.ndarray]:
        """A copy of every parameter array, by name (keep_vars=True: the Parameters themselves)."""
        if args:
            raise TypeError("state_dict takes keyword arguments only (as torch recommends)")
        state = {} if destination is None else destination
        # torch keeps every name of a parameter used twice
        for name, p in self.named_parameters(prefix=prefix, remove_duplicate=False):
            state[name] = p if keep_vars else p.data.copy()
        return state

    def load_state_dict(
        self, state_dict: dict[str, np.ndarray], strict: bool = True, assign: bool = False
    ):
        """Copy arrays from `state_dict` (as made by state_dict()) into the parameters.

        As in torch: strict=False allows missing and unexpected keys, the return value names
        them (missing_keys, unexpected_keys), and assign=True uses the arrays themselves
        instead of copies.
        """
        own = dict(self.named_parameters(remove_duplicate=False))
        missing = sorted(set(own) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(own))
        if strict and (missing or unexpected):
            raise ValueError(
                f"state_dict keys do not match: missing {missing}, unexpected {unexpected}"
            )
        for name, p in own.items():
            if name not in state_dict:
                continue
            value = np.asarray(state_dict[name])
            if value.shape != p.shape:
                raise ValueError(
                    f"state_dict[{name!r}] has shape {value.shape}, parameter has {p.shape}"
                )
            p.data = value if assign else np.array(value, dtype=p.data.dtype)
        return _IncompatibleKeys(missing, unexpected)

    def extra_repr(self) -> str:
        """Settings shown inside the module's repr."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Linear(Module):
    """Fully connected layer out = x @ weight.T + bias, weight of shape (out_features, in_features).

    init: 'he' (normal, std sqrt(2 / in), for ReLU), 'xavier' (normal, std
    sqrt(2 / (in + out)), for sigmoid/tanh), 'small' (normal, std 0.01) or 'uniform'
    (PyTorch's default, U(-1/sqrt(in), 1/sqrt(in)) for weight and bias).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: str | None = None,
        dtype: type | None = None,
        *,
        init: str = "he",
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        if device not in (None, "cpu"):
            raise ValueError(f"nnlib runs on the CPU only, got device={device!r}")
        dtype = np.float32 if dtype is None else dtype
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, int | np.integer):
                raise TypeError(f"{name} must be an integer, got {size!r}")
        in_features, out_features = int(in_features), int(out_features)
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"in_features and out_features must be >= 1, got {in_features}, {out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        gen = get_rng(rng)
        shape = (out_features, in_features)
        if init == "he":
            w = gen.normal(0.0, math.sqrt(2.0 / in_features), shape)
        elif init == "xavier":
            w = gen.normal(0.0, math.sqrt(2.0 / (in_features + out_features)), shape)
        elif init == "small":
            w = gen.normal(0.0, 0.01, shape)
        elif init == "uniform":
            bound = 1.0 / math.sqrt(in_features)
            w = gen.uniform(-bound, bound, shape)
        else:
            raise ValueError(f"init must be 'he', 'xavier', 'small' or 'uniform', got {init!r}")
        self.weight = Parameter(w.astype(dtype))
        if not bias:
            self.bias = None
        elif init == "uniform":
            self.bias = Parameter(gen.uniform(-bound, bound, out_features).astype(dtype))
        else:
            self.bias = Parameter(np.zeros(out_features, dtype=dtype))

    def forward(self, input: np.ndarray) -> np.ndarray:
        """input (N, in_features) -> (N, out_features); as in torch also (in_features,) and
        (N, *, in_features), each row along the last axis mapped on its own."""
        x = as_float_array(input, "x")  # the name layers.linear_forward uses
        shape = x.shape
        if x.ndim != 2:  # one sample, or more leading axes: the rows of a matrix
            if x.ndim == 0 or x.shape[-1] != self.in_features:
                raise ValueError(
                    f"x has shape {x.shape} but Linear expects (*, {self.in_features}): "
                    f"the last axis must be in_features={self.in_features}"
                )
            x = x.reshape(-1, self.in_features)
        b = None if self.bias is None else self.bias.data
        out, cache = layers.linear_forward(x, self.weight.data, b)
        self.save_for_backward(cache)
        if len(shape) != 2:
            out = out.reshape(shape[:-1] + (self.out_features,))
        return out

    def backward(self, dout: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Accumulate dL/dweight and dL/dbias (summed over every row); return dL/dx.

        input_grad=False skips dL/dx = dout @ weight and returns None: what torch does for
        an input that does not require grad, such as the images fed to the first layer.
        """
        dout = np.asarray(dout)
        rows = dout if dout.ndim == 2 else dout.reshape(-1, self.out_features)
        cache = self.saved_for_backward()
        if input_grad:
            dx, dw, db = layers.linear_backward(rows, cache)
        else:  # the same weight and bias gradients as linear_backward: dout.T @ x, sum of dout
            x, _, bias = cache
            dx, dw, db = None, rows.T @ x, None if bias is None else rows.sum(axis=0)
        # dw and db are new arrays of this call: .grad may take them without a copy.
        self.weight.accumulate(dw, copy=False)
        if self.bias is not None:
            self.bias.accumulate(db, copy=False)
        if dx is None or dout.ndim == 2:
            return dx
        return dx.reshape(dout.shape[:-1] + (self.in_features,))

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class _Elementwise(Module):
    """An elementwise activation: forward keeps its input z, backward returns dout * f'(z)."""

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """f'(z), elementwise."""
        raise NotImplementedError

    def forward(self, input: np.ndarray) -> np.ndarray:
        """Apply the activation elementwise."""
        z = as_float_array(input, "input")
        out = self.function(z)
        # In place (ReLU(inplace=True)), z now holds out: same sign, so the same derivative.
        self.save_for_backward(z)
        return out

    def function(self, z: np.ndarray) -> np.ndarray:
        """f(z), elementwise."""
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dL/dz = dL/dout * f'(z)."""
        return dout * self.derivative(self.saved_for_backward())


class ReLU(_Elementwise):
    """max(0, z); inplace=True overwrites the input array, as in torch."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def function(self, z):
        return F.relu(z, inplace=self.inplace)

    def derivative(self, z):
        return F.relu_derivative(z)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(_Elementwise):
    """1 / (1 + exp(-z))."""

    def function(self, z):
        return F.sigmoid(z)

    def derivative(self, z):
        return F.sigmoid_derivative(z)


class Tanh(_Elementwise):
    """tanh(z)."""

    def function(self, z):
        return F.tanh(z)

    def derivative(self, z):
        return F.tanh_derivative(z)


class LeakyReLU(_Elementwise):
    """z if z > 0 else negative_slope * z."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def function(self, z):
        return F.leaky_relu(z, self.negative_slope, inplace=self.inplace)

    def derivative(self, z):
        return F.leaky_relu_derivative(z, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class GELU(_Elementwise):
    """z * Phi(z); approximate='tanh' for the tanh formula."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def function(self, z):
        return F.gelu(z, self.approximate)

    def derivative(self, z):
        return F.gelu_derivative(z, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax along `dim`. For training use CrossEntropyLoss on logits instead."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: np.ndarray) -> np.ndarray:
        """Probabilities along `dim` (without one, torch's rule: the last axis of 1-D/2-D input)."""
        out = F.softmax(input, dim=self.dim)
        self.save_for_backward(out)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Jacobian-vector product of softmax."""
        out = self.saved_for_backward()
        return F.softmax_backward(dout, out, dim=F._softmax_dim(out.ndim, self.dim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, input: np.ndarray) -> np.ndarray:
        """input."""
        return input

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout."""
        return dout


class Dropout(Module):
    """Inverted dropout: in training, zero entries with probability p and rescale by 1/(1-p)."""

    def __init__(
        self,
        p: float = 0.5,
        inplace: bool = False,
        *,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace
        # An integer seed becomes one generator here, so that each call draws a new mask.
        self._rng = rng if rng is None else get_rng(rng)

    def forward(self, input: np.ndarray) -> np.ndarray:
        """Drop entries in training mode; identity in eval mode."""
        x = input
        out, mask = layers.dropout_forward(x, self.p, self.training, get_rng(self._rng))
        self.save_for_backward(mask)
        if self.inplace and out is not x and isinstance(x, np.ndarray):
            x[...] = out
            return x
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Apply the same mask to the gradient."""
        return layers.dropout_backward(dout, self.saved_for_backward())

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Flatten(Module):
    """Merge the axes start_dim..end_dim into one, e.g. (N, 28, 28) images to (N, 784)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: np.ndarray) -> np.ndarray:
        """Flatten the axes from start_dim to end_dim (by default all but the batch axis)."""
        x = as_float_array(input, "input")
        self.save_for_backward(x.shape)
        if x.ndim == 0:
            return x.reshape(1)
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        if start > end:
            raise ValueError(
                f"start_dim {self.start_dim} comes after end_dim {self.end_dim} for shape {x.shape}"
            )
        return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1 :])

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Restore the input's shape."""
        return dout.reshape(self.saved_for_backward())

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied one after another; backward runs them in reverse order.

    As in torch: Sequential(m1, m2, ...) names the children '0', '1', ...; Sequential(OrderedDict)
    uses the dict's names; append adds one; a slice is a Sequential.
    """

    def __init__(self, *args: Module) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            named = list(args[0].items())
        else:
            named = [(str(i), m) for i, m in enumerate(args)]
        for i, (_, m) in enumerate(named):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules, argument {i} is {type(m).__name__}")
        self._names = [name for name, _ in named]
        self.layers = [m for _, m in named]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Children with their names, by default by position '0', '1', ..."""
        yield from zip(self._names, self.layers, strict=True)

    def append(self, module: Module) -> Sequential:
        """Add a module at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Modules, got {type(module).__name__}")
        self._names.append(str(len(self.layers)))
        self.layers.append(module)
        return self

    def __getitem__(self, i: int | slice) -> Module:
        if isinstance(i, slice):
            return Sequential(OrderedDict(list(self.named_children())[i]))
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def forward(self, input: np.ndarray) -> np.ndarray:
        """Feed the input through every module in order."""
        for m in self.layers:
            input = m(input)
        return input

    def backward(self, dout: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Feed the gradient back through every module in reverse order; return dL/dinput.

        input_grad=False: nobody needs dL/dinput (the input is data, as for torch a tensor
        without requires_grad), so a first Linear layer skips computing it; returns None.
        """
        for i in range(len(self.layers) - 1, -1, -1):
            m = self.layers[i]
            if i == 0 and not input_grad:
                if type(m).backward in (Linear.backward, Sequential.backward):
                    m.backward(dout, input_grad=False)
                else:  # a module without the option (e.g. a subclass): compute, then drop
                    m.backward(dout)
                return None
            dout = m.backward(dout)
        return dout


class _Loss(Module):
    """A loss module: forward(input, target) returns a float, backward() returns dLoss/dinput."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction
        self._grad = None

    def _compute(self, input: np.ndarray, target: np.ndarray):
        raise NotImplementedError

    def forward(self, input: np.ndarray, target: np.ndarray):
        """The loss value; the gradient is kept for backward."""
        value, self._grad = self._compute(input, target)
        self._loss_shape = np.shape(value)
        return value

    def backward(self, dout: float | np.ndarray = 1.0) -> np.ndarray:
        """dLoss/dinput from the last forward call, times dout = dSomething/dLoss.

        dout is a number, or for reduction='none' an array of the loss's shape (one value per
        sample for cross-entropy, whose gradient has one more axis: the classes).
        """
        if self._grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        if np.ndim(dout) == 0:  # a number (a Python float keeps float32 gradients float32)
            return self._grad * dout
        dout = np.asarray(dout)
        if dout.shape != self._loss_shape:
            raise ValueError(
                f"dout has shape {dout.shape} but the loss has shape {self._loss_shape} "
                f"(reduction={self.reduction!r}); pass a number or an array of the loss's shape"
            )
        if dout.ndim < self._grad.ndim:  # cross-entropy: (N, d1, ...) -> (N, 1, d1, ...)
            dout = np.expand_dims(dout, 1)
        return self._grad * dout

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error."""

    def _compute(self, input, target):
        return losses.mse_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities; weight rescales each element's loss."""

    def __init__(self, weight: np.ndarray | None = None, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.weight = weight

    def _compute(self, input, target):
        return losses.binary_cross_entropy(
            input, target, weight=self.weight, reduction=self.reduction
        )


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (sigmoid built in, numerically stable).

    weight rescales each element's loss, pos_weight the positive term (e.g. one per class).
    """

    def __init__(
        self,
        weight: np.ndarray | None = None,
        *,
        reduction: str = "mean",
        pos_weight: np.ndarray | None = None,
    ) -> None:
        super().__init__(reduction=reduction)
        self.weight = weight
        self.pos_weight = pos_weight

    def _compute(self, input, target):
        return losses.binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on logits (N, C), (N, C, d1, ...) or (C,), against class labels
    (N,), (N, d1, ...) or a scalar, or class probabilities of the input's shape."""

    def __init__(
        self,
        weight: np.ndarray | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction=reduction)
        self.weight = weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def _compute(self, input, target):
        return losses.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )
