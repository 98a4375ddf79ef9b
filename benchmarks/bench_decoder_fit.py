"""Un-trained decoder fitting: one batched fit of several slices (one grouped network per slice)
against the same fits run one slice at a time.

On the demo phantom's grid (random multi-coil k-space: the cost does not depend on content) this
prints, as ``name: value`` lines:

* ``batched_steps_per_s`` — Adam steps x slices per second, all slices in one grouped network;
* ``looped_steps_per_s`` — the same, one network per fit;
* ``batched_vs_looped`` — their ratio.

    python benchmarks/bench_decoder_fit.py [--architecture convdecoder] [--layers 5]
        [--channels 16] [--slices 8] [--coils 4] [--iterations 20] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import sys
from pathlib import Path

from fnaf.untrained.decoder_fit import DecoderMethod

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import batched_and_looped, demo_batch, throughput_arguments  # noqa: E402 (the benchmarks folder)


def main() -> None:
    parser = throughput_arguments(__doc__)
    parser.add_argument("--architecture", default="convdecoder")
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    batch, device = demo_batch(args)
    method = DecoderMethod(args.architecture, args.layers, args.channels, (8, 4),
                           args.iterations)
    batched, looped = batched_and_looped(method, batch, args.iterations, device)
    name = args.architecture
    print(f"{name}_batched_steps_per_s: {batched:.2f}")
    print(f"{name}_looped_steps_per_s: {looped:.2f}")
    print(f"{name}_batched_vs_looped: {batched / looped:.2f}")


if __name__ == "__main__":
    main()
