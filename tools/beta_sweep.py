"""Measure the demo's β (run by hand): ``fnaf.sweeps.beta_sweep`` on the demo preset, written
to ``fnaf/measurements/beta_sweep_<model>.csv`` with the commit it was measured at; the
robust-training chapters show the table and apply ``fnaf.sweeps.select_beta`` to it.

Every fine-tune is measured on held-out volumes (the phantom drawn with another seed:
``fnaf.runs.scored_on``), not on the validation volumes the chapters judge the claim on;
``--validation`` measures on those instead (how the sweep was run before).

Usage: ``python tools/beta_sweep.py --model unet --betas 0.1 0.3 0.5 1 3 10`` (about 1.5 min per
β and objective for the U-Net on 2 CPU cores; runs go to the run cache, so the book reuses the
one it needs when ``FNAF_CACHE`` points at the book's cache).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fnaf.sweeps import MEASUREMENTS, beta_sweep, save_measurement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("unet", "irim"), default="unet")
    parser.add_argument("--betas", type=float, nargs="+", default=[0.1, 0.3, 0.5, 1, 3, 10])
    parser.add_argument("--objectives", nargs="+", default=["fnaf", "bbox"])
    parser.add_argument("--out", type=Path, default=MEASUREMENTS)
    parser.add_argument("--validation", action="store_true",
                        help="measure on the validation split the chapters judge (not held out)")
    args = parser.parse_args()
    table = beta_sweep(args.betas, args.objectives, model=args.model,
                       held_out=not args.validation)
    path = save_measurement(table.assign(model=args.model), f"beta_sweep_{args.model}", args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
