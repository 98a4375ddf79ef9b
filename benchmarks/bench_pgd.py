"""k-space PGD throughput: one batched attack on several slices against the same attack run one
slice at a time.

For each model (untrained weights: the cost does not depend on them) on a multi-coil batch of the
demo phantom's grid this prints, as ``name: value`` lines:

* ``batched_iterations_per_s`` — PGD iterations x slices per second, all slices in one batch;
* ``looped_iterations_per_s`` — the same, one slice per call;
* ``batched_vs_looped`` — their ratio.

The I-RIM's PGD memory (invertible backward against plain autograd) is
``bench_irim_memory.py --step attack``.

    python benchmarks/bench_pgd.py [--model varnet unet] [--slices 8] [--coils 4] [--threads 2]
                                   [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from fnaf.attacks.pgd import KspacePGD
from fnaf.pipelines import pipeline_for
from fnaf.runs import build_model, multicoil_preset
from fnaf.train import default_device

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import batched_and_looped, synthetic_batch  # noqa: E402 (the benchmarks folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=["varnet", "unet"])
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--coils", type=int, default=4)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else default_device()
    print(f"device: {device}, threads: {torch.get_num_threads()}")
    for name in args.model:
        config = multicoil_preset("demo", name, 4, args.coils)
        torch.manual_seed(0)
        model = build_model(config).to(device).eval()
        geometry = (256, 148), 128  # the demo phantom's k-space grid and target crop
        batch = synthetic_batch(args.slices, args.coils, *geometry, device)
        attack = KspacePGD(model, pipeline_for(name), eps=0.05, steps=args.steps)
        batched, looped = batched_and_looped(attack, batch, args.steps, device)
        print(f"{name}_batched_iterations_per_s: {batched:.2f}")
        print(f"{name}_looped_iterations_per_s: {looped:.2f}")
        print(f"{name}_batched_vs_looped: {batched / looped:.2f}")


if __name__ == "__main__":
    main()
