"""The chapters' exercises (``book/exercises.yml``): variations of a page with the exact
papermill command, how long it took on the book's machine and what to look for.

Every exercise is run at smoke by ``tests/test_exercises.py`` (its command, with ``-p scale
smoke``), so the commands never rot; its time at the book's own scale comes from
``tools/warm_times.py --exercises`` (``book/exercise_times.json``), never typed.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from IPython.display import Markdown

from fnaf.book import CHECKOUT

#: The exercises and their recorded times, in the checkout (whatever folder a page runs in).
EXERCISES = CHECKOUT / "book" / "exercises.yml"
TIMES = CHECKOUT / "book" / "exercise_times.json"


def page_exercises(page: str, path: Path = EXERCISES) -> list[dict]:
    """The exercises of ``page`` (a notebook's stem), each ``title``, ``parameters`` and
    ``look_for``; a ``ValueError`` names a page without any."""
    exercises = yaml.safe_load(Path(path).read_text())
    if page not in exercises:
        raise ValueError(f"{path}: no exercises for {page!r}; add them (pages: "
                         f"{sorted(exercises)})")
    return exercises[page]


def command(page: str, parameters: dict) -> str:
    """The papermill command of an exercise: scalars as ``-p name value``, lists and other
    values as YAML (``-y``)."""
    options = []
    for name, value in parameters.items():
        if isinstance(value, (bool, int, float, str)):
            options.append(f"-p {name} {value}")
        else:
            options.append(f"-y '{name}: {json.dumps(value)}'")
    return f"papermill notebooks/{page}.ipynb out.ipynb {' '.join(options)}"


def exercises(page: str, path: Path = EXERCISES, times: Path = TIMES) -> Markdown:
    """``page``'s exercises as a numbered list: the title, the command, the minutes it took on
    the book's machine (or that it has not been timed yet) and what to look for."""
    recorded = json.loads(Path(times).read_text()) if Path(times).is_file() else {}
    lines = []
    note = f", {recorded['note']}" if "note" in recorded else ""
    for number, exercise in enumerate(page_exercises(page, path), start=1):
        seconds = recorded.get("seconds", {}).get(page, {}).get(exercise["title"])
        took = ("not timed yet on the book's machine (`tools/warm_times.py --exercises`)"
                if seconds is None else
                f"{seconds / 60:.1f} min on the book's machine ({recorded['cores']} cores, "
                f"caches filled, {recorded['date']}{note})")
        lines += [f"{number}. **{exercise['title']}** — {took}.", "",
                  f"   ```\n   {command(page, exercise['parameters'])}\n   ```", "",
                  f"   What to look for: {exercise['look_for']}", ""]
    return Markdown("\n".join(lines))
