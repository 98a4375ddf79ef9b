"""Measure the released code's training-side departures (run by hand): each FNAF fine-tune with
the released rule against the paper's objective from the same baseline
(``fnaf.studies.released_code.training_effects``), written to
``fnaf/measurements/released_training.csv`` with the commit it was measured at; the chapter on
the paper and its released code shows it.

Usage: ``python tools/released_training.py`` (about 6 min on 2 CPU cores for the demo; runs go
to the run cache, so the paper-objective fine-tunes the book trains are reused when
``FNAF_CACHE`` points at the book's cache).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fnaf.studies.released_code import training_effects
from fnaf.sweeps import MEASUREMENTS, save_measurement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("smoke", "demo"), default="demo")
    parser.add_argument("--out", type=Path, default=MEASUREMENTS)
    args = parser.parse_args()
    table = training_effects(args.scale)
    path = save_measurement(table.assign(scale=args.scale), "released_training", args.out)
    print(table.round(4).to_string())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
