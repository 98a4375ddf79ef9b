"""Plumbing of the book's pages (not of the experiments): the downloads line each chapter ends
with. Rendered by myst-nb as MyST (``nb_render_markdown_format: myst`` in ``_config.yml``), so the
links are Sphinx download roles and a missing file fails the build."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from IPython.display import Markdown

#: Where Jupyter Book writes a chapter's executed notebook, relative to ``notebooks/``.
EXECUTED_NOTEBOOK = "../_build/jupyter_execute/notebooks/{stem}.ipynb"


def downloads(tables: Sequence[Path], notebook: str) -> Markdown:
    """A "Downloads" line: the chapter's result tables (CSV files written by
    :func:`fnaf.io.save_tables`, paths relative to the notebook's folder) and its executed
    notebook ``notebook`` (the file's stem, e.g. ``"01_baselines"``)."""
    links = [f"{{download}}`{Path(path).name} <{Path(path).as_posix()}>`" for path in tables]
    links.append(f"{{download}}`the executed notebook <{EXECUTED_NOTEBOOK.format(stem=notebook)}>`")
    return Markdown("**Downloads:** " + ", ".join(links))
