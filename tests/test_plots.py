"""Figures: the zoom on a small feature stays on it and inside the image; error maps carry their
colour bar; losses of different kinds are never drawn on one axis."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fnaf import plots  # noqa: E402
from fnaf.studies.classification import patch_examples, roc_figure  # noqa: E402


def region_at(row, column, shape=(64, 64), size=3):
    region = np.zeros(shape, dtype=bool)
    region[row:row + size, column:column + size] = True
    return region


def test_the_zoom_window_holds_the_region_and_stays_inside_the_image():
    for row, column in ((30, 30), (0, 0), (61, 61)):
        region = region_at(row, column)
        rows, columns = plots.zoom_window(region)
        assert rows.stop - rows.start == columns.stop - columns.start == 24
        assert 0 <= rows.start and rows.stop <= 64 and 0 <= columns.start and columns.stop <= 64
        assert region[rows, columns].sum() == region.sum()  # the whole region is shown
    with pytest.raises(ValueError, match="empty"):
        plots.zoom_window(np.zeros((8, 8), dtype=bool))


def test_the_reconstruction_grid_has_an_error_colour_bar_and_a_zoom_row():
    target = np.random.default_rng(0).random((64, 64))
    figure = plots.reconstruction_grid(target, {"U-Net": target * 0.9, "FNAF U-Net": target},
                                       region=region_at(10, 50))
    colour_bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 1 and colour_bars[0].get_ylabel() == "absolute error"
    assert sum("zoom on T" in ax.get_title() for ax in figure.axes) == 3


def test_training_curves_give_each_loss_its_own_axis():
    history = [{"epoch": epoch, "val_loss": 1.0 / (epoch + 1), "SSIM": 0.5} for epoch in range(3)]
    figure = plots.training_curves({"U-Net": history, "I-RIM": history},
                                   {"U-Net": "L1 (normalised images)", "I-RIM": "−SSIM (i-RIM)"})
    labels = [ax.get_ylabel() for ax in figure.axes]
    assert labels == ["validation L1 (normalised images)", "validation −SSIM (i-RIM)",
                      "validation SSIM"]
    assert [len(ax.get_lines()) for ax in figure.axes] == [1, 1, 2]


def test_example_patches_take_one_patch_per_slice_and_class_from_every_input():
    import pandas as pd

    table = pd.DataFrame({"fname": ["a.h5"] * 4 + ["b.h5"] * 2, "slice": [0, 0, 1, 1, 0, 0],
                          "label": [1, 1, 1, 0, 1, 0]})
    images = np.arange(6)[:, None, None] * np.ones((6, 4, 4))
    figure = patch_examples({"Fully-sampled": images, "U-Net": images}, table, count=3)
    shown = [ax.images[0].get_array()[0, 0] for ax in figure.axes[:5]]
    assert shown == [0, 2, 4, 3, 5]  # abnormal: a/0, a/1, b/0 (not a/0 twice); normal: a/1, b/0
    assert len(figure.axes) == 2 * 5


def test_the_roc_figure_draws_every_input_in_each_panel():
    labels = np.array([0, 1, 0, 1, 1, 0])
    scores = {"Fully-sampled": np.linspace(0, 1, 6), "U-Net": np.array([.1, .9, .2, .8, .7, .3])}
    figure = roc_figure(labels, {"4×": scores, "8×": scores})
    assert len(figure.axes) == 2
    assert all(len(ax.lines) == 3 for ax in figure.axes)  # two inputs and the diagonal
