"""Rows/s of per-slice work sharded over ``torchrun`` processes (:mod:`fnaf.ranks`), with 1 and
with ``--processes`` processes (gloo on the CPU, one thread each; NCCL with ``--device cuda``):
``--work two-step`` (default), the two-step attack on l1-minimisation over the validation slices
of the 4-coil demo phantom (:func:`fnaf.attacks.measurement.measurement_rows`, a row per slice);
``--work evaluate``, Table 3's evaluation of an untrained demo U-Net over the single-coil demo
phantom's validation volumes (:func:`fnaf.evaluation.evaluate`, a row per volume).

The script launches itself under ``torch.distributed.run`` once per process count; each launch
times the work (no cache) after a barrier. Prints, as ``name: value`` lines, ``rows``,
``rows_per_s_<n>`` for each count and ``speedup_<n>`` (rows/s of ``n`` processes over one
process's, measured in the same run).

    python benchmarks/bench_shards.py [--work two-step] [--processes 2] [--volumes 4] [--steps 5]
        [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from fnaf.runs import (
    TwoStepConfig,
    attack_transform,
    datasets,
    multicoil_preset,
    preset,
    untrained_preset,
)

WORKS = ("two-step", "evaluate")


def _data(work: str):
    """The run config whose phantom ``work`` reads."""
    return multicoil_preset("demo", "varnet", 4, 4) if work == "two-step" else preset("demo")


def _rows(args: argparse.Namespace, val) -> int:
    """The rows of ``args.work`` on ``val`` (every rank gets all of them)."""
    if args.work == "evaluate":
        import torch

        from fnaf.evaluation import evaluate
        from fnaf.pipelines import pipeline_for
        from fnaf.runs import build_model, eval_transform

        torch.manual_seed(0)
        config = _data(args.work)
        return len(evaluate(build_model(config), pipeline_for("unet"), val,
                            eval_transform(config, 4), device=args.device).metrics)
    from fnaf.attacks.measurement import measurement_rows

    attack = TwoStepConfig(eps=(0.05,), steps=args.steps, slices_per_volume=None, batch_size=2)
    method = untrained_preset("smoke", "l1").build()
    return len(measurement_rows(lambda eps: attack.attack(method, eps), val,
                                attack_transform(_data(args.work), 4), attack.eps, batch_size=2,
                                device=args.device))


def _work(args: argparse.Namespace) -> None:
    """One process's share, timed between barriers; rank 0 prints ``rows seconds``."""
    import torch.distributed as dist

    from fnaf.ranks import barrier, rank_world
    from fnaf.train import init_distributed

    init_distributed(args.device)
    val = datasets(_data(args.work))[1]
    val = val.only(sorted(volume.fname.name for volume in val.volumes)[:args.volumes])
    barrier()
    start = time.perf_counter()
    rows = _rows(args, val)
    barrier()
    if rank_world()[0] == 0:
        print(f"{rows} {time.perf_counter() - start}")
    if dist.is_initialized():
        dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", choices=WORKS, default=WORKS[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--volumes", type=int, default=4, help="validation volumes (all slices)")
    parser.add_argument("--steps", type=int, default=5, help="two-step attack steps")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _work(args)
    datasets(_data(args.work))  # the phantom, once, before the processes
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rates = {}
    for count in (1, args.processes):
        output = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
             str(count), __file__, "--worker", "--work", args.work, "--volumes",
             str(args.volumes), "--steps", str(args.steps), "--device", args.device],
            check=True, env=env, capture_output=True, text=True).stdout.split()
        rows, seconds = int(output[-2]), float(output[-1])
        rates[count] = rows / seconds
    print(f"rows: {rows}")
    for count, rate in rates.items():
        print(f"rows_per_s_{count}: {rate:.2f}")
    print(f"speedup_{args.processes}: {rates[args.processes] / rates[1]:.2f}")


if __name__ == "__main__":
    main()
