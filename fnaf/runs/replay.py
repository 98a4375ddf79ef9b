"""Rebuild one attacked slice from a cached attack row (the panels of the paper's Fig. 2)."""

from __future__ import annotations

import torch

from fnaf.attacks import perturb
from fnaf.attacks.report import feature_of
from fnaf.attacks.search import zero_filled_magnitude
from fnaf.data.batches import collate_slices
from fnaf.pipelines import pipeline_for
from fnaf.runs.builders import attack_transform, datasets
from fnaf.runs.cache import TrainedRun
from fnaf.runs.configs import AttackConfig


def replay_attack(run: TrainedRun, attack: AttackConfig, row, accel: int | None = None) -> dict:
    """Rebuild one attacked slice at ``accel`` from a cached result row (``fname``, ``slice``,
    ``pixels``):
    the paper's Fig. 2 panels as arrays ``(h, w)``: ``zero-filled`` and ``fully sampled`` with
    the feature, the model's ``reconstruction``, the clean ``reference`` reconstruction and the
    ``region`` T."""
    val = datasets(run.config)[1]
    key = (row["fname"], int(row["slice"]))
    batch = collate_slices(val, attack_transform(run.config, accel), [key]).to("cpu")
    features = feature_of(row["pixels"], tuple(batch.target.shape[-2:]))
    attacked = perturb(batch, features)
    model, pipeline = run.model.cpu().eval(), pipeline_for(run.config.model)
    with torch.no_grad():
        reconstruction = pipeline(model, attacked).magnitude[0]
        reference = pipeline(model, batch).magnitude[0]
    region = attack.build(model, pipeline).regions(features)[0]
    return {"zero-filled": zero_filled_magnitude(attacked)[0].numpy(),
            "fully sampled": attacked.target[0].numpy(),
            "reconstruction": reconstruction.numpy(), "reference": reference.numpy(),
            "region": region.numpy()}
