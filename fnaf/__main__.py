"""Command line: ``python -m fnaf <command> ...`` (``python -m fnaf --help`` lists them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fnaf.data.phantom import GEOMETRIES, PhantomConfig, write_phantom


def _phantom(args: argparse.Namespace) -> None:
    config = PhantomConfig(
        geometry=args.geometry, train_volumes=args.train_volumes, val_volumes=args.val_volumes,
        slices=args.slices, noise=args.noise, lesions_per_volume=args.lesions_per_volume,
        seed=args.seed,
    )
    out = write_phantom(args.out, config, progress=True)
    print(f"wrote the phantom knee dataset to {out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fnaf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    defaults = PhantomConfig()
    phantom = commands.add_parser(
        "phantom", help="write the embedded knee phantom as a fastMRI-format dataset",
        description="Writes DIR/singlecoil_train, DIR/singlecoil_val and the annotation CSVs "
                    "DIR/singlecoil_bb_train.csv, DIR/singlecoil_bb_val.csv.",
    )
    phantom.add_argument("--out", type=Path, required=True, help="output directory")
    phantom.add_argument("--geometry", choices=sorted(GEOMETRIES), default=defaults.geometry,
                         help="paper: 640x368 k-space, 320x320 targets; demo: 256x148 -> 128x128")
    phantom.add_argument("--train-volumes", type=int, default=defaults.train_volumes)
    phantom.add_argument("--val-volumes", type=int, default=defaults.val_volumes)
    phantom.add_argument("--slices", type=int, default=defaults.slices, help="slices per volume")
    phantom.add_argument("--noise", type=float, default=defaults.noise,
                         help="k-space noise std relative to the image intensity scale")
    phantom.add_argument("--lesions-per-volume", type=float, default=defaults.lesions_per_volume)
    phantom.add_argument("--seed", type=int, default=defaults.seed)
    phantom.set_defaults(run=_phantom)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    for name in ("train_volumes", "val_volumes", "slices"):
        if getattr(args, name, 1) < 1:
            sys.exit(f"--{name.replace('_', '-')} must be at least 1")
    args.run(args)


if __name__ == "__main__":
    main()
