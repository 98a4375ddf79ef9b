"""Measure how far Table 2 moves with the seeds alone (run by hand): ``fnaf.sweeps.seed_spread``
on the demo U-Net baseline, written to ``fnaf/measurements/seed_spread_<model>.csv`` with the
commit it was measured at; the attacks chapter shows it beside Table 2's intervals.

Usage: ``python tools/seed_spread.py --model unet`` (about 2.5 min per training seed on 2 CPU
cores; runs go to the run cache, so with ``FNAF_CACHE`` at the book's cache seed 0 is the
book's own baseline).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fnaf.sweeps import MEASUREMENTS, save_measurement, seed_spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("unet", "irim"), default="unet")
    parser.add_argument("--training-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--attack-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=MEASUREMENTS)
    args = parser.parse_args()
    table = seed_spread(args.training_seeds, args.attack_seeds, model=args.model)
    path = save_measurement(table.assign(model=args.model), f"seed_spread_{args.model}",
                            args.out)
    print(table.round(3).to_string())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
