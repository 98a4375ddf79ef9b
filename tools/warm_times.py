"""Execute every page of the book again on a filled run cache and record how long each took: the
warm times of the page "Running the book in class" (``book/warm_times.json``).

Run it after ``make book`` (which fills the caches), on the book's machine, with nothing else
running: ``python tools/warm_times.py [--out book/warm_times.json]``. Each page is executed by
papermill into a temporary folder with its default parameters (its results go there, not into
the book's). The record holds the seconds per page, the date and the machine's cores.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import papermill
import yaml

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "warm_times.json")
    parser.add_argument("--toc", type=Path, default=ROOT / "_toc.yml")
    args = parser.parse_args(argv)
    seconds = {}
    with tempfile.TemporaryDirectory() as scratch:
        for page in pages(args.toc):
            start = time.perf_counter()
            papermill.execute_notebook(
                str(ROOT / "notebooks" / f"{page}.ipynb"), str(Path(scratch) / f"{page}.ipynb"),
                parameters={"results_dir": str(Path(scratch) / page)}, progress_bar=False,
                cwd=str(ROOT / "notebooks"), kernel_name="python3")
            seconds[page] = round(time.perf_counter() - start, 1)
            print(f"{page}: {seconds[page]} s", flush=True)
    save_json({"seconds": seconds, "date": f"{datetime.date.today()}",
               "cores": os.cpu_count()}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
