"""Reconstruct a validation set volume by volume and score it with fastMRI's rules (Table 3).

Slices are reconstructed in batches of one volume (at most ``batch_size`` consecutive slices), in
dataset order; each finished volume is scored (NMSE/PSNR over the whole volume, SSIM per slice and
averaged, data range = the volume's target maximum, as ``fastmri/evaluate.py``) and then handed on
or dropped, so memory holds one volume at a time. Under ``torchrun`` the volume is the unit of
work: each rank reconstructs every ``world``-th volume (:mod:`fnaf.ranks`) and the per-volume rows
of all ranks are gathered in the one-process order, so every rank scores exactly what one
process would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, default_collate
from tqdm import tqdm

from fnaf.data.batches import SeededSlices
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import SliceTransform
from fnaf.devices import resolve_device
from fnaf.memory import fitting_batch_size
from fnaf.metrics import volume_metrics
from fnaf.pipelines import input_magnitude
from fnaf.ranks import gathered, my_batches

METRICS = ("NMSE", "PSNR", "SSIM")


@dataclass
class VolumeReconstruction:
    """One volume's reconstruction, target and zero-filled magnitude ``(S, h, w)``.

    ``loss_sum`` adds, for each of its slices, the model loss of the batch it was in (batches
    average their loss), so summing it over all volumes and dividing by the slice count gives the
    mean validation loss exactly. ``position`` is the volume's place in the evaluated set (the
    key its rows are gathered by under ``torchrun``).
    """

    fname: str
    slice_nums: list[int]
    reconstruction: np.ndarray
    target: np.ndarray
    zero_filled: np.ndarray
    loss_sum: float
    position: int = 0


def volume_samples(slices: SliceDataset) -> list[list[int]]:
    """The sample indices of each volume of ``slices`` that has any, in dataset order."""
    volumes: dict[int, list[int]] = {}
    for index, (volume, _) in enumerate(slices.samples):
        volumes.setdefault(volume, []).append(index)
    return list(volumes.values())


@torch.no_grad()
def reconstruct_volumes(model: nn.Module, pipeline, slices: SliceDataset,
                        transform: SliceTransform, *, batch_size: int | None = 8,
                        device: torch.device | str | None = None, num_workers: int = 0,
                        progress: bool = False, shared: bool = True
                        ) -> Iterator[VolumeReconstruction]:
    """Yield each volume of ``slices`` reconstructed by ``model`` (in eval mode).

    ``transform`` draws the masks (validation: ``SliceTransform(mask_func, use_seed=True)``, one
    fixed mask per volume, as fastMRI). ``shared``: under ``torchrun``, only this rank's volumes
    (every ``world``-th; :func:`score_volumes` with ``count`` gathers the rows of all); ``False``
    yields every volume (the training engine validates on rank 0 alone). ``batch_size``
    ``None``: as many slices as fit the device's free memory
    (:func:`~fnaf.memory.fitting_batch_size`); the volumes' metrics do not depend on it.
    """
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be an integer >= 1 or None, not {batch_size!r}")
    device = resolve_device(device)
    was_training = model.training
    model.eval().to(device)
    try:
        if batch_size is None:
            batch_size = fitting_batch_size(lambda probe: pipeline(model, probe), slices, transform,
                                            device, shared=shared)
        units = volume_samples(slices)
        mine = my_batches(units) if shared else list(enumerate(units))
        positions = iter(position for position, _ in mine)
        batches = [samples[start:start + batch_size] for _, samples in mine
                   for start in range(0, len(samples), batch_size)]
        loader = DataLoader(SeededSlices(slices, transform), batch_sampler=batches,
                            num_workers=num_workers, collate_fn=default_collate)
        current: dict | None = None
        for batch in tqdm(loader, desc="reconstruct", disable=not progress, leave=False):
            batch = batch.to(device)
            reconstruction = pipeline(model, batch)
            loss = float(pipeline.loss(reconstruction, batch))
            zero_filled = input_magnitude(reconstruction, batch)
            for i, fname in enumerate(batch.fname):
                if current is not None and current["fname"] != fname:
                    yield _finish(current)
                    current = None
                if current is None:
                    current = {"fname": fname, "slices": [], "recon": [], "target": [],
                               "zero": [], "loss": 0.0, "position": next(positions)}
                current["slices"].append(int(batch.slice_num[i]))
                current["recon"].append(reconstruction.magnitude[i].float().cpu().numpy())
                current["target"].append(batch.target[i].cpu().numpy())
                current["zero"].append(zero_filled[i].cpu().numpy())
                current["loss"] += loss
        if current is not None:
            yield _finish(current)
    finally:
        model.train(was_training)


def _finish(current: dict) -> VolumeReconstruction:
    return VolumeReconstruction(
        fname=current["fname"], slice_nums=current["slices"],
        reconstruction=np.stack(current["recon"]), target=np.stack(current["target"]),
        zero_filled=np.stack(current["zero"]), loss_sum=current["loss"],
        position=current["position"],
    )


@dataclass
class Evaluation:
    """Per-volume metrics (columns ``fname, slices, NMSE, PSNR, SSIM``) for the model and the
    zero-filled input, the mean model loss per slice, and optionally the NMSE inside annotated
    boxes (:func:`fnaf.boxes.box_nmse` rows)."""

    metrics: pd.DataFrame
    zero_filled: pd.DataFrame
    loss: float
    boxes: pd.DataFrame | None = None

    def summary(self) -> pd.DataFrame:
        """Table 3 style: mean and std across volumes, for the model and the zero-filled input."""
        rows = {}
        for name, frame in (("model", self.metrics), ("zero-filled", self.zero_filled)):
            values = frame[list(METRICS)]
            rows[name] = {**{f"{k}_mean": v for k, v in values.mean().items()},
                          **{f"{k}_std": v for k, v in values.std(ddof=1).items()}}
        return pd.DataFrame(rows).T

    def means(self) -> dict[str, float]:
        """The model's mean metrics over volumes (a training history entry)."""
        return self.metrics[list(METRICS)].mean().to_dict()

    def record(self) -> dict:
        """``{"loss", "volumes", "zero_filled"}``: the loss and per-volume metrics as records."""
        return {"loss": self.loss, "volumes": self.metrics.to_dict("records"),
                "zero_filled": self.zero_filled.to_dict("records")}


