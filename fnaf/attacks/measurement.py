"""Measurement-domain attacks on a validation set: each slice attacked at every ``ε`` by k-space
PGD (:class:`~fnaf.attacks.pgd.KspacePGD`, trained networks) or the two-step attack
(:class:`~fnaf.attacks.two_step.TwoStepAttack`, l1 and un-trained decoders), beside the
random-noise control of the same norm, and scored against the ground truth and against the clean
reconstruction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from os import PathLike

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, default_collate
from tqdm import tqdm

from fnaf.attacks.ball import slice_norms
from fnaf.attacks.pgd import KspacePGD, PgdResult
from fnaf.data.batches import SeededSlices, validation_batches
from fnaf.data.fastmri import SliceDataset
from fnaf.data.transforms import SliceTransform
from fnaf.devices import module_device, resolve_device
from fnaf.memory import fitting_batch_size
from fnaf.metrics import SSIM_VARIANTS, check_ssim_variant, slice_scores
from fnaf.ranks import gathered, my_batches
from fnaf.resume import BatchRows

#: The reconstructions each attacked slice is scored for.
KINDS = ("attack", "control")
#: The scores of :func:`fnaf.metrics.slice_scores`, in its order.
SCORES = ("SSIM", "PSNR", "NMSE")
#: A measurement row's columns in the order they are computed; a frame read back from a cache
#: (JSON with sorted keys) is put back in it, so a cold and a warm run write the same tables.
COLUMNS = ("fname", "slice", "eps", "kind", "relative_norm", "measured_relative_norm", *SCORES,
           *(f"{score} vs clean" for score in SCORES), *(f"clean {score}" for score in SCORES))


def measurement_frame(rows: list[dict], source: str = "measurement rows") -> pd.DataFrame:
    """Measurement rows (fresh, or read back from the cache file ``source``) as a frame in
    :data:`COLUMNS` order; rows with other columns are a ``ValueError`` naming ``source``."""
    frame = pd.DataFrame(rows)
    if len(frame) and set(frame.columns) != set(COLUMNS):
        raise ValueError(f"{source}: columns {sorted(frame.columns)}, not {list(COLUMNS)}; "
                         "delete it to attack again")
    return frame.reindex(columns=list(COLUMNS))


def _rows(result: PgdResult, batch, eps: float, ssim_variant: str) -> list[dict]:
    rows = []
    target = batch.target.cpu().numpy()
    clean = result.clean.detach().cpu().numpy()
    reference = (result.radius / eps).cpu().numpy() if eps > 0 else None
    measured_data = slice_norms(batch.kspace * batch.mask).cpu().numpy()
    for kind, magnitudes, perturbation in (("attack", result.attacked, result.perturbation),
                                           ("control", result.control, result.noise)):
        magnitudes = magnitudes.detach().cpu().numpy()
        norms = slice_norms(perturbation).cpu().numpy()
        measured = slice_norms(perturbation * batch.mask).cpu().numpy()
        for i, fname in enumerate(batch.fname):
            maxval = float(batch.max_value[i])
            row = {"fname": fname, "slice": int(batch.slice_num[i]), "eps": eps, "kind": kind,
                   "relative_norm": float(norms[i] / reference[i]) if eps > 0 else 0.0,
                   "measured_relative_norm": float(measured[i] / measured_data[i]),
                   **slice_scores(target[i], magnitudes[i], maxval, ssim_variant)}
            row.update({f"{name} vs clean": value for name, value in
                        slice_scores(clean[i], magnitudes[i], maxval, ssim_variant).items()})
            row.update({f"clean {name}": value for name, value in
                        slice_scores(target[i], clean[i], maxval, ssim_variant).items()})
            rows.append(row)
    return rows


def measurement_rows(attack_for: Callable[[float], Callable], slices: SliceDataset,
                     transform: SliceTransform, eps: Sequence[float], *,
                     batch_size: int | None = 8, device: torch.device | str | None = None,
                     progress: bool = False, ssim_variant: str = SSIM_VARIANTS[0],
                     checkpoint: str | PathLike | None = None) -> pd.DataFrame:
    """Attack every slice of ``slices`` (masks from ``transform``) at each ``eps`` with
    ``attack_for(eps)`` (a batch -> :class:`~fnaf.attacks.pgd.PgdResult` callable).

    Returns one row per (slice, ``eps``, kind ∈ :data:`KINDS`), in that order:
    ``SSIM``/``PSNR``/``NMSE`` against the ground truth, the same ``vs clean`` (against the
    clean reconstruction, what eq. 2 maximises), ``clean SSIM``/… of the unperturbed
    reconstruction,
    ``relative_norm`` ``||z|| / ||y||`` in the attack's norm convention (equal to ``eps`` for
    both kinds) and ``measured_relative_norm`` ``||M z|| / ||M k||``, what the model sees.
    ``ssim_variant``: fastMRI's SSIM (the default) or Robustness-CS's
    (:func:`fnaf.metrics.slice_scores`).

    ``batch_size`` ``None`` takes the most slices that fit the device's memory at the largest
    ``eps`` (:func:`~fnaf.memory.fitting_batch_size`); a slice's row does not depend on its
    batch. Under ``torchrun`` each process attacks every ``world``-th batch (:mod:`fnaf.ranks`;
    every attack seeds its randomness per slice) and every process returns all rows, in the order
    one process gives. ``checkpoint``: a file stem keeping each finished batch's rows
    (:class:`~fnaf.resume.BatchRows`), so an interrupted call resumes where it stopped; name it
    after every setting the rows depend on.
    """
    check_ssim_variant(ssim_variant)
    device = resolve_device(device)
    if batch_size is None:
        batch_size = fitting_batch_size(attack_for(max(eps)), slices, transform, device)
    batches = validation_batches(slices, batch_size)
    mine = my_batches(batches)
    loader = DataLoader(SeededSlices(slices, transform),
                        batch_sampler=[batch for _, batch in mine], collate_fn=default_collate)
    rows, kept = {}, BatchRows(checkpoint)
    for (position, _), batch in zip(mine, tqdm(loader, desc="attack", disable=not progress,
                                                leave=False)):
        if position in kept:
            rows[position] = kept[position]
            continue
        batch = batch.to(device)
        try:
            found = [row for value in eps for row in
                     _rows(attack_for(value)(batch), batch, value, ssim_variant)]
            order = {(fname, int(number)): i
                     for i, (fname, number) in enumerate(zip(batch.fname, batch.slice_num))}
            # slice by slice (each: every eps, attack then control), whatever the batch size
            rows[position] = sorted(found, key=lambda row: order[row["fname"], row["slice"]])
            kept.save(position, rows[position])
        except torch.OutOfMemoryError as error:
            raise torch.OutOfMemoryError(
                f"out of memory attacking {len(batch.fname)} slices of k-space shape "
                f"{tuple(batch.kspace.shape[1:])} at once on {device}: lower batch_size "
                f"(now {batch_size}): chapters 07-08's batch_size, the CLI's --pgd-batch-size, "
                "PgdConfig.batch_size or TwoStepConfig.batch_size (None: sized from the "
                "device's free memory)") from error
    return measurement_frame(gathered(rows, len(batches)))


def pgd_dataset(model: nn.Module, pipeline, slices: SliceDataset, transform: SliceTransform,
                eps: Sequence[float], *, batch_size: int | None = 8, progress: bool = False,
                ssim_variant: str = SSIM_VARIANTS[0], device: torch.device | str | None = None,
                checkpoint: str | PathLike | None = None, **pgd_options) -> pd.DataFrame:
    """:func:`measurement_rows` of k-space PGD on a trained ``model``; ``pgd_options`` go to
    :class:`~fnaf.attacks.pgd.KspacePGD` (``steps``, ``norm``, ...). ``device``: where the
    batches go; default the model's; ``checkpoint`` as :func:`measurement_rows`'."""
    return measurement_rows(lambda value: KspacePGD(model, pipeline, value, **pgd_options),
                            slices, transform, eps, batch_size=batch_size,
                            device=device if device is not None else module_device(model),
                            progress=progress, ssim_variant=ssim_variant,
                            checkpoint=checkpoint)
