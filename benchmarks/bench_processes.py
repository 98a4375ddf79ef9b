"""Training wall time of a demo run in one process against ``--processes`` ``torchrun``
processes (:mod:`fnaf.runs.processes`, what ``make book`` does with ``BOOK_PROCESSES``), the
threads shared out (``OMP_NUM_THREADS`` of this process, split between the processes).

Each model is trained twice from scratch into a temporary run cache, ``--epochs`` epochs of its
demo preset (mixed 4x/8x masks): once in this process, once launched. Prints, as ``name: value``
lines, ``<model>_seconds_1``, ``<model>_seconds_<n>`` (the runs' own wall time, as recorded in
their provenance, and the launch's overall time) and ``<model>_speedup_<n>`` (one process's time
over the launch's overall time, measured in the same run).

    OMP_NUM_THREADS=2 python benchmarks/bench_processes.py [--models unet irim] [--epochs 2]
        [--processes 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from fnaf.runs import preset, set_processes, train_or_load


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["unet", "irim"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    for model in args.models:
        config = preset("demo", model, (4, 8), epochs=args.epochs)
        seconds = {}
        for count in (1, args.processes):
            set_processes(count)
            with tempfile.TemporaryDirectory() as root:
                start = time.perf_counter()
                run = train_or_load(config, root, progress=False)
                seconds[count] = time.perf_counter() - start
            print(f"{model}_seconds_{count}: {seconds[count]:.1f} (the run's own "
                  f"{run.provenance['wall_time_s']:.1f})")
        print(f"{model}_speedup_{args.processes}: {seconds[1] / seconds[args.processes]:.2f}")
    set_processes(None)


if __name__ == "__main__":
    main()
