"""Attacks the validation slices of the 3-coil smoke phantom with the two-step attack on l1
through ``fnaf.runs.two_step_or_load``; run by ``tests/test_ranks.py`` as one process and under
``torchrun`` as two (each rank attacks every other batch, rank 0 writes the cache).

Usage: ``python tests/shard_worker.py RUNS_DIR OUT_PREFIX [differ]`` (``FNAF_CACHE`` holds the
phantom; ``differ``: rank 1 attacks one volume only, as a node with other data would). Each rank
writes its returned rows to ``OUT_PREFIX.<rank>.csv``.
"""

import sys
from dataclasses import replace

from fnaf.runs import TwoStepConfig, multicoil_preset, two_step_or_load, untrained_preset
from fnaf.train import init_distributed

DATA = multicoil_preset("smoke", "varnet", 4, 3)
METHOD = untrained_preset("smoke", "l1")
ATTACK = TwoStepConfig(eps=(0.05, 0.1), steps=2, slices_per_volume=None, batch_size=2)

if __name__ == "__main__":
    rank, _ = init_distributed("cpu")
    attack = replace(ATTACK, volumes=1) if len(sys.argv) > 3 and rank == 1 else ATTACK
    frame = two_step_or_load(METHOD, attack, DATA, root=sys.argv[1], device="cpu")
    frame.to_csv(f"{sys.argv[2]}.{rank}.csv", index=False)
