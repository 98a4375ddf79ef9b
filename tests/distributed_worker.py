"""Trains the smoke U-Net with plain SGD through ``fnaf.runs.train_or_load``; run by
``tests/test_train.py`` as one process and under ``torchrun`` as two.

Usage: ``python tests/distributed_worker.py RUNS_DIR [DATA_ROOT_OF_RANK_0 DATA_ROOT_OF_RANK_1]``
(``FNAF_CACHE`` holds the phantom; data roots per rank emulate nodes with their own copies).
"""

import sys
from dataclasses import replace

from fnaf.runs import OptimConfig, preset, train_or_load
from fnaf.train import init_distributed

# One step of plain SGD on one global batch of 2 slices (a training split of 1 volume x 2
# slices): the weights move by lr x the all-reduced gradient, so one process and two agree up to
# float summation order. Several steps would not: RMSprop's first steps move every weight by
# about lr whatever the gradient's size, and even with SGD the L1 loss's sign(residual) and the
# LeakyReLU kinks turn rounding differences into visible weight differences over a few steps.
SMOKE = preset("smoke", "unet", 4)
CONFIG = replace(SMOKE, epochs=1, batch_size=2, phantom=replace(SMOKE.phantom, train_volumes=1,
                                                                   slices=2),
                 optim=OptimConfig("sgd", lr=0.05, step_size=1, gamma=1.0))

if __name__ == "__main__":
    rank, _ = init_distributed("cpu")
    config = CONFIG if len(sys.argv) < 3 else replace(CONFIG, data_root=sys.argv[2 + rank])
    run = train_or_load(config, sys.argv[1], device="cpu", progress=False)
    if rank == 0:
        print(run.directory)
