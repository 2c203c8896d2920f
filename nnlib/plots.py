"""Plots used throughout the course, drawn with matplotlib.

Functions that draw one panel take an optional `ax` and return the Axes; functions that draw
a grid of panels take an optional `fig` (a Figure or SubFigure) and return it. None of them
calls plt.show(). In a notebook end the line with `;` to avoid printing the returned object.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Circle

from nnlib.functional import ACTIVATIONS
from nnlib.metrics import confusion_matrix

__all__ = [
    "confusion_matrix",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_history",
    "plot_image_grid",
    "plot_network",
]

MISTAKE_COLOR = "tab:red"
# The course's one sign convention, as in the RdBu_r colour maps: red positive, blue negative.
POSITIVE_COLOR = "tab:red"
NEGATIVE_COLOR = "tab:blue"


def _grid(n: int, ncols: int, fig: Figure | SubFigure | None, panel_size: float) -> tuple:
    """A figure with at least n panels in rows of ncols; unused panels are hidden."""
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    if fig is None:
        fig = plt.figure(figsize=(panel_size * ncols, panel_size * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


#: The other two logits of the softmax panel: the reference example softmax(2.0, 1.0, 0.1) is
#: the panel at z = 2.
SOFTMAX_OTHER_LOGITS = (1.0, 0.1)


def _softmax_panel(ax: Axes, z: np.ndarray, others: Sequence[float]) -> None:
    """softmax(z, *others) as z moves: every probability, and dp_1/dz_1 = p_1 (1 - p_1)."""
    from nnlib.functional import softmax

    logits = np.column_stack([z, np.broadcast_to(np.asarray(others, dtype=np.float64),
                                                 (len(z), len(others)))])
    probs = softmax(logits, dim=1)
    ax.plot(z, probs[:, 0], label="$p_1$ (f)")
    ax.plot(z, probs[:, 0] * (1 - probs[:, 0]), "--", label="$\\partial p_1/\\partial z_1$")
    for k, other in enumerate(others, start=2):
        ax.plot(z, probs[:, k - 1], linewidth=1, alpha=0.7, label=f"$p_{k}$ ($z_{k}$={other:g})")
    ax.set_title("softmax(z, " + ", ".join(f"{o:g}" for o in others) + ")")


def plot_activations(
    names: Sequence[str] = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu"),
    z: np.ndarray | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """One panel per activation function f with its derivative f' (dashed).

    ``"softmax"`` is a panel of its own: softmax maps a vector to a vector, so it shows every
    probability of softmax(z, 1.0, 0.1) as the first logit z moves (`SOFTMAX_OTHER_LOGITS`),
    with the diagonal entry of its Jacobian, dp_1/dz_1 = p_1 (1 - p_1), dashed.
    """
    z = np.linspace(-5, 5, 401) if z is None else np.asarray(z, dtype=np.float64)
    for name in names:
        if name not in ACTIVATIONS and name != "softmax":
            known = sorted([*ACTIVATIONS, "softmax"])
            raise ValueError(f"unknown activation {name!r}; choose from {known}")
    fig, axes = _grid(len(names), ncols=3, fig=fig, panel_size=3.2)
    for ax, name in zip(axes, names, strict=True):
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        if name == "softmax":
            _softmax_panel(ax, z, SOFTMAX_OTHER_LOGITS)
        else:
            f, df = ACTIVATIONS[name]
            ax.plot(z, f(z), label="f(z)")
            ax.plot(z, df(z), "--", label="f'(z)")
            ax.set_title(name)
        ax.set_xlabel("z")
        # softmax's p_2 and p_3 start high and low on the left: its legend goes between them.
        ax.legend(loc="center left" if name == "softmax" else "upper left", fontsize="small")
    return fig


# ---------------------------------------------------------------------------------------------
# Decision boundaries
# ---------------------------------------------------------------------------------------------


def plot_decision_boundary(
    predict_fn: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    ax: Axes | None = None,
    resolution: int = 200,
    title: str | None = None,
) -> Axes:
    """Colour the plane by a 2-D classifier's prediction and scatter the data on top.

    predict_fn maps points (n, 2) to class ids (n,), to class probabilities (n, C), or to the
    probability of class 1 (n,) or (n, 1); probabilities of class 1 are shaded, with the 0.5
    contour drawn as the boundary.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {X.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))

    # A grid of points covering the data with a margin.
    low, high = X.min(axis=0), X.max(axis=0)
    margin = 0.1 * (high - low) + 0.1
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    out = np.asarray(predict_fn(np.column_stack([xx.ravel(), yy.ravel()])))

    if out.ndim == 2 and out.shape[1] > 1:
        out = out.argmax(axis=1)
    out = out.reshape(-1)
    is_class_ids = np.issubdtype(out.dtype, np.integer) or np.all(out == np.round(out))
    if is_class_ids:
        num_classes = int(max(out.max(), y.max())) + 1
        colors = matplotlib.colormaps["tab10"].colors[: max(num_classes, 2)]
        cmap = ListedColormap(colors)
        levels = np.arange(len(colors) + 1) - 0.5
        ax.contourf(xx, yy, out.reshape(xx.shape), levels=levels, cmap=cmap, alpha=0.3)
        ax.scatter(
            X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=len(colors) - 0.5, edgecolors="k"
        )
    else:
        probs = out.reshape(xx.shape)
        ax.contourf(xx, yy, probs, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.4)
        ax.contour(xx, yy, probs, levels=[0.5], colors="k", linewidths=1.5)
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", vmin=0, vmax=1, edgecolors="k")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title is not None:
        ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------------------------
