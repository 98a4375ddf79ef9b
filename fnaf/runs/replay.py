"""Rebuild one attacked slice for a figure: an FNAF attack from its cached row (the paper's
Fig. 2), or a measurement attack (Darestani et al.'s appendix Fig. 9): k-space PGD on a trained
network, the two-step attack on l1-minimisation or an un-trained decoder."""

from __future__ import annotations

import torch

from fnaf.attacks import perturb
from fnaf.attacks.pgd import KspacePGD, PgdResult
from fnaf.attacks.report import feature_of
from fnaf.data.batches import collate_slices
from fnaf.data.transforms import KneeSlice
from fnaf.devices import resolve_device
from fnaf.mri import center_crop, ifft2c, rss
from fnaf.pipelines import pipeline_for, zero_filled_magnitude
from fnaf.runs.builders import attack_transform, datasets
from fnaf.runs.cache import TrainedRun
from fnaf.runs.configs import AttackConfig, PgdConfig, RunConfig
from fnaf.runs.untrained import TwoStepConfig, UntrainedConfig


def replay_attack(run: TrainedRun, attack: AttackConfig, row, accel: int | None = None, *,
                  device: torch.device | str | None = None) -> dict:
    """Rebuild one attacked slice at ``accel`` from a cached result row (``fname``, ``slice``,
    ``pixels``):
    the paper's Fig. 2 panels as arrays ``(h, w)``: ``zero-filled`` and ``fully sampled`` with
    the feature, the model's ``reconstruction``, the clean ``reference`` reconstruction and the
    ``region`` T; computed on ``device`` (``None``: the session's)."""
    device = resolve_device(device)
    val = datasets(run.config)[1]
    key = (row["fname"], int(row["slice"]))
    batch = collate_slices(val, attack_transform(run.config, accel), [key]).to(device)
    features = feature_of(row["pixels"], tuple(batch.target.shape[-2:]), device)
    attacked = perturb(batch, features)
    model, pipeline = run.model.to(device).eval(), pipeline_for(run.config.model)
    with torch.no_grad():
        reconstruction = pipeline(model, attacked).magnitude[0]
        reference = pipeline(model, batch).magnitude[0]
    region = attack.build(model, pipeline).regions(features)[0]
    panels = {"zero-filled": zero_filled_magnitude(attacked)[0],
              "fully sampled": attacked.target[0], "reconstruction": reconstruction,
              "reference": reference, "region": region}
    return {name: image.cpu().numpy() for name, image in panels.items()}


def replay_pgd(run: TrainedRun, pgd: PgdConfig, fname: str, slice_num: int, eps: float,
               accel: int | None = None, *, device: torch.device | str | None = None) -> dict:
    """Attack one slice again with ``pgd``'s settings at ``eps`` (appendix Fig. 9's panels):
    ``ground truth``, ``clean`` and ``attacked`` reconstructions and the ``perturbation``'s
    image (RSS over coils of ``|F^-1 z|`` on the target crop), arrays ``(h, w)``; computed on
    ``device`` (``None``: the session's)."""
    device = resolve_device(device)
    batch = _one_slice(run.config, fname, slice_num, accel, pgd.mask_style, device)
    model, pipeline = run.model.to(batch.kspace.device).eval(), pipeline_for(run.config.model)
    return _panels(batch, KspacePGD(model, pipeline, eps, **pgd.options())(batch))


def replay_two_step(method: UntrainedConfig, attack: TwoStepConfig, data: RunConfig, fname: str,
                    slice_num: int, eps: float, accel: int | None = None, *,
                    device: torch.device | str | None = None) -> dict:
    """:func:`replay_pgd`'s panels for the two-step attack on ``method`` (one slice of ``data``'s
    validation set; a decoder's networks are seeded per batch, so a slice fitted alone starts
    from other weights than in its batch of the cached rows)."""
    device = resolve_device(device)
    batch = _one_slice(data, fname, slice_num, accel, attack.mask_style, device)
    return _panels(batch, attack.attack(method.build(), eps)(batch))


def _one_slice(config: RunConfig, fname: str, slice_num: int, accel: int | None,
               mask_style: str, device: torch.device) -> KneeSlice:
    val = datasets(config)[1]
    return collate_slices(val, attack_transform(config, accel, mask_style),
                          [(fname, slice_num)]).to(device)


def _panels(batch: KneeSlice, result: PgdResult) -> dict:
    images = ifft2c(result.perturbation)
    images = rss(images) if images.ndim == 4 else images.abs()
    panels = {"ground truth": batch.target[0], "clean": result.clean[0],
              "attacked": result.attacked[0],
              "perturbation": center_crop(images, tuple(batch.target.shape[-2:]))[0]}
    return {name: image.detach().cpu().numpy() for name, image in panels.items()}
