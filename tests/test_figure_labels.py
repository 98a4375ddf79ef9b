"""fnaf.figure_labels: a figure showing an axis without a label is named, and a notebook cell
that leaves one open fails."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fnaf import figure_labels  # noqa: E402
from fnaf.figure_labels import unlabelled_axes  # noqa: E402


@pytest.fixture(autouse=True)
def _closed():
    yield
    plt.close("all")


def test_an_axis_with_ticks_and_no_label_is_named():
    figure, (curve, image) = plt.subplots(1, 2)
    curve.plot([1, 2])
    curve.set_xlabel("ε")
    curve.set_title("SSIM")
    image.imshow(np.zeros((4, 4)))
    image.axis("off")  # an image without axes has nothing to label
    assert unlabelled_axes(figure) == ["axes 'SSIM' (y)"]
    curve.set_ylabel("SSIM")
    assert unlabelled_axes(figure) == []


def test_a_colour_bar_needs_its_scale():
    figure, ax = plt.subplots()
    shown = ax.imshow(np.zeros((4, 4)))
    ax.axis("off")
    bar = figure.colorbar(shown, ax=ax)
    assert unlabelled_axes(figure) == ["an untitled axes (colour bar)"]
    bar.set_label("|error|")
    assert unlabelled_axes(figure) == []


def test_shared_axes_and_figure_labels_count():
    figure, axes = plt.subplots(2, 2, sharex=True, sharey=True)
    for ax in axes.flat:
        ax.plot([1, 2])
    axes[1, 0].set_xlabel("x")
    assert unlabelled_axes(figure) == ["an untitled axes (y)"] * 2  # the left column's
    figure.supylabel("y")
    assert unlabelled_axes(figure) == []


def test_a_cell_leaving_a_figure_open_fails_and_a_captioned_labelled_one_shows_its_value(
        monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv(figure_labels.SWITCH, "1")
    shell = InteractiveShell.instance()
    try:
        assert figure_labels.install() and figure_labels.install()  # once, however often
        assert sum(isinstance(t, figure_labels._CheckFigures)
                   for t in shell.ast_transformers) == 1
        failed = shell.run_cell("import matplotlib.pyplot as plt\n"
                                "figure, ax = plt.subplots()\nax.plot([1, 2])")
        assert isinstance(failed.error_in_exec, ValueError)
        assert "figure 1: an untitled axes (x), an untitled axes (y)" in str(
            failed.error_in_exec)
        assert plt.get_fignums() == []  # the failing check closed it
        uncaptioned = shell.run_cell("figure, ax = plt.subplots()\nax.plot([1, 2])\n"
                                     "ax.set(xlabel='x', ylabel='y')\n6 * 7")
        assert "left open at the end of the cell, so shown without a caption" in str(
            uncaptioned.error_in_exec)
        shown = shell.run_cell("from fnaf.captions import show_figure\n"
                               "figure, ax = plt.subplots()\nax.plot([1, 2])\n"
                               "ax.set(xlabel='x', ylabel='y')\n"
                               "show_figure(figure, 'A line.', 'no images: a line')\n6 * 7")
        assert shown.error_in_exec is None and shown.result == 42
        unlabelled = shell.run_cell("figure, ax = plt.subplots()\nax.plot([1, 2])\n"
                                    "show_figure(figure, 'A line.', 'no images: a line')")
        assert "an untitled axes (x)" in str(unlabelled.error_in_exec)
    finally:
        shell.ast_transformers[:] = [t for t in shell.ast_transformers
                                     if not isinstance(t, figure_labels._CheckFigures)]
        InteractiveShell.clear_instance()


def test_switched_off_outside_the_book(monkeypatch):
    monkeypatch.delenv(figure_labels.SWITCH, raising=False)
    assert not figure_labels.install()
