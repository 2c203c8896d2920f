"""Tests for nnlib.plots: every function draws what it should, off screen (Agg backend)."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import Circle

from nnlib import nn
from nnlib.plots import (
    confusion_matrix,
    plot_activations,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    plot_image_grid,
    plot_network,
)
from nnlib.training import History

matplotlib.use("Agg")

RED = to_rgba("tab:red")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_plot_activations_draws_each_function_and_its_derivative():
    fig = plot_activations(("sigmoid", "relu", "tanh", "gelu"))
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["sigmoid", "relu", "tanh", "gelu"]
    z, relu = axes[1].get_lines()[-2].get_data()  # after the two zero lines: f, then f'
    _, drelu = axes[1].get_lines()[-1].get_data()
    assert np.allclose(relu, np.maximum(z, 0)) and np.allclose(drelu, z > 0)
    with pytest.raises(ValueError, match="unknown activation"):
        plot_activations(("swish",))


def test_the_softmax_panel_shows_every_probability_and_the_jacobian_diagonal():
    from nnlib.plots import SOFTMAX_OTHER_LOGITS

    (ax,) = visible_axes(plot_activations(("softmax",)))
    p1, dp1, p2, p3 = (line.get_data()[1] for line in ax.get_lines()[-4:])
    z = ax.get_lines()[-1].get_data()[0]
    assert np.allclose(p1 + p2 + p3, 1.0)
    assert np.allclose(dp1, p1 * (1 - p1))
    # At z = 2 it is the reference example softmax(2.0, 1.0, 0.1) = (0.659, 0.242, 0.099).
    at = np.argmin(np.abs(z - 2.0))
    assert SOFTMAX_OTHER_LOGITS == (1.0, 0.1) and np.isclose(z[at], 2.0)
    assert np.allclose([p1[at], p2[at], p3[at]], [0.659, 0.242, 0.099], atol=5e-4)


def test_plot_decision_boundary_class_ids_and_probabilities():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = (X[:, 0] > 0).astype(int)
    ax = plot_decision_boundary(lambda p: (p[:, 0] > 0).astype(int), X, y, resolution=50, title="t")
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points[-1].get_offsets()) == 40
    assert ax.get_title() == "t"
    assert len(ax.collections) == 2  # filled regions and the points

    def probs(p):
        return 1 / (1 + np.exp(-3 * p[:, 0]))

    ax = plot_decision_boundary(probs, X, y, resolution=50)
    assert len(ax.collections) == 3  # shading, the 0.5 contour, the points
    # Per-class probabilities (n, C) are reduced with argmax.
    ax = plot_decision_boundary(lambda p: np.column_stack([1 - probs(p), probs(p)]), X, y)
    assert len(ax.collections) == 2


def test_plot_history_train_and_validation_curves():
    history = History()
    for epoch in range(5):
        history.log(loss=1 / (epoch + 1), val_loss=1.2 / (epoch + 1), accuracy=0.5 + epoch / 10)
    fig = plot_history(history)
    loss_ax, acc_ax = visible_axes(fig)
    assert [line.get_label() for line in loss_ax.get_lines()] == ["train", "validation"]
    assert len(acc_ax.get_lines()) == 1
    assert np.allclose(loss_ax.get_lines()[0].get_ydata(), history["loss"])
    assert list(loss_ax.get_lines()[0].get_xdata()) == [1, 2, 3, 4, 5]
    # A plain dict works too, and missing metrics are skipped.
    fig = plot_history({"loss": [3.0, 2.0]}, metrics=("loss", "accuracy"))
    assert len(visible_axes(fig)) == 1
    assert len(visible_axes(history.plot(metrics=("loss",)))) == 1
    with pytest.raises(ValueError):
        plot_history({"loss": [1.0]}, metrics=("accuracy",))


def test_plot_image_grid_marks_mistakes_in_red():
    images = np.random.default_rng(0).random((30, 784))
    predicted = np.arange(30) % 10
    true = predicted.copy()
    true[[1, 4, 7]] = 9 - true[[1, 4, 7]]
    fig = plot_image_grid(images, predicted, true, n=12)
    axes = visible_axes(fig)
    assert len(axes) == 12 and all(len(ax.images) == 1 for ax in axes)
    assert axes[0].images[0].get_array().shape == (28, 28)
    red = [i for i, ax in enumerate(axes) if to_rgba(ax.title.get_color()) == RED]
    assert red == [1, 4, 7]
    assert to_rgba(axes[1].spines["left"].get_edgecolor()) == RED
    assert axes[2].get_title() == "pred 2\ntrue 2"


def test_plot_image_grid_with_probabilities_and_without_labels():
    images = np.zeros((3, 8, 8))
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    fig = plot_image_grid(images, [0, 1, 0], probs=probs)
    titles = [ax.get_title() for ax in visible_axes(fig)]
    assert titles == ["pred 0 (90%)", "pred 1 (80%)", "pred 0 (60%)"]


def test_confusion_matrix_plot_shows_the_counts():
    y_true = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 2, 2, 2, 0])
    expected = confusion_matrix(y_true, y_pred)
    assert expected.tolist() == [[1, 1, 0], [0, 2, 1], [1, 0, 3]]
    ax = plot_confusion_matrix(y_true, y_pred)
    assert np.array_equal(ax.images[0].get_array(), expected)
    cells = [int(t.get_text()) for t in ax.texts]
    assert cells == expected.ravel().tolist()
    ax = plot_confusion_matrix(y_true, y_pred, num_classes=4, normalize=True)
    values = ax.images[0].get_array()
    assert values.shape == (4, 4)
    assert np.allclose(values.sum(axis=1), [1, 1, 1, 0])
    assert ax.texts[0].get_text() == "0.50"


def segments(ax):
    return sum(len(c.get_segments()) for c in ax.collections if isinstance(c, LineCollection))


def circles(ax):
    return sum(isinstance(p, Circle) for p in ax.patches)


def test_plot_network_from_sizes_and_weights():
    ax = plot_network([2, 3, 1])
    assert segments(ax) == 2 * 3 + 3 * 1
    assert circles(ax) == 6
    weights = [np.array([[1.0, -1.0], [0.5, 0.0], [-2.0, 2.0]]), np.array([[1.0, -0.5, 0.1]])]
    ax = plot_network([2, 3, 1], weights=weights)
    first = ax.collections[0]
    colors = [tuple(c) for c in first.get_colors()]
    widths = first.get_linewidths()
    signs = np.sign(weights[0]).ravel()  # segments go output neuron by output neuron
    assert [c[:3] == RED[:3] for c in colors] == list(signs >= 0)  # red positive, blue negative
    assert widths[4] == max(widths)  # |-2| is the largest weight of the layer
    with pytest.raises(ValueError, match="shapes"):
        plot_network([2, 3, 1], weights=[np.zeros((2, 3)), np.zeros((1, 3))])


def test_plot_network_from_a_model_shows_a_subset_of_big_layers():
    model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    ax = plot_network(model, max_neurons=8)
    # 784 and 32 neurons: 7 drawn plus an ellipsis; the 10 outputs: 7 drawn plus an ellipsis.
    assert circles(ax) == 7 + 7 + 7
    assert segments(ax) == 7 * 7 + 7 * 7
    assert [t.get_text() for t in ax.texts] == ["input\n784", "hidden\n32", "output\n10"]
    small = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    ax = plot_network(small)
    assert segments(ax) == 2 * 4 + 4 * 1 and circles(ax) == 7


def test_plots_does_not_import_training():
    """nnlib.training imports nnlib.plots (History.plot): the other way round is a cycle.
    Both take confusion_matrix from nnlib.metrics."""
    import ast
    from pathlib import Path

    import nnlib.plots
    from nnlib import training

    tree = ast.parse(Path(nnlib.plots.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "nnlib.training" not in imported
    assert confusion_matrix is training.confusion_matrix
