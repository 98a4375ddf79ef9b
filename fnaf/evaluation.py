"""Reconstruct a validation set volume by volume and score it with fastMRI's rules (Table 3).

Slices are reconstructed in batches of equal k-space shape, in dataset order, so the slices of a
volume arrive together; each finished volume is scored (NMSE/PSNR over the whole volume, SSIM per
slice and averaged, data range = the volume's target maximum, as ``fastmri/evaluate.py``) and then
handed on or dropped, so memory holds one volume at a time.
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

from fnaf.data.batches import SeededSlices, validation_batches
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import SliceTransform
from fnaf.devices import resolve_device
from fnaf.metrics import volume_metrics

METRICS = ("NMSE", "PSNR", "SSIM")


@dataclass
class VolumeReconstruction:
    """One volume's reconstruction, target and zero-filled magnitude ``(S, h, w)``.

    ``loss_sum`` adds, for each of its slices, the model loss of the batch it was in (batches
    average their loss), so summing it over all volumes and dividing by the slice count gives the
    mean validation loss exactly.
    """

    fname: str
    slice_nums: list[int]
    reconstruction: np.ndarray
    target: np.ndarray
    zero_filled: np.ndarray
    loss_sum: float


@torch.no_grad()
def reconstruct_volumes(model: nn.Module, pipeline, slices: SliceDataset,
                        transform: SliceTransform, *, batch_size: int = 8,
                        device: torch.device | str | None = None, num_workers: int = 0,
                        progress: bool = False) -> Iterator[VolumeReconstruction]:
    """Yield each volume of ``slices`` reconstructed by ``model`` (in eval mode).

    ``transform`` draws the masks (validation: ``SliceTransform(mask_func, use_seed=True)``, one
    fixed mask per volume, as fastMRI).
    """
    device = resolve_device(device)
    was_training = model.training
    model.eval().to(device)
    loader = DataLoader(SeededSlices(slices, transform), batch_sampler=validation_batches(
        slices, batch_size), num_workers=num_workers, collate_fn=default_collate)
    current: dict | None = None
    try:
        for batch in tqdm(loader, desc="reconstruct", disable=not progress, leave=False):
            batch = batch.to(device)
            reconstruction = pipeline(model, batch)
            loss = float(pipeline.loss(reconstruction, batch))
            zero_filled = reconstruction.zero_filled
            for i, fname in enumerate(batch.fname):
                if current is not None and current["fname"] != fname:
                    yield _finish(current)
                    current = None
                if current is None:
                    current = {"fname": fname, "slices": [], "recon": [], "target": [],
                               "zero": [], "loss": 0.0}
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


def score_volumes(volumes) -> Evaluation:
    """Score :class:`VolumeReconstruction` s with :func:`fnaf.metrics.volume_metrics`."""
    model_rows, zero_rows, loss, count = [], [], 0.0, 0
    for volume in volumes:
        base = {"fname": volume.fname, "slices": len(volume.slice_nums)}
        model_rows.append({**base, **volume_metrics(volume.target, volume.reconstruction)})
        zero_rows.append({**base, **volume_metrics(volume.target, volume.zero_filled)})
        loss += volume.loss_sum
        count += len(volume.slice_nums)
    if not count:
        raise ValueError("the validation set is empty: no volumes to score")
    return Evaluation(pd.DataFrame(model_rows), pd.DataFrame(zero_rows), loss / count)


def evaluate(model: nn.Module, pipeline, slices: SliceDataset, transform: SliceTransform,
             **kwargs) -> Evaluation:
    """Reconstruct and score ``slices``; keyword arguments go to :func:`reconstruct_volumes`."""
    return score_volumes(reconstruct_volumes(model, pipeline, slices, transform, **kwargs))


@dataclass(frozen=True)
class Validator:
    """The training engine's validation of a reconstruction model: :func:`evaluate` on
    ``slices`` with ``transform`` (one seeded mask per volume), called as
    ``validator(model, device)``."""

    pipeline: object
    slices: SliceDataset
    transform: SliceTransform
    batch_size: int = 8
    num_workers: int = 0

    def __call__(self, model: nn.Module, device: torch.device) -> Evaluation:
        return evaluate(model, self.pipeline, self.slices, self.transform,
                        batch_size=self.batch_size, device=device,
                        num_workers=self.num_workers)