def _finite_metrics(volume: VolumeReconstruction, prediction: np.ndarray, what: str) -> dict:
    """:func:`fnaf.metrics.volume_metrics` of ``prediction`` ``(S, h, w)`` against the volume's
    target; raises a ``ValueError`` naming the file (and the slices at fault) if a metric is NaN
    or the NMSE infinite, so that no mean is ever taken over fewer volumes than were evaluated."""
    metrics = volume_metrics(volume.target, prediction)
    if np.isfinite(metrics["NMSE"]) and not np.isnan(list(metrics.values())).any():
        return metrics  # PSNR is +inf only for an exact reconstruction (NMSE 0)
    dead = [number for number, target in zip(volume.slice_nums, volume.target)
            if not target.any()]
    broken = [number for number, image in zip(volume.slice_nums, prediction)
              if not np.isfinite(image).all()]
    cause = (f"its target is all zero in slices {dead}: regenerate or download the file "
             "again, or move it out of the split" if dead else
             f"the {what} is not finite in slices {broken} (a diverged model?)" if broken else
             "check the file with `python -m fnaf check-data`")
    raise ValueError(f"{volume.fname}: the {what}'s metrics are not finite ({metrics}); {cause}")


def score_volumes(volumes, count: int | None = None) -> Evaluation:
    """Score :class:`VolumeReconstruction` s with :func:`fnaf.metrics.volume_metrics`.

    ``count``: the number of volumes of the whole set, when ``volumes`` are this rank's share
    (:func:`reconstruct_volumes` with ``shared``); the rows of every rank are then gathered by
    position, in dataset order, on every rank. ``None``: score ``volumes`` as they come.
    """
    scored = {}
    for order, volume in enumerate(volumes):
        base = {"fname": volume.fname, "slices": len(volume.slice_nums)}
        scored[order if count is None else volume.position] = [(
            {**base, **_finite_metrics(volume, volume.reconstruction, "reconstruction")},
            {**base, **_finite_metrics(volume, volume.zero_filled, "zero-filled input")},
            volume.loss_sum)]
    rows = gathered(scored, count) if count is not None else \
        [row for part in scored.values() for row in part]
    if not rows:
        raise ValueError("the validation set is empty: no volumes to score")
    loss = 0.0
    for _, _, loss_sum in rows:  # summed in dataset order, as one process does
        loss += loss_sum
    return Evaluation(pd.DataFrame([model for model, _, _ in rows]),
                      pd.DataFrame([zero for _, zero, _ in rows]),
                      loss / sum(row["slices"] for row, _, _ in rows))


def evaluate(model: nn.Module, pipeline, slices: SliceDataset, transform: SliceTransform, *,
             shared: bool = True, **kwargs) -> Evaluation:
    """Reconstruct and score ``slices`` (under ``torchrun`` and ``shared``, the ranks share the
    volumes and each returns the whole evaluation); keyword arguments go to
    :func:`reconstruct_volumes`."""
    volumes = reconstruct_volumes(model, pipeline, slices, transform, shared=shared, **kwargs)
    return score_volumes(volumes, len(volume_samples(slices)) if shared else None)


@dataclass(frozen=True)
class Validator:
    """The training engine's validation of a reconstruction model: :func:`evaluate` on
    ``slices`` with ``transform`` (one seeded mask per volume), called as
    ``validator(model, device)``. Training validates on rank 0 alone, so the volumes are not
    shared over ranks."""

    pipeline: object
    slices: SliceDataset
    transform: SliceTransform
    batch_size: int = 8
    num_workers: int = 0

    def __call__(self, model: nn.Module, device: torch.device) -> Evaluation:
        return evaluate(model, self.pipeline, self.slices, self.transform,
                        batch_size=self.batch_size, device=device,
                        num_workers=self.num_workers, shared=False)
