"""Print how long each book notebook took to execute, and the totals against the build budgets:
the FNAF chapters (``00_*`` to ``06_*``, 25 min) and the whole book (45 min).

Usage: ``python tools/book_times.py _build/.jupyter_cache [--budget-min 25]
[--book-budget-min 45]`` (``make book`` runs it). Reads the execution cache that Jupyter Book
(myst-nb) keeps: each record holds the seconds its notebook ran when it was last executed, so
after a warm build the times are those of the build that executed it (its date is printed).
Notebooks that ``tools/execute_book.py`` executed side by side carry their lane: the book's wall
time is the longest lane plus the notebooks executed alone. Exits non-zero only when the cache
cannot be read.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from pathlib import Path

from fnaf.book import notebook_times, wall_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache_dir", type=Path)
    parser.add_argument("--budget-min", type=float, default=25.0,
                        help="cold-build budget of the FNAF chapters, minutes")
    parser.add_argument("--chapters", default="0[0-6]_*.ipynb",
                        help="the FNAF chapters' file pattern")
    parser.add_argument("--book-budget-min", type=float, default=45.0,
                        help="cold-build budget of the whole book, minutes")
    args = parser.parse_args(argv)
    try:
        rows = notebook_times(args.cache_dir)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    width = max((len(name) for name, *_ in rows), default=8)
    for name, seconds, executed, lane in rows:
        where = f", {lane}" if lane else ""
        print(f"{name:<{width}}  {seconds:7.1f} s  (executed {executed}{where})")
    chapters = sum(seconds for name, seconds, *_ in rows if fnmatch.fnmatch(name, args.chapters))
    for label, total, budget in (("FNAF chapters", chapters, args.budget_min),
                                 ("whole book", wall_seconds(rows), args.book_budget_min)):
        verdict = "within" if total <= 60 * budget else "OVER"
        print(f"{label:<{width}}  {total:7.1f} s  = {total / 60:.1f} min, {verdict} the "
              f"{budget:g} min budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
