"""Every axis a figure shows carries a label: the check behind the book's figures.

:func:`unlabelled_axes` names the axes of a matplotlib figure that show tick labels without
saying what they measure: an x or y axis with visible tick labels needs its own label, one on
an axes it is shared with, or the figure's ``supxlabel``/``supylabel``; a colour bar needs its
label (the colour scale). Axes switched off (images) have nothing to label.

The book runs it on every figure it shows (:func:`fnaf.captions.show_figure`) and fails a cell
that leaves a figure open, shown without its caption (:func:`install`, switched on by the
environment variable ``FNAF_CHECK_FIGURES=1``, which ``tools/execute_book.py`` and the notebook
tests set): the cell then fails, naming the figure and its axes, so a figure without axis
labels or without a caption cannot reach the built book. A PNG in the HTML no longer knows
its axes; the figure does.
"""

from __future__ import annotations

import ast
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matplotlib is imported where a figure is checked, not on ``import fnaf``
    from matplotlib.figure import Figure

#: The environment variable that switches the check on in a notebook's kernel.
SWITCH = "FNAF_CHECK_FIGURES"


def _shows_ticks(axis) -> bool:
    return axis.get_visible() and any(
        label.get_visible() and label.get_text().strip() for label in axis.get_ticklabels())


def _name(ax) -> str:
    title = ax.get_title() or ax.get_title(loc="left") or ax.get_title(loc="right")
    return f"axes {title!r}" if title else "an untitled axes"


def unlabelled_axes(figure: Figure) -> list[str]:
    """The axes of ``figure`` showing tick labels without an axis label, as
    ``"<axes> (x)"``/``"<axes> (y)"``/``"<axes> (colour bar)"``; empty when every shown axis is
    labelled. Draws the figure (without rendering) so that its tick labels exist."""
    figure.draw_without_rendering()
    shared_label = {"x": bool(figure.get_supxlabel().strip()),
                    "y": bool(figure.get_supylabel().strip())}
    missing = []
    for ax in figure.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        colour_bar = ax.get_label() == "<colorbar>"  # matplotlib's name for a colour bar's axes
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if not _shows_ticks(axis):
                continue
            siblings = (ax.get_shared_x_axes() if name == "x" else ax.get_shared_y_axes()
                        ).get_siblings(ax)
            labelled = shared_label[name] or any(
                (sibling.get_xlabel() if name == "x" else sibling.get_ylabel()).strip()
                for sibling in siblings)
            if not labelled:
                missing.append(f"{_name(ax)} ({'colour bar' if colour_bar else name})")
    return missing


def require_labels(figures) -> None:
    """Raise naming every figure of ``figures`` with :func:`unlabelled_axes`."""
    problems = [f"figure {figure.number}: {', '.join(missing)}" for figure in figures
                if (missing := unlabelled_axes(figure))]
    if problems:
        raise ValueError("a figure shows axes without a label (set_xlabel/set_ylabel, a colour "
                         "bar's set_label, or the figure's supxlabel/supylabel): "
                         + "; ".join(problems))


def check_open_figures(value=None):
    """Raise when a cell leaves a figure open: the book shows each figure with
    :func:`fnaf.captions.show_figure`, which checks its labels and captions it with its unit
    and N. Returns ``value`` (so that a cell's last expression is still displayed)."""
    import matplotlib.pyplot as plt

    figures = [plt.figure(number) for number in plt.get_fignums()]
    try:
        require_labels(figures)
    finally:
        plt.close("all")  # a failed cell leaves no figure to the next
    if figures:
        raise ValueError(f"{len(figures)} figure(s) left open at the end of the cell, so shown "
                         "without a caption: show each with fnaf.captions.show_figure(figure, "
                         "what, sample), which says its unit, N and data")
    return value


class _CheckFigures(ast.NodeTransformer):
    """Ends every cell with :func:`check_open_figures`, wrapping its last expression."""

    def visit_Module(self, module: ast.Module) -> ast.Module:
        check = ast.parse("__import__('fnaf.figure_labels').figure_labels.check_open_figures",
                          mode="eval").body
        if module.body and isinstance(module.body[-1], ast.Expr):
            last = module.body[-1]
            last.value = ast.Call(func=check, args=[last.value], keywords=[])
        else:
            module.body.append(ast.Expr(ast.Call(func=check, args=[], keywords=[])))
        return ast.fix_missing_locations(module)


def install() -> bool:
    """In an IPython kernel with ``FNAF_CHECK_FIGURES=1``: check the open figures at the end of
    every later cell. Returns whether the check is now installed."""
    if os.environ.get(SWITCH) != "1":
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    if not any(isinstance(transformer, _CheckFigures) for transformer in shell.ast_transformers):
        shell.ast_transformers.append(_CheckFigures())
    return True
