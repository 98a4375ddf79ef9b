"""Small-feature location maps: windows reconstructed per second with the placements of a map
batched (``chunk`` windows per network call) against one window at a time (``chunk=1``), for the
demo's multi-coil networks (random weights and k-space: the cost does not depend on content).

Prints, as ``name: value`` lines, per model:

* ``<model>_batched_windows_per_s`` — feature placement, its FFT, the reconstruction and the
  window error, ``chunk`` placements per call;
* ``<model>_looped_windows_per_s`` — the same, one placement per call;
* ``<model>_batched_vs_looped`` — their ratio.

    python benchmarks/bench_location_map.py [--models unet varnet] [--slices 2] [--points 4]
        [--chunk 8] [--size 5] [--coils 4] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from fnaf.attacks.windows import location_map
from fnaf.pipelines import pipeline_for, trained_reconstructor
from fnaf.runs import multicoil_preset
from fnaf.runs.builders import build_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import demo_batch, throughput_arguments  # noqa: E402 (the benchmarks folder)


def windows_per_second(reconstruct, batch, size: int, points: int, chunk: int,
                       device: torch.device) -> float:
    def run() -> int:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return len(location_map(reconstruct, batch, size, points, chunk))

    location_map(reconstruct, batch, size, 1, chunk)  # warm-up
    start = time.perf_counter()
    windows = run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return windows / (time.perf_counter() - start)


def main() -> None:
    parser = throughput_arguments(__doc__)
    parser.set_defaults(slices=2)
    parser.add_argument("--models", nargs="+", default=["unet", "varnet"])
    parser.add_argument("--points", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=8)
    parser.add_argument("--size", type=int, default=5)
    args = parser.parse_args()
    batch, device = demo_batch(args)
    for name in args.models:
        model = build_model(multicoil_preset("demo", name, coils=args.coils)).to(device)
        reconstruct = trained_reconstructor(model, pipeline_for(name))
        batched = windows_per_second(reconstruct, batch, args.size, args.points, args.chunk,
                                     device)
        looped = windows_per_second(reconstruct, batch, args.size, args.points, 1, device)
        print(f"{name}_batched_windows_per_s: {batched:.2f}")
        print(f"{name}_looped_windows_per_s: {looped:.2f}")
        print(f"{name}_batched_vs_looped: {batched / looped:.2f}")


if __name__ == "__main__":
    main()