# Training curves
# ---------------------------------------------------------------------------------------------


def plot_history(
    history: Any,
    metrics: Sequence[str] = ("loss", "accuracy"),
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """One panel per metric with its training and validation ('val_' + metric) curves.

    history is a nnlib.training.History or a dict of lists; missing metrics are skipped.
    """
    data: Mapping[str, Sequence[float]] = getattr(history, "metrics", history)
    shown = [m for m in metrics if m in data or f"val_{m}" in data]
    if not shown:
        raise ValueError(f"none of {list(metrics)} is in the history (it has {list(data)})")
    fig, axes = _grid(len(shown), ncols=len(shown), fig=fig, panel_size=4.0)
    for ax, metric in zip(axes, shown, strict=True):
        for name, label in ((metric, "train"), (f"val_{metric}", "validation")):
            if name in data:
                values = data[name]
                marker = "." if len(values) < 30 else ""
                ax.plot(range(1, len(values) + 1), values, marker=marker, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def _as_images(images: np.ndarray) -> np.ndarray:
    """(N, H, W) images from (N, H, W) or square (N, H * W) vectors such as MNIST's 784."""
    images = np.asarray(images)
    if images.ndim == 3:
        return images
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side == images.shape[1]:
            return images.reshape(len(images), side, side)
    raise ValueError(f"images must have shape (N, H, W) or (N, H*W) with H = W, got {images.shape}")


def plot_image_grid(
    images: np.ndarray,
    predicted: Sequence | np.ndarray,
    true: Sequence | np.ndarray | None = None,
    n: int = 25,
    probs: np.ndarray | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """The first n images with their predicted (and true) labels; mistakes in red.

    probs, if given, is the probability of each predicted label (N,) or all class
    probabilities (N, C); it is shown as a percentage after the prediction.
    """
    images = _as_images(images)
    predicted = np.asarray(predicted).reshape(-1)
    true = None if true is None else np.asarray(true).reshape(-1)
    probs = None if probs is None else np.asarray(probs)
    n = min(n, len(images))
    fig, axes = _grid(n, ncols=math.ceil(math.sqrt(n)), fig=fig, panel_size=1.5)
    for i, ax in enumerate(axes):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        title = f"pred {predicted[i]}"
        if probs is not None:
            p = probs[i, int(predicted[i])] if probs.ndim == 2 else probs[i]
            title += f" ({p:.0%})"
        mistake = False
        if true is not None:
            title += f"\ntrue {true[i]}"
            mistake = predicted[i] != true[i]
        ax.set_title(title, fontsize=8, color=MISTAKE_COLOR if mistake else "black")
        if mistake:
            for spine in ax.spines.values():
                spine.set_color(MISTAKE_COLOR)
                spine.set_linewidth(2)
    return fig


# ---------------------------------------------------------------------------------------------
# Confusion matrix
# ---------------------------------------------------------------------------------------------


def plot_confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    num_classes: int | None = None,
    normalize: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Confusion matrix (rows: true class, columns: predicted class) with the value in each cell.

    normalize=True divides each row by its total, so the diagonal shows each class's recall.
    """
    counts = confusion_matrix(y_true, y_pred, num_classes)
    k = len(counts)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = counts / np.maximum(totals, 1)
    else:
        values = counts
    if ax is None:
        size = min(3 + 0.5 * k, 10)
        _, ax = plt.subplots(figsize=(size, size))
    ax.imshow(values, cmap="Blues", vmin=0)
    threshold = values.max() / 2
    for i in range(k):
        for j in range(k):
            text = f"{values[i, j]:.2f}" if normalize else str(values[i, j])
            color = "white" if values[i, j] > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", color=color, fontsize="small")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return ax


# ---------------------------------------------------------------------------------------------
# Network diagram
# ---------------------------------------------------------------------------------------------


def _network_from_model(model: Any) -> tuple[list[int], list[np.ndarray]]:
    """Layer sizes and weight matrices (out, in) of the Linear layers of an nnlib model."""
    from nnlib.nn import Linear

    linears = [m for m in model.modules() if isinstance(m, Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no Linear layers to draw")
    sizes = [linears[0].in_features] + [layer.out_features for layer in linears]
    return sizes, [layer.weight.data for layer in linears]


def _shown_neurons(size: int, max_neurons: int) -> tuple[list[int], int | None]:
    """Indices of the neurons drawn, and the slot of the '...' marker (None if all are drawn)."""
    if size <= max_neurons:
        return list(range(size)), None
    kept = max_neurons - 1  # one slot goes to the ellipsis
    top = (kept + 1) // 2
    bottom = kept - top
    return list(range(top)) + list(range(size - bottom, size)), top


def plot_network(
    model_or_layer_sizes: Any,
    weights: Sequence[np.ndarray] | None = None,
    ax: Axes | None = None,
    max_neurons: int = 10,
) -> Axes:
    """Draw a fully connected network: neurons as circles, weights as lines.

    Accepts an nnlib model (its Linear layers are drawn) or a list of layer sizes with optional
    weight matrices of shape (out, in). Line colour is the weight's sign (red positive, blue
    negative, like the lessons' RdBu_r colour maps) and line width its size. Layers with more
    than max_neurons neurons show only the first and last few, with a vertical ellipsis between
    them.
    """
    if hasattr(model_or_layer_sizes, "modules"):
        if weights is not None:
            raise ValueError("weights are read from the model; pass them only with layer sizes")
        sizes, weights = _network_from_model(model_or_layer_sizes)
    else:
        sizes = [int(s) for s in model_or_layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"need at least two layers of size >= 1, got {sizes}")
    if weights is not None:
        weights = [np.asarray(w) for w in weights]
        expected = [(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
        if [w.shape for w in weights] != expected:
            raise ValueError(
                f"weights must have shapes {expected} (out, in), got {[w.shape for w in weights]}"
            )
    if max_neurons < 3:
        raise ValueError(f"max_neurons must be >= 3, got {max_neurons}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.8 * len(sizes) + 1, 5))

    x_gap, radius = 3.0, 0.3
    shown = [_shown_neurons(size, max_neurons) for size in sizes]
    positions = []  # per layer: {neuron index: (x, y)}
    for layer, (neurons, dots) in enumerate(shown):
        slots = len(neurons) + (dots is not None)
        ys = [(slots - 1) / 2 - s for s in range(slots)]
        if dots is not None:
            ax.plot([layer * x_gap] * 3, ys[dots] + np.array([-0.25, 0, 0.25]), "k.", ms=3)
            del ys[dots]
        positions.append({i: (layer * x_gap, y) for i, y in zip(neurons, ys, strict=True)})

    for layer in range(len(sizes) - 1):
        segments, colors, widths = [], [], []
        w = None if weights is None else weights[layer]
        scale = 1.0
        if w is not None:
            shown_w = w[np.ix_(shown[layer + 1][0], shown[layer][0])]
            scale = float(np.abs(shown_w).max()) or 1.0
        for j, end in positions[layer + 1].items():
            for i, begin in positions[layer].items():
                segments.append([begin, end])
                if w is None:
                    colors.append("grey")
                    widths.append(0.6)
                else:
                    colors.append(POSITIVE_COLOR if w[j, i] >= 0 else NEGATIVE_COLOR)
                    widths.append(0.2 + 2.8 * abs(w[j, i]) / scale)
        ax.add_collection(LineCollection(segments, colors=colors, linewidths=widths, alpha=0.7))

    last = len(sizes) - 1
    height = max(len(n) + (d is not None) for n, d in shown)
    for layer, neuron_positions in enumerate(positions):
        for x, y in neuron_positions.values():
            ax.add_patch(Circle((x, y), radius, facecolor="white", edgecolor="k", zorder=3))
        name = "input" if layer == 0 else "output" if layer == last else "hidden"
        ax.text(layer * x_gap, -height / 2 - 0.2, f"{name}\n{sizes[layer]}", ha="center", va="top")

    ax.set_xlim(-1, last * x_gap + 1)
    ax.set_ylim(-height / 2 - 2.2, height / 2 + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
