"""Execute the book's notebooks into Jupyter Book's execution cache in two lanes side by side,
so that ``jupyter-book build`` then renders every page from that cache.

Jupyter Book (myst-nb, ``execute_notebooks: cache``) executes one notebook at a time. On the
project's 2-core machines a notebook's training uses the second core poorly (benchmarks/README),
so the chapters run in two lanes of one thread each, each about half of a cold build: the FNAF
paper's chapters (00-06, its released code) then chapter 10, which reads chapter 07's trained
networks, long finished by then; and chapters 07-09 with real fastMRI. Each lane executes its
notebooks in order; the summary, which reads every chapter's results, runs after both.
Chapters of the two lanes share cached runs safely: a run asked for by both is trained once
(the run's lock file, :func:`fnaf.runs.train_or_load`), and every other result is written
atomically.

A notebook whose code already has a cached execution is not executed again; the records are the
ones myst-nb looks up (the same hash of code cells and kernel), written with the same fields
plus the lane, which ``tools/book_times.py`` reads to report the build's wall time.

Every kernel checks the figures its cells leave open (:mod:`fnaf.figure_labels`): a figure
showing an axis without a label fails its notebook.

Usage: ``python tools/execute_book.py [--cache _build/.jupyter_cache] [--threads 2]
[--timeout 1800]`` (``make book`` runs it). Exits 1 naming each notebook that failed; the other
lane goes on, so a rerun executes only what is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

from fnaf import figure_labels

ROOT = Path(__file__).resolve().parent.parent
#: The notebooks (under notebooks/, without ``.ipynb``) of each lane, in execution order.
LANES = (
    ("00_data", "01_baselines", "02_fnaf_attacks", "03_robust_training", "04_bbox_training",
     "05_classification", "06_correlation_analysis", "released_code", "10_small_features"),
    ("07_measurement_attacks", "08_untrained_and_l1", "09_distribution_shift", "real_fastmri",
     "audit_your_model"),
)
#: Executed after every lane has finished (they read the chapters' results or cached runs).
LAST = ("summary", "leaderboard", "start_here", "run_times")
_CACHE = threading.Lock()  # one lane at a time on the cache's SQLite database


def toc_notebooks(toc: Path) -> set[str]:
    """The names of the notebooks (``notebooks/<name>``) the table of contents lists."""
    def files(node):
        if isinstance(node, dict):
            if str(node.get("file", "")).startswith("notebooks/"):
                yield node["file"].split("/", 1)[1]
            for value in node.values():
                yield from files(value)
        elif isinstance(node, list):
            for value in node:
                yield from files(value)
    return set(files(yaml.safe_load(toc.read_text())))


def check_lanes(listed: set[str], lanes=LANES, last=LAST) -> None:
    """Every notebook of the table of contents in exactly one lane, and no other."""
    placed = [name for lane in (*lanes, last) for name in lane]
    twice = sorted({name for name in placed if placed.count(name) > 1})
    missing, unknown = sorted(listed - set(placed)), sorted(set(placed) - listed)
    if twice or missing or unknown:
        raise ValueError(f"tools/execute_book.py LANES: not in a lane {missing}, in two {twice}, "
                         f"not in _toc.yml {unknown}; put each chapter of _toc.yml in exactly "
                         "one lane (LANES, or LAST if it reads other chapters' results)")


def execute_lane(names, notebooks: Path, cache_path: Path, lane: str | None,
                 timeout: int) -> list:
    """Execute ``names`` in order into the cache, recording ``lane`` (``None``: executed with
    nothing beside it); stop at the first failure. Returns ``[(name, seconds or None, error
    text or None)]``."""
    cache = get_cache(str(cache_path))
    label = lane or "alone"
    done = []
    for name in names:
        path = notebooks / f"{name}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        try:
            with _CACHE:
                cache.match_cache_notebook(notebook)
            print(f"[{label}] {name}: cached", flush=True)
            done.append((name, 0.0, None))
            continue
        except KeyError:
            pass
        print(f"[{label}] {name}: executing", flush=True)
        result = single_nb_execution(notebook, cwd=str(path.parent), allow_errors=False,
                                     timeout=timeout, meta_override=True)
        if result.err is not None:
            print(f"[{label}] {name}: FAILED ({type(result.err).__name__})", flush=True)
            done.append((name, None, result.exc_string))
            break
        with _CACHE:
            stage = cache.add_nb_to_project(str(path))
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, stage.uri,
                              data={"execution_seconds": result.time, "lane": lane}),
                check_validity=False, overwrite=True)
        print(f"[{label}] {name}: executed in {result.time:.1f} s", flush=True)
        done.append((name, result.time, None))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)),
                        help="CPU threads shared out over the lanes (at least 1 each)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per notebook cell")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--toc", type=Path, default=ROOT / "_toc.yml")
    args = parser.parse_args(argv)
    check_lanes(toc_notebooks(args.toc), LANES, LAST)
    os.environ["OMP_NUM_THREADS"] = str(max(1, args.threads // len(LANES)))  # the kernels' env
    os.environ[figure_labels.SWITCH] = "1"  # a cell leaving a figure without axis labels fails
    args.cache.mkdir(parents=True, exist_ok=True)
    get_cache(str(args.cache)).list_cache_records()  # creates the database before the lanes do
    start = time.perf_counter()
    with ThreadPoolExecutor(len(LANES)) as pool:
        lanes = list(pool.map(lambda item: execute_lane(item[1], args.notebooks, args.cache,
                                                        f"lane {item[0] + 1}", args.timeout),
                              enumerate(LANES)))
    failed = [row for lane in lanes for row in lane if row[2] is not None]
    if not failed:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        lanes.append(execute_lane(LAST, args.notebooks, args.cache, None, args.timeout))
        failed = [row for row in lanes[-1] if row[2] is not None]
    for name, _, error in failed:
        print(f"\n{name}.ipynb failed:\n{error}", file=sys.stderr)
    totals = ", ".join(f"{name} {sum(seconds or 0 for _, seconds, _ in lane):.0f} s"
                       for name, lane in zip([f"lane {k + 1}" for k in range(len(LANES))]
                                             + ["alone"], lanes))
    print(f"executed: {totals}; wall {time.perf_counter() - start:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
