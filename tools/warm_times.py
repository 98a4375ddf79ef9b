"""Execute every page of the book again on a filled run cache and record how long each took: the
warm times of the page "Running the book in class" (``book/warm_times.json``); with
``--exercises``, every exercise of ``book/exercises.yml`` instead (``book/exercise_times.json``,
shown beside each exercise).

Run it after ``make book`` (which fills the caches), on the book's machine, with nothing else
running: ``python tools/warm_times.py [--exercises] [--out FILE]``. Each page is executed by
papermill into a temporary folder with its default parameters (an exercise's changed), so its
results go there, not into the book's. The record holds the seconds, the date and the machine's
cores.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import papermill
import yaml

from fnaf.exercises import EXERCISES
from fnaf.io import save_json

ROOT = Path(__file__).resolve().parent.parent


def pages(toc: Path) -> list[str]:
    """The notebooks (``notebooks/<name>``) of the table of contents, in its order."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("file", "")).startswith("notebooks/"):
                found.append(node["file"].split("/", 1)[1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(toc.read_text()))
    return found


def timed(page: str, parameters: dict, scratch: Path) -> float:
    """Seconds to execute ``page`` with ``parameters`` (results under ``scratch``)."""
    start = time.perf_counter()
    papermill.execute_notebook(
        str(ROOT / "notebooks" / f"{page}.ipynb"), str(scratch / f"{page}.ipynb"),
        parameters={**parameters, "results_dir": str(scratch / page)}, progress_bar=False,
        cwd=str(ROOT / "notebooks"), kernel_name="python3")
    return round(time.perf_counter() - start, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercises", action="store_true", help="time the exercises instead")
    parser.add_argument("--out", type=Path, help="the record (default: book/warm_times.json, "
                        "or book/exercise_times.json with --exercises)")
    parser.add_argument("--toc", type=Path, default=ROOT / "_toc.yml")
    parser.add_argument("--note", help="how the machine was loaded, shown with the times "
                        "(e.g. 'beside other work': then they are upper bounds)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the record's times and run only what it lacks")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "book" / ("exercise_times.json" if args.exercises else
                                       "warm_times.json")
    seconds: dict = json.loads(out.read_text())["seconds"] if args.resume and out.exists() else {}

    def record(key: tuple[str, ...], took: float) -> None:
        """Keep ``took`` under ``key`` and rewrite the record (so an interrupted run resumes)."""
        *outer, last = key
        node = seconds
        for name in outer:
            node = node.setdefault(name, {})
        node[last] = took
        print(f"{', '.join(key)}: {took} s", flush=True)
        save_json({"seconds": seconds, "date": f"{datetime.date.today()}",
                   "cores": os.cpu_count(), **({"note": args.note} if args.note else {})}, out)

    with tempfile.TemporaryDirectory() as scratch:
        if args.exercises:
            for page, exercises in yaml.safe_load(EXERCISES.read_text()).items():
                for exercise in exercises:
                    if exercise["title"] not in seconds.get(page, {}):
                        record((page, exercise["title"]),
                               timed(page, exercise["parameters"], Path(scratch)))
        else:
            for page in pages(args.toc):
                if page not in seconds:
                    record((page,), timed(page, {}, Path(scratch)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
