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

import sys
from pathlib import Path

import torch

from fnaf.attacks.pgd import KspacePGD
from fnaf.pipelines import pipeline_for
from fnaf.runs import build_model, multicoil_preset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import batched_and_looped, demo_batch, throughput_arguments  # noqa: E402 (the benchmarks folder)


def main() -> None:
    parser = throughput_arguments(__doc__)
    parser.add_argument("--model", nargs="+", default=["varnet", "unet"])
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    batch, device = demo_batch(args)
    for name in args.model:
        config = multicoil_preset("demo", name, 4, args.coils)
        torch.manual_seed(0)
        model = build_model(config).to(device).eval()
        attack = KspacePGD(model, pipeline_for(name), eps=0.05, steps=args.steps)
        batched, looped = batched_and_looped(attack, batch, args.steps, device)
        print(f"{name}_batched_iterations_per_s: {batched:.2f}")
        print(f"{name}_looped_iterations_per_s: {looped:.2f}")
        print(f"{name}_batched_vs_looped: {batched / looped:.2f}")


if __name__ == "__main__":
    main()
