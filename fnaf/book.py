"""Plumbing of the book's pages (not of the experiments): the downloads line each chapter ends
with, and the build's timing record (:func:`notebook_times`, read from Jupyter Book's execution
cache by ``tools/book_times.py`` and the page "Running the book in class"). Rendered by myst-nb
as MyST (``nb_render_markdown_format: myst`` in ``_config.yml``), so the links are Sphinx
download roles and a missing file fails the build."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from IPython.display import Markdown

#: The checkout the package runs from: the book's records (``_build/``, ``book/``) are read
#: from it, whichever folder a page is executed in.
CHECKOUT = Path(__file__).resolve().parents[1]
#: Where Jupyter Book writes a chapter's executed notebook, relative to ``notebooks/``.
EXECUTED_NOTEBOOK = "../_build/jupyter_execute/notebooks/{stem}.ipynb"


def downloads(tables: Sequence[Path], notebook: str) -> Markdown:
    """A "Downloads" line: the chapter's result tables (CSV files written by
    :func:`fnaf.io.save_tables`, paths relative to the notebook's folder) and its executed
    notebook ``notebook`` (the file's stem, e.g. ``"01_baselines"``)."""
    links = [f"{{download}}`{Path(path).name} <{Path(path).as_posix()}>`" for path in tables]
    links.append(f"{{download}}`the executed notebook <{EXECUTED_NOTEBOOK.format(stem=notebook)}>`")
    return Markdown("**Downloads:** " + ", ".join(links))


def notebook_times(cache_dir: Path) -> list[tuple[str, float, str, str | None]]:
    """(notebook file name, execution seconds, date executed, lane or None) per cached notebook,
    by name: its latest record (an edited notebook leaves its earlier executions in the cache)."""
    if not cache_dir.is_dir():
        raise FileNotFoundError(f"{cache_dir}: no execution cache; build the book first "
                                f"(`make book`)")
    from jupyter_cache import get_cache  # the book's extra

    latest = {}
    for record in sorted(get_cache(str(cache_dir)).list_cache_records(),
                         key=lambda record: record.created):
        latest[Path(record.uri).name] = (float(record.data.get("execution_seconds", "nan")),
                                         f"{record.created:%Y-%m-%d %H:%M}",
                                         record.data.get("lane"))
    return sorted((name, *values) for name, values in latest.items())


def wall_seconds(rows) -> float:
    """The book's execution wall time: its longest lane plus the notebooks executed alone."""
    lanes: dict[str, float] = {}
    alone = 0.0
    for _, seconds, _, lane in rows:
        if lane is None:
            alone += seconds
        else:
            lanes[lane] = lanes.get(lane, 0.0) + seconds
    return alone + max(lanes.values(), default=0.0)
