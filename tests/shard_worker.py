"""Per-slice work on the smoke phantoms, run by ``tests/test_ranks.py`` as one process and under
``torchrun`` as two (each rank takes every other batch or volume, rank 0 writes the cache):

* ``two-step`` (default): the two-step attack on l1 of the 3-coil phantom's validation slices,
  ``fnaf.runs.two_step_or_load``; ``differ``: the same, rank 1 attacking one volume only, as a
  node with other data would;
* ``evaluate``: ``fnaf.runs.evaluate_or_load`` of the smoke U-Net run (Table 3's per-volume
  rows, the zero-filled input's, the loss and the boxes' NMSE);
* ``attack``: ``fnaf.runs.attack_or_load``, an FNAF random search on the same run;
* ``location-map``: chapter 10's location map of l1 on the 3-coil phantom's middle slices,
  ``fnaf.studies.small_features.location_map_or_load`` (three chunks of placements);
* ``audit``: ``fnaf.audit.audit`` of the zero-filled callable on the 3-coil phantom (every part
  of the suite; its claim file under ``RUNS_DIR/audits``), returning the claim's metrics.

Usage: ``python tests/shard_worker.py RUNS_DIR OUT_PREFIX [MODE]`` (``FNAF_CACHE`` holds the
phantoms, ``RUNS_DIR`` the trained smoke run for ``evaluate``/``attack``). Each rank writes its
returned rows to ``OUT_PREFIX.<rank>.csv``.
"""

import sys
from dataclasses import replace

import pandas as pd

from fnaf.audit import AuditSuite, ReconModel, audit, claim_metrics
from fnaf.mri import zero_filled_image
from fnaf.runs import (
    AttackConfig,
    TwoStepConfig,
    attack_or_load,
    evaluate_or_load,
    load_run,
    multicoil_preset,
    preset,
    two_step_or_load,
    untrained_preset,
)
from fnaf.studies.small_features import location_map_or_load
from fnaf.train import init_distributed

DATA = multicoil_preset("smoke", "varnet", 4, 3)
METHOD = untrained_preset("smoke", "l1")
ATTACK = TwoStepConfig(eps=(0.05, 0.1), steps=2, slices_per_volume=None, batch_size=2)
RUN = preset("smoke", epochs=1)
FNAF = AttackConfig(n_candidates=3, batch_size=3)
AUDIT = AuditSuite(eps=(0.05,), steps=2, restarts=1, slices_per_volume=None, batch_size=2,
                   window=3, grid=2)


def rows(mode: str, rank: int, root: str) -> pd.DataFrame:
    """The rows ``mode`` returns on this rank."""
    if mode == "evaluate":
        result = evaluate_or_load(load_run(RUN, root, "cpu"), device="cpu")
        return pd.concat([result.metrics.assign(kind="model", loss=result.loss),
                          result.zero_filled.assign(kind="zero-filled"),
                          result.boxes.assign(kind="boxes")], ignore_index=True)
    if mode == "attack":
        return attack_or_load(load_run(RUN, root, "cpu"), FNAF, device="cpu",
                              progress=False).slices
    if mode == "audit":
        claim = audit(ReconModel(zero_filled_image, "zero-filled"), DATA, 4, AUDIT,
                      f"{root}/audits", device="cpu")
        return claim_metrics(claim).reset_index()
    if mode == "location-map":
        return location_map_or_load(METHOD, DATA, 4, None, 3, 2, root, chunk=3, device="cpu")
    attack = replace(ATTACK, volumes=1) if mode == "differ" and rank == 1 else ATTACK
    return two_step_or_load(METHOD, attack, DATA, root=root, device="cpu")


if __name__ == "__main__":
    rank, _ = init_distributed("cpu")
    mode = sys.argv[3] if len(sys.argv) > 3 else "two-step"
    rows(mode, rank, sys.argv[1]).to_csv(f"{sys.argv[2]}.{rank}.csv", index=False)
