"""The audit's worst slices, attacked again to be seen: the report card's images.

:func:`worst_keys` picks, at the largest ε, the slices whose worst case took the most SSIM (one
per volume, so a single bad volume does not fill the page). :func:`worst_slices` attacks each
again with the suite's settings — every start, control and noise is seeded per slice, so the
attack is the one the claim file scored — and keeps the images: the target, the clean and the
perturbed reconstruction, and the perturbation as the model sees it (its zero-filled magnitude on
the target crop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch import nn

from fnaf.attacks.coil_noise import CoilNoise
from fnaf.audit.model import ReconModel, ReconPipeline
from fnaf.audit.suite import AttackFor, AuditSuite, pgd_attack
from fnaf.data.batches import collate_slices
from fnaf.devices import resolve_device
from fnaf.metrics import slice_scores
from fnaf.mri import center_crop, zero_filled_image
from fnaf.runs.builders import attack_transform, datasets
from fnaf.runs.configs import RunConfig


@dataclass
class WorstSlice:
    """One attacked slice: ``fname``, ``slice``, the perturbation that did the most damage
    (``source``: attack, control or coil noise) at ``eps``, the images ``(h, w)`` (``target``,
    ``clean``, ``perturbed``, ``perturbation``) and the SSIMs of the two reconstructions."""

    fname: str
    slice: int
    source: str
    eps: float
    target: np.ndarray
    clean: np.ndarray
    perturbed: np.ndarray
    perturbation: np.ndarray
    clean_ssim: float
    ssim: float


def worst_keys(rows: pd.DataFrame, count: int = 3) -> pd.DataFrame:
    """The ``count`` worst-case rows at the largest ε with the largest SSIM drop, one per
    volume, most damaged first (``rows``: :func:`~fnaf.audit.suite.audit_rows`')."""
    worst = rows[(rows["kind"] == "worst case") & (rows["eps"] == rows["eps"].max())]
    worst = worst.assign(drop=worst["clean SSIM"] - worst["SSIM"])
    return (worst.sort_values("drop", ascending=False, kind="stable")
            .drop_duplicates("fname").head(count))


def worst_slices(model: nn.Module, data: RunConfig, accel: int, suite: AuditSuite,
                 rows: pd.DataFrame, *, pipeline=None, attack: AttackFor | None = None,
                 count: int = 3, device=None) -> list[WorstSlice]:
    """:func:`worst_keys` of ``rows`` attacked again (``model``, ``pipeline`` and ``attack``
    as :func:`~fnaf.audit.suite.audit_rows` takes them) with the images the report shows."""
    if isinstance(model, ReconModel):
        pipeline = pipeline or ReconPipeline()
    device = resolve_device(device)
    model.to(device)
    attack = attack or pgd_attack(model, pipeline, suite)
    slices, transform = datasets(data)[1], attack_transform(data, accel)
    found = []
    for row in worst_keys(rows, count).itertuples():
        batch = collate_slices(slices, transform, [(row.fname, int(row.slice))]).to(device)
        if row.source == "coil noise":
            result = CoilNoise(model, pipeline, row.eps, suite.norm, suite.seed)(batch)
        else:
            result = attack(row.eps)(batch)
        control = row.source == "control"
        z, perturbed = ((result.noise, result.control) if control else
                        (result.perturbation, result.attacked))
        seen = center_crop(zero_filled_image(z * batch.mask, batch.mask).abs(),
                           tuple(batch.target.shape[-2:]))
        images = [image[0].detach().cpu().numpy()
                  for image in (batch.target, result.clean, perturbed, seen)]
        maxval = float(batch.max_value[0])
        found.append(WorstSlice(
            row.fname, int(row.slice), row.source, float(row.eps), *images,
            slice_scores(images[0], images[1], maxval)["SSIM"],
            slice_scores(images[0], images[2], maxval)["SSIM"]))
    return found

